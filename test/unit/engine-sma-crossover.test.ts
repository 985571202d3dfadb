import { describe, expect, it } from "vitest";
import type { ParamSet } from "../../schema";
import { ParamInvalid } from "../../lib/errors";
import { sp500Bars, TRADING_DAYS } from "../fixtures";
import { MetricsAccumulator, PROFIT_FACTOR_NO_LOSS } from "../../worker/engine/metrics";
import { runBacktest } from "../../worker/engine/run-backtest";
import { createSeriesCache } from "../../worker/engine/series-cache";
import { smaCrossover } from "../../worker/engine/strategies/sma-crossover";
import type { Bars, RunContext, SeriesCache } from "../../worker/engine/types";

function barsFromCloses(closes: number[]): Bars {
  const close = Float64Array.from(closes);
  return {
    length: closes.length,
    time: Float64Array.from(closes, (_, i) => Date.UTC(2020, 0, 1 + i)),
    open: close,
    high: close,
    low: close,
    close,
    volume: new Float64Array(closes.length),
    annualisation: TRADING_DAYS,
  };
}

const ctxOf = (bars: Bars, params: ParamSet, cache: SeriesCache = createSeriesCache()): RunContext => ({
  bars,
  params,
  options: { feeBps: 0, slippageBps: 0, execution: "close" },
  attempt: 1,
  cache,
});

describe("sma-crossover", () => {
  it("trades a crafted series exactly as worked out by hand", async () => {
    // fast = 1 (the close itself), slow = 3.
    // t:       0   1   2      3       4       5   6      7      8      9
    // close:  10  10  10     12      13      11   9      9     10     12
    // sma3:    -   -  10  10.67   11.67      12  11   9.67   9.33  10.33
    // signal:          0      1       1       0   0      0      1      1   (close > sma3)
    // held p_t = signal_{t-1}, counted from t = 3:
    //                  p3=0   p4=1    p5=1   p6=0  p7=0  p8=0   p9=1
    // r_t:              0   13/12-1  11/13-1   0     0     0    12/10-1
    const bars = barsFromCloses([10, 10, 10, 12, 13, 11, 9, 9, 10, 12]);
    const expected = new MetricsAccumulator();
    const returns = [0, 13 / 12 - 1, 11 / 13 - 1, 0, 0, 0, 12 / 10 - 1];
    const positions = [0, 1, 1, 0, 0, 0, 1];
    returns.forEach((r, i) => expected.push(r, positions[i] as number));

    const { metrics } = await runBacktest(smaCrossover, ctxOf(bars, { fast: 1, slow: 3 }));
    for (const [name, value] of Object.entries(expected.finish())) expect(metrics[name], name).toBeCloseTo(value, 14);
    // 13/12 * 11/13 * 12/10 = 1.1; peak 13/12 then 11/12: drawdown 11/13 - 1.
    expect(metrics.totalReturn).toBeCloseTo(0.1, 14);
    expect(metrics.maxDrawdown).toBeCloseTo(-2 / 13, 14);
    expect(metrics.trades).toBe(2);
    expect(metrics.exposure).toBe(3 / 7);
    // The one closed trade (t4..t5) returned 11/12 - 1 < 0; the second is still open.
    expect(metrics.winRate).toBe(0);
    expect(metrics.profitFactor).toBe(0);
  });

  it("counts a trade closed by a cross-down as a win", async () => {
    // fast = 1, slow = 2.
    // t:      0   1     2     3     4     5     6
    // close: 10  10    11    12    13    12    11
    // sma2:   -  10  10.5  11.5  12.5  12.5  11.5
    // signal:     0     1     1     1     0     0
    // held from t = 2: p2 = 0, p3..p5 = 1, p6 = 0, so one trade, closed at t6:
    // 12/11 * 13/12 * 12/13 - 1 = 1/11 > 0.
    const bars = barsFromCloses([10, 10, 11, 12, 13, 12, 11]);
    const { metrics } = await runBacktest(smaCrossover, ctxOf(bars, { fast: 1, slow: 2 }));
    expect(metrics.trades).toBe(1);
    expect(metrics.winRate).toBe(1);
    expect(metrics.profitFactor).toBe(PROFIT_FACTOR_NO_LOSS);
    expect(metrics.totalReturn).toBeCloseTo(1 / 11, 14);
    expect(metrics.exposure).toBe(3 / 5);
  });

  it.each([
    [{ fast: 20, slow: 20 }, /less than slow/],
    [{ fast: 30, slow: 20 }, /less than slow/],
    [{ fast: 0, slow: 20 }, /fast/],
    [{ fast: 2.5, slow: 20 }, /fast/],
    [{ fast: "5", slow: 20 }, /fast/],
    [{ fast: 5, slow: 1001 }, /slow/],
    [{ fast: 5 }, /slow/],
  ] as [ParamSet, RegExp][])("rejects %o with ParamInvalid", async (params, message) => {
    const run = runBacktest(smaCrossover, ctxOf(sp500Bars(), params));
    await expect(run).rejects.toThrow(ParamInvalid);
    await expect(run).rejects.toThrow(message);
  });

  it("rejects a slow window the data cannot fill", async () => {
    const bars = barsFromCloses([1, 2, 3, 4, 5]);
    await expect(runBacktest(smaCrossover, ctxOf(bars, { fast: 2, slow: 5 }))).rejects.toThrow(ParamInvalid);
    // slow = 4 leaves one counted bar.
    await expect(runBacktest(smaCrossover, ctxOf(bars, { fast: 2, slow: 4 }))).resolves.toBeDefined();
  });

  it("computes each window once across a grid through the cache", async () => {
    const inner = createSeriesCache();
    const computed: string[] = [];
    const cache: SeriesCache = { get: (key, compute) => inner.get(key, () => (computed.push(key), compute())) };
    const bars = sp500Bars();
    for (const fast of [5, 10, 20]) {
      for (const slow of [20, 50]) {
        if (fast < slow) await runBacktest(smaCrossover, ctxOf(bars, { fast, slow }, cache));
      }
    }
    expect(computed.sort()).toEqual(["ret:close", "sma:close:10", "sma:close:20", "sma:close:5", "sma:close:50", "zero"]);
  });

  it("matches an independent reference on sp500 for a small grid to 1e-9 relative", async () => {
    const bars = sp500Bars();
    const closes = Array.from(bars.close);
    const cache = createSeriesCache();
    let checked = 0;
    for (const fast of [1, 5, 10, 20, 50]) {
      for (const slow of [2, 20, 50, 100, 200]) {
        if (fast >= slow) continue;
        const { metrics } = await runBacktest(smaCrossover, ctxOf(bars, { fast, slow }, cache));
        const ref = referenceBacktest(closes, fast, slow);
        for (const [name, value] of Object.entries(ref)) {
          const got = metrics[name] as number;
          expect(Math.abs(got - value), `${name} fast=${fast} slow=${slow}: ${got} vs ${value}`).toBeLessThanOrEqual(
            1e-9 * Math.abs(value) + 1e-15,
          );
        }
        checked++;
      }
    }
    expect(checked).toBe(18);
  });
});

