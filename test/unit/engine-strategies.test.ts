import { describe, expect, it } from "vitest";
import type { ParamSet, TradeRecord } from "../../schema";
import { createAxis } from "../../lib/grid";
import { ParamInvalid } from "../../lib/errors";
import { sp500Bars, TRADING_DAYS } from "../fixtures";
import { MetricsAccumulator, PERFORMANCE_METRICS } from "../../worker/engine/metrics";
import { runBacktest } from "../../worker/engine/run-backtest";
import { createSeriesCache } from "../../worker/engine/series-cache";
import { STRATEGIES } from "../../worker/engine/strategies";
import { bollingerReversion } from "../../worker/engine/strategies/bollinger-reversion";
import { donchianBreakout } from "../../worker/engine/strategies/donchian-breakout";
import { emaCrossover } from "../../worker/engine/strategies/ema-crossover";
import { macd } from "../../worker/engine/strategies/macd";
import { rsiReversion } from "../../worker/engine/strategies/rsi-reversion";
import { smaCrossover } from "../../worker/engine/strategies/sma-crossover";
import type { Bars, RunContext, SeriesCache, Strategy } from "../../worker/engine/types";

const DAY = 86_400_000;
const T0 = Date.UTC(2020, 0, 1);

function barsOf(close: number[], spread = 0, times?: number[]): Bars {
  const c = Float64Array.from(close);
  return {
    length: close.length,
    time: Float64Array.from(times ?? close.map((_, i) => T0 + i * DAY)),
    open: c,
    high: c.map((x) => x + spread),
    low: c.map((x) => x - spread),
    close: c,
    volume: new Float64Array(close.length),
    annualisation: TRADING_DAYS,
  };
}

const ctxOf = (bars: Bars, params: ParamSet, cache: SeriesCache = createSeriesCache()): RunContext => ({
  bars,
  params,
  attempt: 1,
  cache,
  options: { feeBps: 0, slippageBps: 0, execution: "close" },
});

/**
 * Runs `strategy` and checks it against signals worked out by hand: `signals` are s_first ..
 * s_{n-2} (the last bar's signal moves nothing), so the positions are p_t = s_{t-1} for t = first+1
 * .. n-1. Expected metrics come from MetricsAccumulator fed r_t = p_t * (close_t / close_{t-1} - 1),
 * expected trades from the positions (fills at the close of the bar before a position changes).
 */
async function expectSignals(strategy: Strategy, bars: Bars, params: ParamSet, first: number, signals: number[]): Promise<void> {
  expect(signals.length, "signals s_first .. s_{n-2}").toBe(bars.length - 1 - first);
  const acc = new MetricsAccumulator();
  const trades: TradeRecord[] = [];
  let prev = 0;
  let growth = 1;
  signals.forEach((p, i) => {
    const t = first + 1 + i;
    const r = p * (bars.close[t]! / bars.close[t - 1]! - 1);
    acc.push(r, p);
    if (p !== prev) {
      if (prev !== 0) Object.assign(trades.at(-1)!, { exitTime: bars.time[t - 1], exitPrice: bars.close[t - 1], return: growth - 1 });
      if (p !== 0) {
        trades.push({ side: p > 0 ? 1 : -1, entryTime: bars.time[t - 1]!, entryPrice: bars.close[t - 1]!, exitTime: null, exitPrice: null, return: 0 });
        growth = 1;
      }
    }
    growth *= 1 + r;
    prev = p;
  });
  if (prev !== 0) trades.at(-1)!.return = growth - 1;

  const result = await runBacktest(strategy, ctxOf(bars, params));
  const expected = acc.finish();
  for (const name of PERFORMANCE_METRICS) expect(result.metrics[name], name).toBeCloseTo(expected[name], 13);
  expect(result.trades!.map((t) => ({ ...t, return: 0 }))).toEqual(trades.map((t) => ({ ...t, return: 0 })));
  result.trades!.forEach((t, k) => expect(t.return, `trade ${k}`).toBeCloseTo(trades[k]!.return, 13));
}

async function expectInvalid(strategy: Strategy, bars: Bars, params: ParamSet, message: RegExp): Promise<void> {
  const run = runBacktest(strategy, ctxOf(bars, params));
  await expect(run).rejects.toThrow(ParamInvalid);
  await expect(run).rejects.toThrow(message);
}

// t:       0   1   2      3       4       5   6      7      8      9
// close:  10  10  10     12      13      11   9      9     10     12
const CROSS = barsOf([10, 10, 10, 12, 13, 11, 9, 9, 10, 12]);
const sp500 = () => sp500Bars();

