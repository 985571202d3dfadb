import type { Annualisation } from "../../schema/dataset";
import type { Bars } from "../engine/types";

const DAY_MS = 86_400_000;

/**
 * Close-only bars: open, high and low are the close array itself (no copy), volume is zeros.
 * Like every Bars, read-only.
 */
export const barsFromCloses = (time: Float64Array, close: Float64Array, annualisation: Annualisation): Bars => ({
  length: time.length,
  time,
  open: close,
  high: close,
  low: close,
  close,
  volume: new Float64Array(time.length),
  annualisation,
});

/** `YYYY-MM-DD` for a UTC midnight when `dateOnly`, else the full ISO timestamp. */
export const formatBarTime = (time: number, dateOnly: boolean): string => {
  const iso = new Date(time).toISOString();
  return dateOnly ? iso.slice(0, 10) : iso;
};

export const isUtcMidnight = (time: number): boolean => time % DAY_MS === 0;

/**
 * Why a bar's high and low do not bracket its open and close, or null when they do. Such a bar is
 * no trade's: fills at the open or close would lie outside the bar.
 */
export function ohlcRangeProblem(open: number, high: number, low: number, close: number): string | null {
  if (low > Math.min(open, close)) return `low ${low} is above min(open, close) = ${Math.min(open, close)}`;
  if (high < Math.max(open, close)) return `high ${high} is below max(open, close) = ${Math.max(open, close)}`;
  return null;
}
