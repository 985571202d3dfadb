import { describe, expect, it } from "vitest";
import { InternalError } from "../../worker/errors";
import { loadBars } from "../../worker/engine/datasets";
import { sma } from "../../worker/engine/indicators";

function naiveSma(values: ArrayLike<number>, window: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (i < window - 1) {
      out.push(NaN);
      continue;
    }
    let sum = 0;
    for (let j = i - window + 1; j <= i; j++) sum += values[j] as number;
    out.push(sum / window);
  }
  return out;
}

function maxRelError(actual: Float64Array, expected: number[]): number {
  let worst = 0;
  expected.forEach((e, i) => {
    const a = actual[i] as number;
    if (Number.isNaN(e)) {
      if (!Number.isNaN(a)) worst = Infinity;
    } else worst = Math.max(worst, Math.abs(a - e) / Math.abs(e));
  });
  return worst;
}

describe("sma", () => {
  it("averages the trailing window, NaN until it is full", () => {
    expect(Array.from(sma(new Float64Array([1, 2, 3, 4, 5]), 3))).toEqual([NaN, NaN, 2, 3, 4]);
    expect(Array.from(sma(new Float64Array([1, 2, 3]), 1))).toEqual([1, 2, 3]);
    expect(Array.from(sma(new Float64Array([1, 2]), 3))).toEqual([NaN, NaN]);
    expect(sma(new Float64Array(0), 5).length).toBe(0);
  });

  it("rejects a window that is not a positive integer", () => {
    expect(() => sma(new Float64Array([1]), 0)).toThrow(InternalError);
    expect(() => sma(new Float64Array([1]), 2.5)).toThrow(InternalError);
  });

  it("matches a naive mean on the sp500 closes to 1e-12 relative", () => {
    const { close } = loadBars("sp500");
    for (const w of [1, 2, 7, 20, 50, 200, 1000, close.length]) {
      expect(maxRelError(sma(close, w), naiveSma(close, w)), `window ${w}`).toBeLessThan(1e-12);
    }
  });

  it("does not drift over a long series of mixed magnitudes", () => {
    // Levels jump between 1e6 and 1e-3: a plain rolling sum keeps the big values' rounding error.
    const n = 200_000;
    const values = new Float64Array(n);
    let seed = 42;
    for (let i = 0; i < n; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      values[i] = (Math.floor(i / 5000) % 2 === 0 ? 1e6 : 1e-3) * (1 + seed / 2 ** 31);
    }
    const actual = sma(values, 10);
    const expected = naiveSma(values, 10);
    expect(maxRelError(actual, expected)).toBeLessThan(1e-12);
  });
});
