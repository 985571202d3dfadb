import { describe, expect, it } from "vitest";
import type { BacktestOptions, ParamSet, TradeRecord } from "../../schema";
import { InternalError, ParamInvalid } from "../../lib/errors";
import { sp500Bars, TRADING_DAYS } from "../fixtures";
import { MetricsAccumulator, PERFORMANCE_METRICS, type PerformanceMetrics } from "../../worker/engine/metrics";
import { createSeriesCache } from "../../worker/engine/series-cache";
import { EQUITY_POINTS, pickEvenly, signalBuffer, simulate, zeroSeries, type Signal } from "../../worker/engine/simulate";
import { smaCrossover } from "../../worker/engine/strategies/sma-crossover";
import type { BacktestResult, Bars, RunContext } from "../../worker/engine/types";

const DAY = 86_400_000;
const T0 = Date.UTC(2020, 0, 1);

function barsOf(close: number[], open: number[] = close): Bars {
  const c = Float64Array.from(close);
  return {
    length: close.length,
    time: Float64Array.from(close, (_, i) => T0 + i * DAY),
    open: Float64Array.from(open),
    high: c,
    low: c,
    close: c,
    volume: new Float64Array(close.length),
    annualisation: TRADING_DAYS,
  };
}

const CLOSE: BacktestOptions = { feeBps: 0, slippageBps: 0, execution: "close" };

function ctxOf(bars: Bars, options: Partial<BacktestOptions> = {}, detail?: boolean): RunContext {
  return { bars, params: {}, attempt: 1, cache: createSeriesCache(), options: { ...CLOSE, ...options }, ...(detail === undefined ? {} : { detail }) };
}

/** Simulates wanted positions s_first.. given by hand (s_t for t = first, first+1, ...). */
function run(ctx: RunContext, first: number, wanted: number[], equityPoints?: number): BacktestResult {
  const a = signalBuffer(ctx.bars.length);
  a.fill(NaN);
  wanted.forEach((s, i) => (a[first + i] = s));
  // Long when a > 0 (b is zeros), else `otherwise`: a run is long/flat or long/short, as strategies are.
  const otherwise = wanted.some((s) => s < 0) ? -1 : 0;
  if (wanted.some((s) => s === 0) && otherwise === -1) throw new Error("test helper: a run is long/flat or long/short");
  const signal: Signal = { a, b: zeroSeries(ctx), otherwise, first };
  return simulate(ctx, signal, equityPoints);
}

/** The documented bar returns, written plainly, fed to MetricsAccumulator: the reference for simulate. */
function reference(bars: Bars, options: BacktestOptions, first: number, positions: number[]): { metrics: PerformanceMetrics; trades: TradeRecord[]; equity: number[] } {
  const c = (options.feeBps + options.slippageBps) / 10_000;
  const acc = new MetricsAccumulator();
  const trades: TradeRecord[] = [];
  const equity: number[] = [1];
  let open: { side: 1 | -1; entryTime: number; entryPrice: number; growth: number } | null = null;
  let prev = 0;
  for (let t = first + 1; t < bars.length; t++) {
    const p = positions[t - 1]!;
    const close = bars.close[t]!;
    const prevClose = bars.close[t - 1]!;
    const o = bars.open[t]!;
    const nextOpen = options.execution === "next-open";
    let r: number;
    let closing = 0;
    if (p === prev) r = p * (close / prevClose - 1);
    else {
      const gap = nextOpen ? o / prevClose - 1 : 0;
      const hold = nextOpen ? close / o - 1 : close / prevClose - 1;
      r = prev * gap + p * hold - c * Math.abs(p - prev);
      const fillTime = nextOpen ? bars.time[t]! : bars.time[t - 1]!;
      const fillPrice = nextOpen ? o : prevClose;
      if (prev !== 0) {
        closing = p === 0 ? r : prev * gap - c * Math.abs(prev);
        trades.push({ ...open!, exitTime: fillTime, exitPrice: fillPrice, return: open!.growth * (1 + closing) - 1 } as TradeRecord);
        open = null;
      }
      if (p !== 0) open = { side: p > 0 ? 1 : -1, entryTime: fillTime, entryPrice: fillPrice, growth: 1 };
    }
    acc.push(r, p, closing);
    if (open) open.growth *= 1 + (p === prev ? r : r - closing);
    prev = p;
    equity.push(equity.at(-1)! * (1 + r));
  }
  if (open) trades.push({ ...open, exitTime: null, exitPrice: null, return: open.growth - 1 } as TradeRecord);
  return { metrics: acc.finish(), trades: trades.map(({ growth: _, ...t }: TradeRecord & { growth?: number }) => t), equity };
}

