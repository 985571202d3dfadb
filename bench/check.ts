/** One combination's metrics from two implementations. */
export interface RunPair {
  label: string;
  a: Record<string, number>;
  b: Record<string, number>;
}

export interface Mismatch {
  label: string;
  metric: string;
  a: number | undefined;
  b: number | undefined;
  relError: number;
}

/**
 * The bench's correctness gate: every pair must agree on every named metric to `relTol` relative
 * (|a - b| <= relTol * max(|a|, |b|), so two zeros agree and a zero never matches a nonzero).
 * A metric missing or not finite on either side is a mismatch. Returns the mismatches, [] when all agree.
 */
export function checkAgreement(pairs: readonly RunPair[], metrics: readonly string[], relTol: number): Mismatch[] {
  const out: Mismatch[] = [];
  for (const { label, a, b } of pairs) {
    for (const metric of metrics) {
      const x = a[metric];
      const y = b[metric];
      if (typeof x !== "number" || typeof y !== "number" || !Number.isFinite(x) || !Number.isFinite(y)) {
        out.push({ label, metric, a: x, b: y, relError: Infinity });
        continue;
      }
      const diff = Math.abs(x - y);
      const scale = Math.max(Math.abs(x), Math.abs(y));
      if (diff > relTol * scale) out.push({ label, metric, a: x, b: y, relError: scale === 0 ? Infinity : diff / scale });
    }
  }
  return out;
}

/** `text` of a daily OHLC CSV with a header naming date, open, high, low, close (any order, more columns ignored). */
export function parseDailyCsv(text: string): { time: Float64Array; open: Float64Array; high: Float64Array; low: Float64Array; close: Float64Array; volume: Float64Array; length: number } {
  const lines = text.trim().split(/\r?\n/);
  const header = lines[0]!.split(",").map((h) => h.trim().toLowerCase());
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`csv: no ${name} column`);
    return i;
  };
  const [iDate, iOpen, iHigh, iLow, iClose] = ["date", "open", "high", "low", "close"].map(col) as [number, number, number, number, number];
  const length = lines.length - 1;
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
    const cells = lines[i + 1]!.split(",");
    bars.time[i] = Date.parse(`${cells[iDate]!.trim()}T00:00:00Z`);
    bars.open[i] = Number(cells[iOpen]);
    bars.high[i] = Number(cells[iHigh]);
    bars.low[i] = Number(cells[iLow]);
    bars.close[i] = Number(cells[iClose]);
    if (![bars.time[i], bars.open[i], bars.high[i], bars.low[i], bars.close[i]].every(Number.isFinite)) throw new Error(`csv line ${i + 2}: bad row`);
  }
  return bars;
}
