import { describe, expect, it } from "vitest";
import { InternalError } from "../../lib/errors";
import { MetricsAccumulator, PERFORMANCE_METRICS, PROFIT_FACTOR_NO_LOSS, type PerformanceMetrics } from "../../worker/engine/metrics";

const SQRT252 = Math.sqrt(252);

function metricsOf(returns: number[], positions: number[], closing: (number | undefined)[] = [], shift?: number): PerformanceMetrics {
  const acc = new MetricsAccumulator(shift);
  returns.forEach((r, i) => acc.push(r, positions[i] as number, closing[i]));
  return acc.finish();
}

const ZERO: PerformanceMetrics = {
  totalReturn: 0,
  cagr: 0,
  volatility: 0,
  sharpe: 0,
  sortino: 0,
  maxDrawdown: 0,
  calmar: 0,
  trades: 0,
  winRate: 0,
  profitFactor: 0,
  exposure: 0,
};

describe("MetricsAccumulator", () => {
  it("returns exactly the declared metrics", () => {
    expect(Object.keys(metricsOf([0.01], [1])).sort()).toEqual([...PERFORMANCE_METRICS].sort());
  });

  it("is all zeros when no trade is taken", () => {
    expect(metricsOf([0, 0, 0, 0], [0, 0, 0, 0])).toEqual(ZERO);
  });

  it("is all zeros but trades and exposure when held through flat prices", () => {
    // One entry, never closed: the open trade counts as a trade but not for winRate/profitFactor.
    expect(metricsOf([0, 0, 0], [1, 1, 1])).toEqual({ ...ZERO, trades: 1, exposure: 1 });
  });

  it("matches hand-computed values on known returns", () => {
    // r = 0.01, -0.02, 0.03, 0 (n = 4), always long.
    // mean = 0.02 / 4 = 0.005; deviations 0.005, -0.025, 0.025, -0.005;
    // squares 0.000025 + 0.000625 + 0.000625 + 0.000025 = 0.0013; sample var = 0.0013 / 3; sd = 0.02081666...
    // downsideDev = sqrt(0.02^2 / 4) = 0.01.
    // equity 1.01, 0.9898, 1.019494, 1.019494: totalReturn 0.019494; peak 1.01, trough 0.9898 -> drawdown -0.02.
    const m = metricsOf([0.01, -0.02, 0.03, 0], [1, 1, 1, 1]);
    const sd = Math.sqrt(0.0013 / 3);
    expect(sd).toBeCloseTo(0.02081666, 8);
    expect(m.totalReturn).toBeCloseTo(0.019494, 14);
    expect(m.cagr).toBeCloseTo(1.019494 ** 63 - 1, 12);
    expect(m.volatility).toBeCloseTo(sd * SQRT252, 14);
    expect(m.sharpe).toBeCloseTo((0.005 / sd) * SQRT252, 12);
    expect(m.sharpe).toBeCloseTo(3.812933, 6);
    expect(m.sortino).toBeCloseTo(0.5 * SQRT252, 12);
    expect(m.maxDrawdown).toBeCloseTo(-0.02, 14);
    expect(m.calmar).toBeCloseTo((1.019494 ** 63 - 1) / 0.02, 10);
    expect(m.trades).toBe(1);
    expect(m.winRate).toBe(0);
    expect(m.profitFactor).toBe(0);
    expect(m.exposure).toBe(1);
  });

  it("scores a single closed winning trade", () => {
    // Trade over bars 2-3: 1.1 * 0.95 - 1 = 0.045 > 0; no loss, so profitFactor is the cap.
    const m = metricsOf([0, 0.1, -0.05, 0], [0, 1, 1, 0]);
    expect(m.trades).toBe(1);
    expect(m.winRate).toBe(1);
    expect(m.profitFactor).toBe(PROFIT_FACTOR_NO_LOSS);
    expect(m.exposure).toBe(0.5);
    expect(m.totalReturn).toBeCloseTo(0.045, 14);
    expect(m.maxDrawdown).toBeCloseTo(-0.05, 14);
  });

  it("splits trades on exits and sign flips, not on size changes", () => {
    // A: long 2 bars (size 1 then 2): 1.1 * 0.95 - 1 = +0.045
    // B: long 1 bar: -0.1
    // C: short 2 bars (r already signed): 1.02 * 1.01 - 1 = +0.0302, closed by the flip to long
    // D: long, still open at the end: not a closed trade
    const r = [0.1, -0.05, 0, -0.1, 0, 0.02, 0.01, 0.03];
    const p = [1, 2, 0, 1, 0, -1, -1, 1];
    const m = metricsOf(r, p);
    expect(m.trades).toBe(4);
    expect(m.winRate).toBeCloseTo(2 / 3, 15);
    expect(m.profitFactor).toBeCloseTo((0.045 + 0.0302) / 0.1, 12);
    expect(m.exposure).toBe(6 / 8);
  });

  it("handles a single bar", () => {
    const m = metricsOf([-0.01], [1]);
    expect(m.volatility).toBe(0);
    expect(m.sharpe).toBe(0);
    // mean -0.01 / downsideDev 0.01
    expect(m.sortino).toBeCloseTo(-SQRT252, 12);
    expect(m.cagr).toBeCloseTo(0.99 ** 252 - 1, 12);
    expect(m.maxDrawdown).toBeCloseTo(-0.01, 15);
    expect(m.calmar).toBeCloseTo((0.99 ** 252 - 1) / 0.01, 10);
  });

  it("keeps cagr finite once equity is wiped out", () => {
    const m = metricsOf([0.5, -1.2, 0.1], [1, 1, 1]);
    expect(m.cagr).toBe(-1);
    expect(Object.values(m).every(Number.isFinite)).toBe(true);
  });

  it("takes the worst drawdown over several peaks", () => {
    // equity 1.1, 0.88, 1.144, 1.0296, 0.97812, 1.46718: peak 1.1 -> 0.88 is -20%; peak 1.144 -> 0.97812 is -14.5%.
    const m = metricsOf([0.1, -0.2, 0.3, -0.1, -0.05, 0.5], [1, 1, 1, 1, 1, 1]);
    expect(m.maxDrawdown).toBeCloseTo(-0.2, 14);
    expect(m.totalReturn).toBeCloseTo(0.46718, 14);
    // The drawdown of the last peak counts too, though no new peak follows it.
    expect(metricsOf([0.1, 0.1, -0.3, 0.05], [1, 1, 1, 1]).maxDrawdown).toBeCloseTo(-0.3, 14);
  });

  it("scores a price gap like any other bar", () => {
    // A 50% gap up then a 40% gap down: equity 1.5 then 0.9.
    const m = metricsOf([0, 0.5, -0.4, 0], [1, 1, 1, 0]);
    expect(m.totalReturn).toBeCloseTo(-0.1, 14);
    expect(m.maxDrawdown).toBeCloseTo(-0.4, 14);
    expect(m.winRate).toBe(0);
    expect(m.trades).toBe(1);
    // mean 0.025; deviations -0.025, 0.475, -0.425, -0.025: sum of squares 0.4075.
    expect(m.volatility).toBeCloseTo(Math.sqrt(0.4075 / 3) * SQRT252, 13);
    expect(m.sortino).toBeCloseTo((0.025 / Math.sqrt(0.16 / 4)) * SQRT252, 13);
  });

  it("gives constant returns zero volatility, exactly", () => {
    const m = metricsOf([0.01, 0.01, 0.01, 0.01], [1, 1, 1, 1]);
    expect(m.volatility).toBe(0);
    expect(m.sharpe).toBe(0);
    expect(m.totalReturn).toBeCloseTo(1.01 ** 4 - 1, 15);
  });

  it("gives the same metrics whatever the variance shift, to rounding", () => {
    const r = [0.013, -0.021, 0.004, 0.0301, -0.0077, 0.002, -0.011];
    const p = [1, 1, 1, 1, 1, 1, 1];
    const a = metricsOf(r, p);
    for (const shift of [0, 0.5, -0.02]) {
      const b = metricsOf(r, p, [], shift);
      for (const name of PERFORMANCE_METRICS) expect(b[name], `${name} shift ${shift}`).toBeCloseTo(a[name], 12);
    }
  });

  it("charges the bar that exits to flat to the closed trade", () => {
    // Entry bar 1 (+10% less a 1% cost), held bar 2 (+10%), exit bar 3: only the 1% exit cost.
    // Trade: 1.09 * 1.1 * 0.99 - 1 = 0.18701.
    const m = metricsOf([0, 0.09, 0.1, -0.01, 0], [0, 1, 1, 0, 0]);
    expect(m.trades).toBe(1);
    expect(m.winRate).toBe(1);
    expect(m.profitFactor).toBe(PROFIT_FACTOR_NO_LOSS);
    // A losing trade whose loss is only its exit cost.
    const loss = metricsOf([0, 0, -0.01, 0, 0.05, 0], [0, 1, 0, 1, 1, 0]);
    expect(loss.winRate).toBeCloseTo(1 / 2, 15);
    expect(loss.profitFactor).toBeCloseTo(0.05 / 0.01, 12);
  });

  it("splits a flip bar between the trade it ends and the one it starts", () => {
    // Bar 2 flips long -> short with r = 0.03, of which the closing leg -0.02 is the long's:
    // long: 1.1 * 0.98 - 1 = 0.078 (win); short: bar 2's rest 0.05, then bar 3's 0.1, closed flat on bar 4
    // (r 0): 1.05 * 1.1 - 1 = 0.155 (win).
    const split = metricsOf([0, 0.1, 0.03, 0.1, 0], [0, 1, -1, -1, 0], [undefined, undefined, -0.02]);
    expect(split.trades).toBe(2);
    expect(split.winRate).toBe(1);
    // Without a closing leg the whole flip bar goes to the new trade: long 0.1, short 1.03 * 1.1 - 1.
    const whole = metricsOf([0, 0.1, -0.13, 0.1, 0], [0, 1, -1, -1, 0]);
    expect(whole.winRate).toBeCloseTo(1 / 2, 15);
    expect(whole.profitFactor).toBeCloseTo(0.1 / (1 - 0.87 * 1.1), 12);
  });

  it("can finish more than once (finish does not change the totals)", () => {
    const acc = new MetricsAccumulator();
    [0.01, -0.02, 0.03].forEach((r) => acc.push(r, 1));
    expect(acc.finish()).toEqual(acc.finish());
  });

  it("refuses to finish without bars", () => {
    expect(() => new MetricsAccumulator().finish()).toThrow(InternalError);
  });
});