function expectMetricsClose(actual: Record<string, number>, expected: PerformanceMetrics, digits = 13): void {
  for (const name of PERFORMANCE_METRICS) expect(actual[name], name).toBeCloseTo(expected[name], digits);
}

describe("simulate, execution at the close", () => {
  it("charges fees and slippage on each side of a round trip, exactly", () => {
    // close 100, 100, 110, 121, 121, 110; wanted s_0..s_4 = 0, 1, 1, 0, 0, so p_1..p_5 = 0, 1, 1, 0, 0.
    // c = (10 + 15) / 10000 = 0.0025.
    // r_1 = 0; r_2 = 0.1 - c (entry); r_3 = 0.1; r_4 = -c (exit, flat); r_5 = 0.
    const bars = barsOf([100, 100, 110, 121, 121, 110]);
    const ctx = ctxOf(bars, { feeBps: 10, slippageBps: 15 });
    const result = run(ctx, 0, [0, 1, 1, 0, 0]);
    const c = 0.0025;
    const r = [0, 110 / 100 - 1 - c, 121 / 110 - 1, -c, 0];
    const expected = new MetricsAccumulator();
    r.forEach((x, i) => expected.push(x, [0, 1, 1, 0, 0][i]!));
    expectMetricsClose(result.metrics, expected.finish(), 15);
    expect(result.metrics.totalReturn).toBeCloseTo((1.1 - c) * 1.1 * (1 - c) - 1, 15);
    expect(result.metrics.trades).toBe(1);
    expect(result.metrics.exposure).toBe(2 / 5);
    // Entered at the close of bar 1 (100), exited at the close of bar 3 (121); both costs in its return.
    expect(result.trades).toEqual([
      { side: 1, entryTime: T0 + DAY, entryPrice: 100, exitTime: T0 + 3 * DAY, exitPrice: 121, return: expect.closeTo((1.1 - c) * 1.1 * (1 - c) - 1, 15) },
    ]);
    // Without costs the same trade earns 21%.
    const free = run(ctxOf(bars), 0, [0, 1, 1, 0, 0]);
    expect(free.metrics.totalReturn).toBeCloseTo(0.21, 14);
    expect(free.trades![0]!.return).toBeCloseTo(0.21, 14);
  });

  it("charges twice the cost on a flip and splits the flip bar between the trades", () => {
    // close 100, 100, 110, 99, 99; wanted 1, 1, -1, -1 from bar 0 (allowShort-like): p_1..p_4 = 1, 1, -1, -1.
    // c = 0.001: r_1 = 0 - c; r_2 = 0.1; r_3 = -(99/110 - 1) - 2c = 0.1 - 2c; r_4 = 0.
    // Long: entry close 0 (100), exit close 2 (110): (1 - c) * 1.1 * (1 - c) - 1 (its closing leg is -c).
    // Short: entry close 2 (110), still open: (1 + 0.1 - c) * 1 - 1.
    const bars = barsOf([100, 100, 110, 99, 99]);
    const result = run(ctxOf(bars, { feeBps: 10 }), 0, [1, 1, -1, -1]);
    const c = 0.001;
    expect(result.metrics.totalReturn).toBeCloseTo((1 - c) * 1.1 * (1 + (1 - 99 / 110) - 2 * c) - 1, 14);
    expect(result.trades).toEqual([
      { side: 1, entryTime: T0, entryPrice: 100, exitTime: T0 + 2 * DAY, exitPrice: 110, return: expect.closeTo((1 - c) * 1.1 * (1 - c) - 1, 14) },
      { side: -1, entryTime: T0 + 2 * DAY, entryPrice: 110, exitTime: null, exitPrice: null, return: expect.closeTo(1 - 99 / 110 - c, 14) },
    ]);
    expect(result.metrics.trades).toBe(2);
    expect(result.metrics.winRate).toBe(1);
  });

  it("takes no trade when the signal never asks", () => {
    const result = run(ctxOf(barsOf([10, 11, 12, 9])), 0, [0, 0, 0]);
    expect(result.metrics.trades).toBe(0);
    expect(result.metrics.totalReturn).toBe(0);
    expect(result.trades).toEqual([]);
    expect(result.equity!.map(([, e]) => e)).toEqual([1, 1, 1, 1]);
  });
});