describe("sma-crossover", () => {
  it("goes short instead of flat with allowShort", async () => {
    // fast 1 (the close), slow 3: close > sma3 at t = 2..8: no, yes, yes, no, no, no, yes.
    await expectSignals(smaCrossover, CROSS, { fast: 1, slow: 3, allowShort: true }, 2, [-1, 1, 1, -1, -1, -1, 1]);
    await expectSignals(smaCrossover, CROSS, { fast: 1, slow: 3, allowShort: false }, 2, [0, 1, 1, 0, 0, 0, 1]);
    await expectSignals(smaCrossover, CROSS, { fast: 1, slow: 3 }, 2, [0, 1, 1, 0, 0, 0, 1]);
  });

  it("ignores calendar gaps: only the order of bars counts", async () => {
    const gapped = barsOf([10, 10, 10, 12, 13, 11, 9, 9, 10, 12], 0, [0, 1, 2, 10, 11, 12, 40, 41, 42, 300].map((d) => T0 + d * DAY));
    const a = await runBacktest(smaCrossover, ctxOf(CROSS, { fast: 1, slow: 3 }));
    const b = await runBacktest(smaCrossover, ctxOf(gapped, { fast: 1, slow: 3 }));
    expect(b.metrics).toEqual(a.metrics);
  });

  it("rejects a non-boolean allowShort", async () => {
    await expectInvalid(smaCrossover, CROSS, { fast: 1, slow: 3, allowShort: "yes" }, /allowShort/);
    await expectInvalid(smaCrossover, CROSS, { fast: 1, slow: 3, allowShort: 1 }, /allowShort/);
  });
});

describe("ema-crossover", () => {
  it("trades a crafted series as worked out by hand", async () => {
    // fast 1 (the close), slow 3 (alpha 0.5, seeded with mean(10, 10, 10)):
    // ema3 at t = 2..8: 10, 11, 12, 11.5, 10.25, 9.625, 9.8125.
    // close > ema3: no (10 = 10), yes, yes, no, no, no, yes.
    await expectSignals(emaCrossover, CROSS, { fast: 1, slow: 3 }, 2, [0, 1, 1, 0, 0, 0, 1]);
    await expectSignals(emaCrossover, CROSS, { fast: 1, slow: 3, allowShort: true }, 2, [-1, 1, 1, -1, -1, -1, 1]);
  });

  it.each([
    [{ fast: 3, slow: 3 }, /less than slow/],
    [{ fast: 1, slow: 10 }, /slow \(10\) needs at least 11 bars; the dataset has 10/],
    [{ fast: 1.5, slow: 3 }, /fast must be an integer from 1 to 1000/],
    [{ slow: 3 }, /fast/],
  ] as [ParamSet, RegExp][])("rejects %o", async (params, message) => {
    await expectInvalid(emaCrossover, CROSS, params, message);
  });
});

describe("macd", () => {
  it("trades a crafted series as worked out by hand", async () => {
    // fast 1, slow 3, signal 3. MACD m = close - ema3 from t = 2: 0, 1, 1, -0.5, -1.25, -0.625, 0.1875.
    // Signal line from t = 4, seeded with mean(m_2..m_4) = 2/3, alpha 0.5:
    // t = 4..8: 2/3, 1/12, -7/12, -29/48, -5/24. m > line: yes, no, no, no, yes.
    await expectSignals(macd, CROSS, { fast: 1, slow: 3, signal: 3 }, 4, [1, 0, 0, 0, 1]);
    await expectSignals(macd, CROSS, { fast: 1, slow: 3, signal: 3, allowShort: true }, 4, [1, -1, -1, -1, 1]);
  });

  it.each([
    [{ fast: 5, slow: 5, signal: 3 }, /less than slow/],
    [{ fast: 1, slow: 5, signal: 6 }, /slow \(5\) \+ signal \(6\) needs at least 11 bars; the dataset has 10/],
    [{ fast: 1, slow: 3, signal: 0 }, /signal must be an integer/],
    [{ fast: 1, slow: 3, signal: 1 }, /signal must be an integer from 2 to 1000/],
    [{ fast: 1, slow: 3 }, /signal/],
  ] as [ParamSet, RegExp][])("rejects %o", async (params, message) => {
    await expectInvalid(macd, CROSS, params, message);
  });
});