/** The strategy and metrics written the plain way: arrays, nested loops, two passes. */
function referenceBacktest(closes: number[], fast: number, slow: number): Record<string, number> {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const smaAt = (w: number, t: number) => mean(closes.slice(t - w + 1, t + 1));
  const positions: number[] = [];
  const returns: number[] = [];
  for (let t = slow; t < closes.length; t++) {
    const p = smaAt(fast, t - 1) > smaAt(slow, t - 1) ? 1 : 0;
    positions.push(p);
    returns.push(p * (closes[t]! / closes[t - 1]! - 1));
  }
  const n = returns.length;
  const m = mean(returns);
  const sd = Math.sqrt(returns.reduce((a, r) => a + (r - m) ** 2, 0) / (n - 1));
  const downside = Math.sqrt(returns.reduce((a, r) => a + Math.min(r, 0) ** 2, 0) / n);
  let equity = 1;
  let peak = 1;
  let maxDrawdown = 0;
  for (const r of returns) {
    equity *= 1 + r;
    peak = Math.max(peak, equity);
    maxDrawdown = Math.min(maxDrawdown, equity / peak - 1);
  }
  // Long/flat: a trade is a run of held bars; it is closed if a flat bar follows.
  const closedTrades: number[] = [];
  let trades = 0;
  for (let i = 0; i < n; i++) {
    if (positions[i] === 0 || (i > 0 && positions[i - 1] === 1)) continue;
    trades++;
    let growth = 1;
    let j = i;
    for (; j < n && positions[j] === 1; j++) growth *= 1 + returns[j]!;
    if (j < n) closedTrades.push(growth - 1);
  }
  const profit = closedTrades.filter((x) => x > 0).reduce((a, b) => a + b, 0);
  const loss = -closedTrades.filter((x) => x < 0).reduce((a, b) => a + b, 0);
  const cagr = equity ** (252 / n) - 1;
  return {
    totalReturn: equity - 1,
    cagr,
    volatility: sd * Math.sqrt(252),
    sharpe: sd === 0 ? 0 : (m / sd) * Math.sqrt(252),
    sortino: downside === 0 ? 0 : (m / downside) * Math.sqrt(252),
    maxDrawdown,
    calmar: maxDrawdown === 0 ? 0 : cagr / -maxDrawdown,
    trades,
    winRate: closedTrades.length === 0 ? 0 : closedTrades.filter((x) => x > 0).length / closedTrades.length,
    profitFactor: loss === 0 ? (profit > 0 ? 999 : 0) : profit / loss,
    exposure: positions.filter((p) => p !== 0).length / n,
  };
}