describe("a wiped-out account", () => {
  it("stays at zero equity: a loss past 100% is not undone by a later one", () => {
    const acc = new MetricsAccumulator();
    // Short through two quadruplings: -300% then -300%; without the floor equity would read 1, -2, 4.
    acc.push(-3, -1);
    acc.push(-3, -1);
    const m = acc.finish();
    expect(m.totalReturn).toBe(-1);
    expect(m.maxDrawdown).toBe(-1);
    expect(m.cagr).toBe(-1);
  });

  it("counts no bar after the wipe-out and liquidates the open trade at a total loss", () => {
    const acc = new MetricsAccumulator();
    // A winning long, then a short through a doubling (-120% caps at -100%), then gains that must not count.
    [0.1, 0.1, 0, -1.2, 0.3, 0.3, 0.3].forEach((r, i) => acc.push(r, [1, 1, 0, -1, -1, -1, -1][i]!));
    const m = acc.finish();
    const r = [0.1, 0.1, 0, -1];
    const mean = (0.2 - 1) / 4;
    const sd = Math.sqrt(r.reduce((s, x) => s + (x - mean) ** 2, 0) / 3);
    expect(m.sharpe).toBeCloseTo((mean / sd) * SQRT252, 12);
    expect(m.sharpe).toBeLessThan(0);
    expect(m.volatility).toBeCloseTo(sd * SQRT252, 12);
    expect(m.sortino).toBeCloseTo((mean / Math.sqrt(1 / 4)) * SQRT252, 12);
    expect(m.exposure).toBe(3 / 4);
    expect(m.trades).toBe(2);
    // The long closed at +21%; the short, liquidated, lost everything.
    expect(m.winRate).toBe(1 / 2);
    expect(m.profitFactor).toBeCloseTo(0.21 / 1, 14);
    expect([m.totalReturn, m.cagr, m.maxDrawdown, m.calmar]).toEqual([-1, -1, -1, -1]);
  });
});
