import { describe, expect, it } from "vitest";
import { InternalError } from "../../lib/errors";
import { sp500Bars } from "../fixtures";
import { ema, rollingMax, rollingMin, rollingStd, rsi, simpleReturns, sma } from "../../worker/engine/indicators";

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
    } else worst = Math.max(worst, e === 0 ? (a === 0 ? 0 : Infinity) : Math.abs(a - e) / Math.abs(e));
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
    const { close } = sp500Bars();
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

const f64 = (xs: number[]) => Float64Array.from(xs);

function naiveStd(values: ArrayLike<number>, window: number): number[] {
  return Array.from({ length: values.length }, (_, i) => {
    if (i < window - 1) return NaN;
    const xs = Array.from({ length: window }, (_, j) => values[i - window + 1 + j] as number);
    const m = xs.reduce((a, b) => a + b, 0) / window;
    return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / window);
  });
}

describe("ema", () => {
  it("seeds with the mean of the first window, then smooths by 2 / (window + 1)", () => {
    // window 3, alpha 0.5: seed mean(10, 10, 10) = 10, then 11, 12, 11.5, 10.25.
    expect(Array.from(ema(f64([10, 10, 10, 12, 13, 11, 9]), 3))).toEqual([NaN, NaN, 10, 11, 12, 11.5, 10.25]);
    expect(Array.from(ema(f64([1, 2, 3]), 1))).toEqual([1, 2, 3]);
    expect(Array.from(ema(f64([1, 2]), 3))).toEqual([NaN, NaN]);
  });

  it("matches the recurrence on the sp500 closes", () => {
    const { close } = sp500Bars();
    const w = 26;
    const alpha = 2 / 27;
    let e = close.slice(0, w).reduce((a, b) => a + b, 0) / w;
    const out = ema(close, w);
    expect(out[w - 1]).toBeCloseTo(e, 9);
    for (let i = w; i < close.length; i++) e = e + alpha * (close[i]! - e);
    expect(out[close.length - 1]).toBeCloseTo(e, 9);
  });
});

describe("rollingStd", () => {
  it("is the population standard deviation of the window", () => {
    // [10, 10, 7]: mean 9, squared deviations 1, 1, 4: sqrt(2). [10, 7, 9]: mean 26/3.
    const out = rollingStd(f64([10, 10, 10, 7, 9]), 3);
    expect(out[0]).toBeNaN();
    expect(out[1]).toBeNaN();
    expect(out[2]).toBe(0);
    expect(out[3]).toBeCloseTo(Math.SQRT2, 14);
    expect(out[4]).toBeCloseTo(Math.sqrt(((10 - 26 / 3) ** 2 + (7 - 26 / 3) ** 2 + (9 - 26 / 3) ** 2) / 3), 14);
  });

  it("is exactly 0 over constant windows, whatever came before", () => {
    const out = rollingStd(f64([5, 1, 9, 3, 3, 3, 3, 3, 3, 3, 3]), 3);
    for (let i = 5; i < out.length; i++) expect(out[i], `i=${i}`).toBe(0);
  });

  it("matches a naive two-pass computation on the sp500 closes to 1e-11 relative", () => {
    const { close } = sp500Bars();
    // Up to 64 bars exact at every bar; from 65 the sliding update, re-anchored every window.
    for (const w of [2, 5, 20, 64, 65, 200, 1000]) {
      expect(maxRelError(rollingStd(close, w), naiveStd(close, w)), `window ${w}`).toBeLessThan(1e-11);
    }
  });
});

describe("rsi", () => {
  it("is Wilder's RSI, worked by hand", () => {
    // Changes +1, +1, -1, -1, -1, +1, +1. Period 2: avgGain 1, avgLoss 0 -> 100;
    // then (g, l) = (0.5, 0.5) -> 50; (0.25, 0.75) -> 25; (0.125, 0.875) -> 12.5;
    // (0.5625, 0.4375) -> 56.25; (0.78125, 0.21875) -> 78.125.
    const out = rsi(f64([10, 11, 12, 11, 10, 9, 10, 11]), 2);
    expect(out[0]).toBeNaN();
    expect(out[1]).toBeNaN();
    [100, 50, 25, 12.5, 56.25, 78.125].forEach((v, i) => expect(out[i + 2], `t=${i + 2}`).toBeCloseTo(v, 12));
  });

  it("reads 50 with no movement and 100 with gains only", () => {
    expect(Array.from(rsi(f64([5, 5, 5, 5]), 2))).toEqual([NaN, NaN, 50, 50]);
    expect(Array.from(rsi(f64([1, 2, 3, 3]), 2))).toEqual([NaN, NaN, 100, 100]);
    expect(Array.from(rsi(f64([3, 2, 1]), 2))).toEqual([NaN, NaN, 0]);
  });

  it("stays within 0..100 on the sp500 closes", () => {
    const out = rsi(sp500Bars().close, 14);
    for (let i = 14; i < out.length; i++) expect(out[i]! >= 0 && out[i]! <= 100).toBe(true);
  });
});

describe("rollingMax / rollingMin", () => {
  it("take the extreme of the trailing window", () => {
    const v = f64([3, 1, 4, 1, 5, 9, 2, 6]);
    expect(Array.from(rollingMax(v, 3))).toEqual([NaN, NaN, 4, 4, 5, 9, 9, 9]);
    expect(Array.from(rollingMin(v, 3))).toEqual([NaN, NaN, 1, 1, 1, 1, 2, 2]);
    expect(Array.from(rollingMax(v, 1))).toEqual(Array.from(v));
  });

  it("match a naive scan on the sp500 highs and lows", () => {
    const { high, low } = sp500Bars();
    for (const w of [2, 20, 55, 300]) {
      const mx = rollingMax(high, w);
      const mn = rollingMin(low, w);
      for (let i = w - 1; i < high.length; i += 7) {
        expect(mx[i]).toBe(Math.max(...high.subarray(i - w + 1, i + 1)));
        expect(mn[i]).toBe(Math.min(...low.subarray(i - w + 1, i + 1)));
      }
    }
  });

  it("reject a bad window", () => {
    expect(() => rollingMax(f64([1]), 0)).toThrow(InternalError);
    expect(() => rollingStd(f64([1]), 1.5)).toThrow(InternalError);
    expect(() => ema(f64([1]), -1)).toThrow(InternalError);
    expect(() => rsi(f64([1]), 0)).toThrow(InternalError);
  });
});

describe("simpleReturns", () => {
  it("is close_t / close_{t-1} - 1, 0 at the first bar", () => {
    expect(Array.from(simpleReturns(f64([10, 11, 9.9])))).toEqual([0, 11 / 10 - 1, 9.9 / 11 - 1]);
  });
});
