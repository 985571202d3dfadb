import { InternalError } from "../errors";

/**
 * Simple moving average: out[i] is the mean of values[i-window+1..i], NaN for i < window-1.
 * O(n) rolling sum with Neumaier compensation, so the error stays at a few ulps however long
 * the series instead of drifting with every add/subtract pair. Expects finite values.
 */
export function sma(values: Float64Array, window: number): Float64Array {
  // Strategies validate windows against their params, so a bad one here is a bug.
  if (!Number.isInteger(window) || window < 1) throw new InternalError(`sma: invalid window ${window}`);
  const n = values.length;
  const out = new Float64Array(n);
  let sum = 0;
  let comp = 0;
  for (let i = 0; i < n; i++) {
    const x = values[i] as number;
    let t = sum + x;
    comp += Math.abs(sum) >= Math.abs(x) ? sum - t + x : x - t + sum;
    sum = t;
    if (i >= window) {
      const y = -(values[i - window] as number);
      t = sum + y;
      comp += Math.abs(sum) >= Math.abs(y) ? sum - t + y : y - t + sum;
      sum = t;
    }
    out[i] = i >= window - 1 ? (sum + comp) / window : NaN;
  }
  return out;
}