describe("rsi-reversion", () => {
  // Wilder's RSI(2) at t = 2..10: 100, 50, 25, 12.5, 56.25, 78.125, 89.0625, 94.53125, 47.27 (see the indicator tests).
  const bars = barsOf([10, 11, 12, 11, 10, 9, 10, 11, 12, 13, 12]);

  it("enters below lower, holds, exits above upper", async () => {
    // lower 30, upper 70: flat, flat, enter (25 < 30), hold (12.5), hold (56.25 is not > 70), exit (78.125 > 70),
    // flat (89 is not < 30), flat.
    await expectSignals(rsiReversion, bars, { period: 2, lower: 30, upper: 70 }, 2, [0, 0, 1, 1, 1, 0, 0, 0]);
    // upper 50: the exit comes at 56.25 instead.
    await expectSignals(rsiReversion, bars, { period: 2, lower: 30, upper: 50 }, 2, [0, 0, 1, 1, 0, 0, 0, 0]);
    // lower 10: never below, never in.
    await expectSignals(rsiReversion, bars, { period: 2, lower: 10, upper: 70 }, 2, [0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it.each([
    [{ period: 2, lower: 30, upper: 30 }, /lower \(30\) must be less than upper \(30\)/],
    [{ period: 2, lower: 70, upper: 30 }, /lower/],
    [{ period: 1, lower: 30, upper: 70 }, /period must be an integer from 2 to 1000/],
    [{ period: 2, lower: -1, upper: 70 }, /lower must be a number from 0 to 100/],
    [{ period: 2, lower: 30, upper: 101 }, /upper/],
    [{ period: 10, lower: 30, upper: 70 }, /period \(10\) needs at least 12 bars; the dataset has 11/],
  ] as [ParamSet, RegExp][])("rejects %o", async (params, message) => {
    await expectInvalid(rsiReversion, bars, params, message);
  });
});

describe("bollinger-reversion", () => {
  // t:      0   1   2   3   4   5   6   7   8   9
  // close: 10  10  10   7   9  11  12   8  10  12
  const bars = barsOf([10, 10, 10, 7, 9, 11, 12, 8, 10, 12]);

  it("enters below mid - k std, exits at mid", async () => {
    // period 3, k 1. t=2: mid 10, sd 0: 10 < 10? no. t=3: mid 9, sd sqrt(2): 7 < 7.59: enter.
    // t=4: mid 26/3: 9 >= 8.67: exit. t=5, 6: above the band. t=7: mid 31/3, sd 1.70: 8 < 8.63: enter.
    // t=8: mid 10: 10 >= 10: exit.
    await expectSignals(bollingerReversion, bars, { period: 3, k: 1 }, 2, [0, 1, 0, 0, 0, 1, 0]);
    // k 1.5: the band at t=3 is 9 - 2.12 = 6.88, and at t=7 10.33 - 2.55 = 7.78: never in.
    await expectSignals(bollingerReversion, bars, { period: 3, k: 1.5 }, 2, [0, 0, 0, 0, 0, 0, 0]);
  });

  it.each([
    [{ period: 3, k: 0 }, /k must be a number above 0/],
    [{ period: 3, k: 11 }, /k/],
    [{ period: 1, k: 1 }, /period must be an integer from 2/],
    [{ period: 10, k: 2 }, /period \(10\) needs at least 11 bars; the dataset has 10/],
  ] as [ParamSet, RegExp][])("rejects %o", async (params, message) => {
    await expectInvalid(bollingerReversion, bars, params, message);
  });

  it("runs a window as long as the data allows: one counted bar", async () => {
    const { metrics } = await runBacktest(bollingerReversion, ctxOf(bars, { period: 9, k: 2 }));
    expect(metrics.exposure).toBe(0);
  });
});

describe("donchian-breakout", () => {
  // t:      0   1   2   3   4   5   6   7   8   9
  // close: 10  11  12  14  13  12  10  11  13  14; high = close + 1, low = close - 1.
  const bars = barsOf([10, 11, 12, 14, 13, 12, 10, 11, 13, 14], 1);

  it("enters above the previous highs, exits below the previous lows", async () => {
    // entry 2, exit 2. t=2: 12 > max(11, 12)? no. t=3: 14 > max(12, 13): enter. t=4: 13 < min(11, 13)? no.
    // t=5: 12 < min(13, 12)? no. t=6: 10 < min(12, 11): exit. t=7: 11 > max(14, 13)? no. t=8: 13 > max(13, 12): enter.
    await expectSignals(donchianBreakout, bars, { entry: 2, exit: 2 }, 2, [0, 1, 1, 1, 0, 0, 1]);
    // entry 1, exit 3, from t = max(1, 3) = 3: t=3: 14 > high_2 = 13: enter; t=4: 13 < min(10, 11, 13)? no;
    // t=5: 12 < min(11, 13, 12)? no; t=6: 10 < min(13, 12, 11): exit; t=7: 11 > high_6 = 11? no; t=8: 13 > 12: enter.
    await expectSignals(donchianBreakout, bars, { entry: 1, exit: 3 }, 3, [1, 1, 1, 0, 0, 1]);
  });

  it.each([
    [{ entry: 0, exit: 2 }, /entry must be an integer from 1 to 1000/],
    [{ entry: 2, exit: 1001 }, /exit/],
    [{ entry: 9, exit: 2 }, /max\(entry, exit\) \(9\) needs at least 11 bars; the dataset has 10/],
    [{ entry: 2, exit: 9 }, /max\(entry, exit\) \(9\)/],
  ] as [ParamSet, RegExp][])("rejects %o", async (params, message) => {
    await expectInvalid(donchianBreakout, bars, params, message);
  });
});

describe("every strategy", () => {
  const strategies = Object.values(STRATEGIES).filter((s) => s.id !== "synthetic");

  it("declares params whose default axes pass their schemas, and the performance metrics", () => {
    expect(strategies.map((s) => s.id).sort()).toEqual(["bollinger-reversion", "donchian-breakout", "ema-crossover", "macd", "rsi-reversion", "sma-crossover"]);
    for (const s of strategies) {
      expect(s.openParams, s.id).toBe(false);
      expect(s.needsBars, s.id).toBe(true);
      expect(s.metrics, s.id).toBe(PERFORMANCE_METRICS);
      expect(s.description.length, s.id).toBeGreaterThan(20);
      for (const [name, param] of Object.entries(s.params)) {
        expect(param.description.length, `${s.id}.${name}`).toBeGreaterThan(5);
        const axis = createAxis(name, param.default);
        for (let k = 0; k < axis.size; k++) expect(param.schema.safeParse(axis.valueAt(k)).success, `${s.id}.${name}[${k}]`).toBe(true);
        if (param.optional) expect(param.schema.safeParse(param.optional.value).success, `${s.id}.${name} optional`).toBe(true);
      }
    }
    const withShort = strategies.filter((s) => "allowShort" in s.params).map((s) => s.id).sort();
    expect(withShort).toEqual(["ema-crossover", "macd", "sma-crossover"]);
    for (const id of withShort) expect(STRATEGIES[id]!.params.allowShort!.optional).toEqual({ value: false });
  });

  it("runs its whole default grid on sp500, rejecting only fast >= slow", async () => {
    const bars = sp500();
    const cache = createSeriesCache();
    for (const s of strategies) {
      const axes = Object.entries(s.params).map(([name, p]) => createAxis(name, p.default));
      let combos: ParamSet[] = [{}];
      for (const axis of axes) combos = combos.flatMap((c) => Array.from({ length: axis.size }, (_, k) => ({ ...c, [axis.name]: axis.valueAt(k) })));
      let ran = 0;
      for (const params of combos) {
        const ctx = { ...ctxOf(bars, params, cache), detail: false };
        if (typeof params.fast === "number" && params.fast >= (params.slow as number)) {
          await expect(runBacktest(s, ctx)).rejects.toThrow(ParamInvalid);
          continue;
        }
        const { metrics } = await runBacktest(s, ctx);
        expect(Object.keys(metrics).sort()).toEqual([...PERFORMANCE_METRICS].sort());
        ran++;
      }
      expect(ran, s.id).toBeGreaterThan(10);
    }
  });

  it("computes each indicator once per cache, keyed by indicator, input and window", async () => {
    const bars = sp500();
    const grids: [Strategy, ParamSet, string[]][] = [
      [smaCrossover, { fast: 5, slow: 20 }, ["ret:close", "sma:close:20", "sma:close:5", "zero"]],
      [emaCrossover, { fast: 5, slow: 20 }, ["ema:close:20", "ema:close:5", "ret:close", "zero"]],
      [macd, { fast: 12, slow: 26, signal: 9 }, ["ema:close:12", "ema:close:26", "ret:close", "zero"]],
      [rsiReversion, { period: 14, lower: 30, upper: 70 }, ["ret:close", "rsi:close:14", "zero"]],
      [bollingerReversion, { period: 20, k: 2 }, ["ret:close", "sma:close:20", "std:close:20", "zero"]],
      [donchianBreakout, { entry: 20, exit: 10 }, ["max:high:20", "min:low:10", "ret:close", "zero"]],
    ];
    for (const [strategy, params, keys] of grids) {
      const inner = createSeriesCache();
      const computed: string[] = [];
      const cache: SeriesCache = { get: (key, compute) => inner.get(key, () => (computed.push(key), compute())) };
      const first = await runBacktest(strategy, ctxOf(bars, params, cache));
      const again = await runBacktest(strategy, ctxOf(bars, params, cache));
      expect(computed.sort(), strategy.id).toEqual(keys);
      expect(again).toEqual(first);
    }
  });

  it("gives the same result whatever ran before it in the isolate (the shared signal buffer)", async () => {
    const bars = sp500();
    const alone = await runBacktest(rsiReversion, ctxOf(bars, { period: 14, lower: 30, upper: 70 }));
    await runBacktest(bollingerReversion, ctxOf(bars, { period: 20, k: 2 }));
    await runBacktest(macd, ctxOf(bars, { fast: 12, slow: 26, signal: 9, allowShort: true }));
    expect(await runBacktest(rsiReversion, ctxOf(bars, { period: 14, lower: 30, upper: 70 }))).toEqual(alone);
  });
});