describe("simulate, annualisation", () => {
  it("annualises with the bars' spacing: weekly bars use 52 a year", () => {
    const close = [100, 101, 99, 103, 104, 102, 106, 105];
    const daily = run(ctxOf(barsOf(close)), 0, [1, 1, 1, 1, 1, 1, 1]).metrics as PerformanceMetrics;
    const weekly = run(ctxOf({ ...barsOf(close), annualisation: { spacing: "weekly", barsPerYear: 52 } }), 0, [1, 1, 1, 1, 1, 1, 1]).metrics;
    const scale = Math.sqrt(52 / 252);
    expect(weekly.sharpe).toBeCloseTo(daily.sharpe * scale, 12);
    expect(weekly.sortino).toBeCloseTo(daily.sortino * scale, 12);
    expect(weekly.volatility).toBeCloseTo(daily.volatility * scale, 12);
    expect(weekly.cagr).toBeCloseTo((1 + daily.totalReturn) ** (52 / 7) - 1, 12);
    expect(weekly.totalReturn).toBe(daily.totalReturn);
  });
});

describe("simulate, a wiped-out account", () => {
  // Short from bar 0: r_1 = 0, r_2 = 10%, r_3 = -(200/90 - 1) = -122% wipes it out; then the price
  // falls for good, which a short would gain on: those bars must not count.
  const bars = barsOf([100, 100, 90, 200, 150, 120, 100, 80, 70, 60, 50]);
  const wanted = Array.from({ length: 10 }, () => -1);

  it("counts no bar after the wipe-out in any metric, with details on or off", () => {
    const on = run(ctxOf(bars), 0, wanted);
    const off = run(ctxOf(bars, {}, false), 0, wanted);
    const r = [0, 0.1, -1];
    const mean = -0.9 / 3;
    const sd = Math.sqrt(r.reduce((s, x) => s + (x - mean) ** 2, 0) / 2);
    for (const { metrics } of [on, off]) {
      expect(metrics.sharpe).toBeCloseTo((mean / sd) * Math.sqrt(252), 12);
      expect(metrics.sharpe).toBeLessThan(0);
      expect(metrics.sortino).toBeCloseTo((mean / Math.sqrt(1 / 3)) * Math.sqrt(252), 12);
      expect(metrics.volatility).toBeCloseTo(sd * Math.sqrt(252), 12);
      expect(metrics).toMatchObject({ totalReturn: -1, cagr: -1, maxDrawdown: -1, calmar: -1, trades: 1, winRate: 0, profitFactor: 0, exposure: 1 });
    }
    expect(off.metrics).toEqual(on.metrics);
  });

  it("ends the equity curve at 0 on the wipe-out bar and liquidates the short there", () => {
    const result = run(ctxOf(bars), 0, wanted);
    expect(result.equity).toEqual([
      [T0, 1],
      [T0 + DAY, 1],
      [T0 + 2 * DAY, expect.closeTo(1.1, 14)],
      [T0 + 3 * DAY, 0],
    ]);
    expect(result.trades).toEqual([{ side: -1, entryTime: T0, entryPrice: 100, exitTime: T0 + 3 * DAY, exitPrice: 200, return: -1 }]);
  });
});

