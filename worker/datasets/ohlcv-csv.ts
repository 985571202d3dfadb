import { UpstreamError } from "../../lib/errors";
import type { Bars } from "../engine/types";
import { ohlcRangeProblem } from "./bars";
import { annualisationOf } from "./spacing";

const REQUIRED = ["date", "open", "high", "low", "close"] as const;
const KNOWN = new Set<string>([...REQUIRED, "adjclose", "volume"]);
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * Parses daily OHLCV CSV with header `date,open,high,low,close[,adjclose][,volume]` (names
 * case-insensitive, any order) into columnar arrays. Meant for built-in data, so anything
 * unexpected is an UpstreamError: the data source is broken, not the caller's params.
 * `adjclose` is accepted but not kept; a missing `volume` column reads as zeros.
 */
export function parseOhlcvCsv(text: string): Bars {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  const header = (lines[0] ?? "").split(",").map((h) => h.trim().toLowerCase());
  const col = new Map<string, number>();
  for (const [i, name] of header.entries()) {
    if (!KNOWN.has(name)) throw new UpstreamError(`csv: unknown column "${name}"`);
    if (col.has(name)) throw new UpstreamError(`csv: duplicate column "${name}"`);
    col.set(name, i);
  }
  for (const name of REQUIRED) if (!col.has(name)) throw new UpstreamError(`csv: missing column "${name}"`);
  const at = (name: string): number => col.get(name) ?? -1;
  const iDate = at("date");
  const iOpen = at("open");
  const iHigh = at("high");
  const iLow = at("low");
  const iClose = at("close");
  const iVolume = at("volume");

  const length = lines.length - 1;
  if (length < 1) throw new UpstreamError("csv: no rows");
  const bars = {
    length,
    time: new Float64Array(length),
    open: new Float64Array(length),
    high: new Float64Array(length),
    low: new Float64Array(length),
    close: new Float64Array(length),
    volume: new Float64Array(length),
  };
  for (let i = 0; i < length; i++) {
    const lineNo = i + 2;
    const cells = (lines[i + 1] as string).split(",");
    if (cells.length !== header.length) {
      throw new UpstreamError(`csv line ${lineNo}: ${cells.length} cells, expected ${header.length}`);
    }
    const num = (c: number, name: string): number => {
      const s = (cells[c] as string).trim();
      const v = Number(s);
      // Number("") is 0, so an empty cell must be caught explicitly.
      if (s === "" || !Number.isFinite(v)) throw new UpstreamError(`csv line ${lineNo}: bad ${name} "${s}"`);
      return v;
    };
    const time = parseDate(cells[iDate] as string, lineNo);
    if (i > 0 && time <= (bars.time[i - 1] as number)) {
      throw new UpstreamError(`csv line ${lineNo}: dates must be strictly increasing`);
    }
    bars.time[i] = time;
    bars.open[i] = num(iOpen, "open");
    bars.high[i] = num(iHigh, "high");
    bars.low[i] = num(iLow, "low");
    const close = num(iClose, "close");
    // Returns divide by the previous close.
    if (close <= 0) throw new UpstreamError(`csv line ${lineNo}: close must be positive`);
    bars.close[i] = close;
    const range = ohlcRangeProblem(bars.open[i]!, bars.high[i]!, bars.low[i]!, close);
    if (range) throw new UpstreamError(`csv line ${lineNo}: ${range}`);
    if (iVolume >= 0) bars.volume[i] = num(iVolume, "volume");
  }
  return { ...bars, annualisation: annualisationOf(bars.time, (problem) => new UpstreamError(`csv: ${problem}`)) };
}

function parseDate(cell: string, lineNo: number): number {
  const m = DATE.exec(cell.trim());
  const [y, mo, d] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
  const time = Date.UTC(y, mo - 1, d);
  const back = new Date(time);
  // Date.UTC rolls 2021-02-30 over to March; the round trip rejects it.
  if (!m || back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) {
    throw new UpstreamError(`csv line ${lineNo}: bad date "${cell}"`);
  }
  return time;
}
