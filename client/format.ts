import type { ParamValue } from "../schema/job";

/** How the page and the CLI write numbers: fixed decimals, percentages for returns, a dash for what is missing. */

const PERCENT_METRICS = new Set(["totalReturn", "cagr", "maxDrawdown", "winRate", "volatility", "exposure"]);
const INTEGER_METRICS = new Set(["trades"]);

const missing = (value: number | null | undefined): value is null | undefined => value === null || value === undefined || !Number.isFinite(value);

export const fixed = (value: number | null | undefined, digits = 3): string => (missing(value) ? "–" : value.toFixed(digits));

export const percent = (value: number | null | undefined, digits = 1): string => (missing(value) ? "–" : `${(value * 100).toFixed(digits)}%`);

export const integer = (value: number | null | undefined): string => (missing(value) ? "–" : Math.round(value).toLocaleString("en-US"));

/** A metric as a researcher reads it: returns and drawdowns in %, trade counts whole, ratios to 3 decimals. */
export function metric(name: string, value: number | null | undefined): string {
  if (PERCENT_METRICS.has(name)) return percent(value);
  if (INTEGER_METRICS.has(name)) return integer(value);
  return fixed(value);
}

/** The metrics a Top-N shows beside the objective, those the strategy reports (the page's table and the CLI's). */
export const KEY_METRICS: readonly string[] = ["sharpe", "totalReturn", "maxDrawdown", "trades"];

/** A param value: numbers without float noise (0.1 + 0.2 shows 0.3). */
export const paramValue = (value: ParamValue | undefined): string =>
  value === undefined ? "–" : typeof value === "number" ? String(Number(value.toPrecision(12))) : String(value);

/** Seconds as "42 s", "3 min 5 s", "2 h 4 min". */
export function duration(seconds: number | null | undefined): string {
  if (missing(seconds)) return "–";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export const rate = (perSecond: number | null | undefined): string => (missing(perSecond) ? "–" : `${perSecond >= 100 ? perSecond.toFixed(0) : perSecond.toFixed(1)} tasks/s`);

/** A number when the text is one, else the text itself (a param's name; or what the API then names as wrong). */
export function readNumberOr(text: string): number | string {
  const t = text.trim();
  return t !== "" && Number.isFinite(Number(t)) ? Number(t) : t;
}

/** A param value as a person types it: true/false, a number, else the text. */
export function readParamValue(text: string): ParamValue {
  const t = text.trim();
  return t === "true" || t === "false" ? t === "true" : readNumberOr(t);
}