describe("simulate, execution at the next open", () => {
  // t:      0    1    2    3    4    5
  // open:  100  102  105  118  125  110
  // close: 100  100  110  120  120  100
  const bars = barsOf([100, 100, 110, 120, 120, 100], [100, 102, 105, 118, 125, 110]);

  it("fills entries and exits at the next bar's open", () => {
    // wanted s_0..s_4 = 0, 1, 1, 0, 0: p_2 = 1 is entered at open_2 = 105, p_4 = 0 exits at open_4 = 125.
    // r_1 = 0; r_2 = 110/105 - 1 (open to close); r_3 = 120/110 - 1; r_4 = 125/120 - 1 (close to open); r_5 = 0.
    const result = run(ctxOf(bars, { execution: "next-open" }), 0, [0, 1, 1, 0, 0]);
    const r = [0, 110 / 105 - 1, 120 / 110 - 1, 125 / 120 - 1, 0];
    const expected = new MetricsAccumulator();
    r.forEach((x, i) => expected.push(x, [0, 1, 1, 0, 0][i]!));
    expectMetricsClose(result.metrics, expected.finish(), 14);
    expect(result.metrics.totalReturn).toBeCloseTo(125 / 105 - 1, 14);
    expect(result.trades).toEqual([
      { side: 1, entryTime: T0 + 2 * DAY, entryPrice: 105, exitTime: T0 + 4 * DAY, exitPrice: 125, return: expect.closeTo(125 / 105 - 1, 14) },
    ]);
    // At the close the same signal enters at 100 (close 1) and leaves at 120 (close 3).
    const atClose = run(ctxOf(bars), 0, [0, 1, 1, 0, 0]);
    expect(atClose.metrics.totalReturn).toBeCloseTo(0.2, 14);
    expect(atClose.trades![0]).toMatchObject({ entryTime: T0 + DAY, entryPrice: 100, exitTime: T0 + 3 * DAY, exitPrice: 120 });
  });

  it("holds the old position to the open and the new one from it on a flip, with costs", () => {
    // Long/short: wanted s_0..s_4 = 1, 1, -1, -1, 1, so p_1 = 1 (entered at open_1 = 102), p_3 = -1
    // (flip at open_3 = 118), p_5 = 1 (flip at open_5 = 110). c = 0.002:
    // r_1 = (100/102 - 1) - c; r_2 = 110/100 - 1; r_3 = (118/110 - 1) - (120/118 - 1) - 2c; r_4 = -(120/120 - 1) = 0;
    // r_5 = -(110/120 - 1) + (100/110 - 1) - 2c.
    const c = 0.002;
    const result = run(ctxOf(bars, { execution: "next-open", feeBps: 20 }), 0, [1, 1, -1, -1, 1]);
    const r1 = 100 / 102 - 1 - c;
    const r2 = 110 / 100 - 1;
    const r3 = 118 / 110 - 1 - (120 / 118 - 1) - 2 * c;
    const r5 = -(110 / 120 - 1) + (100 / 110 - 1) - 2 * c;
    const expected = new MetricsAccumulator();
    const closing = [undefined, undefined, 118 / 110 - 1 - c, undefined, -(110 / 120 - 1) - c];
    [r1, r2, r3, 0, r5].forEach((r, i) => expected.push(r, [1, 1, -1, -1, 1][i]!, closing[i]));
    expectMetricsClose(result.metrics, expected.finish(), 14);
    expect(result.metrics.totalReturn).toBeCloseTo((1 + r1) * (1 + r2) * (1 + r3) * (1 + r5) - 1, 14);
    expect(result.metrics.trades).toBe(3);
    expect(result.trades).toEqual([
      { side: 1, entryTime: T0 + DAY, entryPrice: 102, exitTime: T0 + 3 * DAY, exitPrice: 118, return: expect.closeTo((1 + r1) * (1 + r2) * (118 / 110 - c) - 1, 14) },
      { side: -1, entryTime: T0 + 3 * DAY, entryPrice: 118, exitTime: T0 + 5 * DAY, exitPrice: 110, return: expect.closeTo((2 - 120 / 118 - c) * (2 - 110 / 120 - c) - 1, 14) },
      { side: 1, entryTime: T0 + 5 * DAY, entryPrice: 110, exitTime: null, exitPrice: null, return: expect.closeTo(100 / 110 - 1 - c, 14) },
    ]);
    // Without costs a long's return is its fill-to-fill move.
    const free = run(ctxOf(bars, { execution: "next-open" }), 0, [1, 1, -1, -1, 1]);
    expect(free.trades![0]!.return).toBeCloseTo(118 / 102 - 1, 14);
  });

  it("refuses data without positive opens", () => {
    const bad = barsOf([100, 100, 110], [100, 0, 105]);
    expect(() => run(ctxOf(bad, { execution: "next-open" }), 0, [1, 1])).toThrow(ParamInvalid);
    expect(() => run(ctxOf(bad, { execution: "next-open" }), 0, [1, 1])).toThrow(/bar 1 \(2020-01-02\) has open 0/);
    // Fills at the close never read the opens.
    expect(run(ctxOf(bad), 0, [1, 1]).metrics.totalReturn).toBeCloseTo(0.1, 14);
  });

  it("returns close to close while the position holds", () => {
    // Always long from bar 1: entered at open_1, then close to close: 100/102 * 110/100 * ... = close_5 / open_1.
    const result = run(ctxOf(bars, { execution: "next-open" }), 0, [1, 1, 1, 1, 1]);
    expect(result.metrics.totalReturn).toBeCloseTo(100 / 102 - 1, 14);
    expect(result.trades).toEqual([{ side: 1, entryTime: T0 + DAY, entryPrice: 102, exitTime: null, exitPrice: null, return: expect.closeTo(100 / 102 - 1, 14) }]);
  });
});

