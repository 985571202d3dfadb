/**
 * A small quantile sketch (log-spaced buckets, as in DDSketch): quantiles within ~2% relative error,
 * in a few hundred numbers whatever the count, so a job's stats fit in its row.
 */
export interface Sketch {
  count: number;
  sum: number;
  /** bucket index -> count; bucket i holds values in (GAMMA^(i-1), GAMMA^i]. Zeros go to `zeros`. */
  buckets: Record<string, number>;
  zeros: number;
}

const GAMMA = 1.04;
const LOG_GAMMA = Math.log(GAMMA);
/** Values below this (ms) count as zero: finer timings are noise. */
const MIN_VALUE = 1e-3;

export const emptySketch = (): Sketch => ({ count: 0, sum: 0, buckets: {}, zeros: 0 });

export function addToSketch(sketch: Sketch, value: number): void {
  sketch.count++;
  sketch.sum += value;
  if (!(value > MIN_VALUE)) {
    sketch.zeros++;
    return;
  }
  const key = String(Math.ceil(Math.log(value) / LOG_GAMMA));
  sketch.buckets[key] = (sketch.buckets[key] ?? 0) + 1;
}

/** The q-quantile (0..1), null when empty. A bucket's value is its midpoint in log space. */
export function quantile(sketch: Sketch, q: number): number | null {
  if (sketch.count === 0) return null;
  const rank = q * (sketch.count - 1);
  if (rank < sketch.zeros) return 0;
  let seen = sketch.zeros;
  const keys = Object.keys(sketch.buckets)
    .map(Number)
    .sort((a, b) => a - b);
  for (const k of keys) {
    seen += sketch.buckets[String(k)]!;
    if (seen > rank) return (2 * GAMMA ** k) / (GAMMA + 1);
  }
  return (2 * GAMMA ** keys.at(-1)!) / (GAMMA + 1);
}
