import { describe, expect, it } from "vitest";
import { checkAgreement, type RunPair } from "../../bench/check";
import { plainSmaCrossover } from "../../bench/plain";
import { sp500Bars } from "../fixtures";
import { simpleReturns, sma } from "../../worker/engine/indicators";
import { MetricsAccumulator, PERFORMANCE_METRICS } from "../../worker/engine/metrics";
import { runBacktest } from "../../worker/engine/run-backtest";
import { createSeriesCache } from "../../worker/engine/series-cache";
import { smaCrossover } from "../../worker/engine/strategies/sma-crossover";

describe("bench correctness check", () => {
  it("passes agreeing pairs and names each metric that differs beyond the tolerance", () => {
    const pairs: RunPair[] = [
      { label: "same", a: { totalReturn: 0.5, sharpe: 1.2 }, b: { totalReturn: 0.5, sharpe: 1.2 } },
      { label: "rounding", a: { totalReturn: 0.5, sharpe: 1.2 }, b: { totalReturn: 0.5 * (1 + 5e-10), sharpe: 1.2 * (1 - 9e-10) } },
      { label: "zeros", a: { totalReturn: 0, sharpe: 0 }, b: { totalReturn: 0, sharpe: -0 } },
    ];
    expect(checkAgreement(pairs, ["totalReturn", "sharpe"], 1e-9)).toEqual([]);

    const bad: RunPair[] = [
      ...pairs,
      { label: "drift", a: { totalReturn: 0.5, sharpe: 1.2 }, b: { totalReturn: 0.5 * (1 + 2e-9), sharpe: 1.2 } },
      { label: "zero vs tiny", a: { totalReturn: 0, sharpe: 1 }, b: { totalReturn: 1e-300, sharpe: 1 } },
      { label: "missing", a: { totalReturn: 0.1 }, b: { totalReturn: 0.1, sharpe: 1 } },
      { label: "nan", a: { totalReturn: NaN, sharpe: 1 }, b: { totalReturn: NaN, sharpe: 1 } },
    ];
    const found = checkAgreement(bad, ["totalReturn", "sharpe"], 1e-9);
    expect(found.map((m) => `${m.label}:${m.metric}`)).toEqual(["drift:totalReturn", "zero vs tiny:totalReturn", "missing:sharpe", "nan:totalReturn"]);
    expect(found[0]!.relError).toBeCloseTo(2e-9, 12);
    expect(found[1]!.relError).toBe(1);
    expect(found[2]!.relError).toBe(Infinity);
  });

  it("stops the plain loop's count at a wipe-out, as the engine does", () => {
    // fast > slow from bar 1: long on bars 2.. ; bar 4 loses everything (a close at 0, as a crafted
    // return: prices cannot do it), the gains after it must not count.
    const ret = Float64Array.from([0, 0, 0.1, 0.2, -1, 0.5, 0.5, 0.5]);
    const plain = plainSmaCrossover(ret, new Float64Array(8).fill(2), new Float64Array(8).fill(1), 2);
    const expected = new MetricsAccumulator();
    for (let t = 2; t < 8; t++) expected.push(ret[t]!, 1);
    const want = expected.finish();
    for (const name of PERFORMANCE_METRICS) expect(plain[name], name).toBeCloseTo(want[name], 12);
    expect(plain).toMatchObject({ totalReturn: -1, maxDrawdown: -1, exposure: 1, trades: 1, winRate: 0, profitFactor: 0 });
    expect(plain.sharpe).toBeLessThan(0);
  });

  it("finds the engine and the bench's plain loop in agreement on sp500 (all metrics, 1e-9)", async () => {
    // What `npm run bench` checks before timing, on a smaller grid, in workerd.
    const bars = sp500Bars();
    const cache = createSeriesCache();
    const ret = simpleReturns(bars.close);
    const pairs: RunPair[] = [];
    for (const fast of [1, 3, 10, 40]) {
      for (const slow of [5, 30, 120, 250]) {
        if (fast >= slow) continue;
        const ctx = { bars, params: { fast, slow }, attempt: 1, cache, options: { feeBps: 0, slippageBps: 0, execution: "close" as const }, detail: false };
        const { metrics } = await runBacktest(smaCrossover, ctx);
        const plain = plainSmaCrossover(ret, sma(bars.close, fast), sma(bars.close, slow), slow);
        pairs.push({ label: `${fast}/${slow}`, a: metrics, b: { ...plain } });
      }
    }
    expect(pairs.length).toBe(13);
    expect(checkAgreement(pairs, PERFORMANCE_METRICS, 1e-9)).toEqual([]);
    // And the check would notice a broken engine.
    const broken = pairs.map((p) => ({ ...p, a: { ...p.a, sharpe: p.a.sharpe! * 1.000001 } }));
    expect(checkAgreement(broken, ["totalReturn", "sharpe"], 1e-9).length).toBe(13);
  });
});