describe("simulate, equity curve", () => {
  it("picks at most N indices, evenly, first and last included", () => {
    expect(pickEvenly(5, 10)).toEqual([0, 1, 2, 3, 4]);
    expect(pickEvenly(1, 2)).toEqual([0]);
    expect(pickEvenly(10, 4)).toEqual([0, 3, 6, 9]);
    for (const [count, max] of [[1000, 300], [5105, 299], [301, 300], [7, 2]] as const) {
      const picks = pickEvenly(count, max);
      expect(picks.length).toBe(max);
      expect(picks[0]).toBe(0);
      expect(picks.at(-1)).toBe(count - 1);
      for (let k = 1; k < picks.length; k++) expect(picks[k]! > picks[k - 1]!).toBe(true);
    }
    expect(() => pickEvenly(10, 1)).toThrow(InternalError);
  });

  it("starts at 1 the bar before the first counted one and ends at the last bar at 1 + totalReturn", () => {
    const bars = sp500Bars();
    const ctx: RunContext = { bars, params: { fast: 10, slow: 50 }, attempt: 1, cache: createSeriesCache(), options: CLOSE };
    const { metrics, equity } = smaCrossover.run(ctx) as BacktestResult;
    expect(equity!.length).toBe(EQUITY_POINTS);
    // The base point: equity 1 at the close of bar slow - 1 = 49; then the first counted bar, 50.
    expect(equity![0]).toEqual([bars.time[49], 1]);
    expect(equity![1]![0]).toBe(bars.time[50]);
    expect(equity!.at(-1)).toEqual([bars.time[bars.length - 1], 1 + metrics.totalReturn!]);
    for (let k = 1; k < equity!.length; k++) expect(equity![k]![0] > equity![k - 1]![0]).toBe(true);
    // Every point is a real bar's equity, a positive number.
    expect(equity!.every(([, e]) => e > 0)).toBe(true);
  });

  it("keeps every bar of a short run and honours a smaller N", () => {
    const bars = barsOf([100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110]);
    const all = run(ctxOf(bars), 0, Array(10).fill(1));
    expect(all.equity!.map(([t]) => (t - T0) / DAY)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // Long from bar 1 (s_0 = 1): equity at bar t is close_t / close_0.
    expect(all.equity!.map(([, e]) => e)).toEqual([1, ...[101, 102, 103, 104, 105, 106, 107, 108, 109, 110].map((c) => expect.closeTo(c / 100, 14))]);
    const five = run(ctxOf(bars), 0, Array(10).fill(1), 5);
    // The base point, then 4 of the 10 counted bars (1..10): indices 0, 3, 6, 9 of them.
    expect(five.equity!.map(([t]) => (t - T0) / DAY)).toEqual([0, 1, 4, 7, 10]);
  });
});

describe("simulate", () => {
  it("produces no curve or trades with detail off, and the same metrics bit for bit", () => {
    const bars = sp500Bars();
    for (const options of [CLOSE, { ...CLOSE, feeBps: 5, slippageBps: 3 }, { ...CLOSE, execution: "next-open" as const, feeBps: 7 }]) {
      for (const params of [{ fast: 5, slow: 20 }, { fast: 10, slow: 50, allowShort: true }] as ParamSet[]) {
        const base = { bars, params, attempt: 1, cache: createSeriesCache(), options };
        const lean = smaCrossover.run({ ...base, detail: false }) as BacktestResult;
        const full = smaCrossover.run(base) as BacktestResult;
        expect(lean.equity).toBeUndefined();
        expect(lean.trades).toBeUndefined();
        expect(lean.metrics).toEqual(full.metrics);
        expect(full.trades!.length).toBe(full.metrics.trades);
        // The curve ends at exactly 1 + totalReturn: details() repeats the metrics loop's operations.
        expect(full.equity!.at(-1)![1] - 1).toBe(full.metrics.totalReturn);
        // Closed trades are the winRate's.
        const closed = full.trades!.filter((t) => t.exitTime !== null);
        expect(closed.filter((t) => t.return > 0).length / closed.length).toBeCloseTo(full.metrics.winRate!, 15);
      }
    }
  });

  it("agrees with the documented returns fed to MetricsAccumulator, on random signals, fees and both fills", () => {
    // A random walk with gaps between close and open.
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const n = 600;
    const close: number[] = [];
    const open: number[] = [];
    let price = 100;
    for (let i = 0; i < n; i++) {
      open.push(price * (1 + (rand() - 0.5) * 0.02));
      price = open[i]! * (1 + (rand() - 0.5) * 0.04);
      close.push(price);
    }
    const bars = barsOf(close, open);
    let checked = 0;
    for (const execution of ["close", "next-open"] as const) {
      for (const [feeBps, slippageBps] of [[0, 0], [10, 5]]) {
        for (const otherwise of [0, -1] as const) {
          const first = 3 + Math.floor(rand() * 10);
          const wanted: number[] = [];
          let s = 1;
          for (let t = first; t < n; t++) wanted.push((s = rand() < 0.1 ? (s === 1 ? otherwise : 1) : s));
          const ctx = ctxOf(bars, { execution, feeBps, slippageBps });
          const a = signalBuffer(n);
          wanted.forEach((w, i) => (a[first + i] = w));
          const got = simulate(ctx, { a, b: zeroSeries(ctx), otherwise, first });
          const positions: number[] = [];
          positions[first] = 0;
          wanted.forEach((w, i) => (positions[first + i] = w));
          const ref = reference(bars, ctx.options, first, positions);
          expectMetricsClose(got.metrics, ref.metrics, 12);
          expect(got.trades!.length).toBe(ref.trades.length);
          got.trades!.forEach((t, k) => {
            const e = ref.trades[k]!;
            expect({ ...t, return: 0 }).toEqual({ ...e, return: 0 });
            expect(t.return).toBeCloseTo(e.return, 13);
          });
          expect(got.equity!.at(-1)![1]).toBeCloseTo(ref.equity.at(-1)!, 12);
          checked++;
        }
      }
    }
    expect(checked).toBe(8);
  });

  it("rejects a signal that leaves no bar to count", () => {
    const ctx = ctxOf(barsOf([1, 2, 3]));
    const z = zeroSeries(ctx);
    expect(() => simulate(ctx, { a: z, b: z, otherwise: 0, first: 2 })).toThrow(InternalError);
    expect(() => simulate(ctx, { a: z, b: z, otherwise: 0, first: -1 })).toThrow(InternalError);
    expect(() => simulate(ctx, { a: new Float64Array(2), b: z, otherwise: 0, first: 0 })).toThrow(InternalError);
    expect(simulate(ctx, { a: z, b: z, otherwise: 0, first: 1 }).metrics.trades).toBe(0);
  });

  it("shares one signal buffer, grown as needed", () => {
    const small = signalBuffer(10);
    expect(signalBuffer(5)).toBe(small);
    const big = signalBuffer(small.length + 1);
    expect(big.length).toBeGreaterThan(small.length);
    expect(signalBuffer(3)).toBe(big);
  });
});
