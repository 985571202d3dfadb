import { describe, expect, it } from "vitest";
import type { ParamSet } from "../../schema";
import { InternalError, ParamInvalid, UpstreamError } from "../../lib/errors";
import { runBacktest } from "../../worker/engine/run-backtest";
import { createSeriesCache } from "../../worker/engine/series-cache";
import { STRATEGIES, getStrategy } from "../../worker/engine/strategies";
import { smaCrossover } from "../../worker/engine/strategies/sma-crossover";
import { synthetic } from "../../worker/engine/strategies/synthetic";
import type { Bars, RunContext, Strategy } from "../../worker/engine/types";
import { TRADING_DAYS } from "../fixtures";

const NO_BARS: Bars = {
  length: 0,
  time: new Float64Array(0),
  open: new Float64Array(0),
  high: new Float64Array(0),
  low: new Float64Array(0),
  close: new Float64Array(0),
  volume: new Float64Array(0),
  annualisation: TRADING_DAYS,
};

const ctxOf = (params: ParamSet, attempt = 1): RunContext => ({
  bars: NO_BARS,
  params,
  attempt,
  cache: createSeriesCache(),
  options: { feeBps: 0, slippageBps: 0, execution: "close" },
});

describe("synthetic", () => {
  it("declares itself open, bar-free and scored", () => {
    expect(synthetic.openParams).toBe(true);
    expect(synthetic.needsBars).toBe(false);
    expect(synthetic.metrics).toEqual(["score"]);
    expect(Object.keys(synthetic.params).sort()).toEqual(["failKind", "failTimes", "sleepMs"]);
    expect(synthetic.params.failKind!.schema.safeParse("InternalError").success).toBe(true);
    expect(synthetic.params.failKind!.schema.safeParse("Nope").success).toBe(false);
  });

  it("scores the sum of numeric params, ignoring reserved, string and boolean ones", async () => {
    const params = { a: 1.5, b: -4, c: 10, label: "x", flag: true, sleepMs: 0, failTimes: 0, failKind: "InternalError" };
    expect(await runBacktest(synthetic, ctxOf(params))).toEqual({ metrics: { score: 7.5 } });
    expect(await runBacktest(synthetic, ctxOf({}))).toEqual({ metrics: { score: 0 } });
  });

  it("fails the first failTimes attempts, as UpstreamError by default", async () => {
    const params = { x: 3, failTimes: 2 };
    await expect(runBacktest(synthetic, ctxOf(params, 1))).rejects.toThrow(UpstreamError);
    await expect(runBacktest(synthetic, ctxOf(params, 2))).rejects.toThrow(UpstreamError);
    expect(await runBacktest(synthetic, ctxOf(params, 3))).toEqual({ metrics: { score: 3 } });
  });

  it("fails with the kind asked for", async () => {
    await expect(runBacktest(synthetic, ctxOf({ failTimes: 1, failKind: "ParamInvalid" }))).rejects.toThrow(ParamInvalid);
    await expect(runBacktest(synthetic, ctxOf({ failTimes: 1, failKind: "InternalError" }))).rejects.toThrow(InternalError);
  });

  it.each<ParamSet>([{ sleepMs: -1 }, { sleepMs: 60_001 }, { sleepMs: "10" }, { failTimes: 1.5 }, { failKind: "Nope" }])(
    "rejects reserved param %o with ParamInvalid",
    async (params) => {
      await expect(runBacktest(synthetic, ctxOf(params))).rejects.toThrow(ParamInvalid);
    },
  );

  it("sleeps sleepMs", async () => {
    const start = Date.now();
    expect(await runBacktest(synthetic, ctxOf({ sleepMs: 50, x: 1 }))).toEqual({ metrics: { score: 1 } });
    expect(Date.now() - start).toBeGreaterThanOrEqual(45);
  });
});

describe("strategy registry", () => {
  it("finds strategies by id and nothing else", () => {
    expect(Object.keys(STRATEGIES).sort()).toEqual([
      "bollinger-reversion",
      "donchian-breakout",
      "ema-crossover",
      "macd",
      "rsi-reversion",
      "sma-crossover",
      "synthetic",
    ]);
    expect(getStrategy("sma-crossover")).toBe(smaCrossover);
    expect(getStrategy("synthetic")).toBe(synthetic);
    expect(getStrategy("nope")).toBeUndefined();
    expect(getStrategy("toString")).toBeUndefined();
  });
});

describe("runBacktest", () => {
  const fake = (run: Strategy["run"], metrics: string[] = ["m"]): Strategy => ({
    id: "fake",
    description: "",
    params: {},
    openParams: true,
    needsBars: false,
    waitsOnIo: false,
    metrics,
    run,
  });

  it("turns a bare throw into InternalError", async () => {
    const run = runBacktest(
      fake(() => {
        throw new TypeError("boom");
      }),
      ctxOf({}),
    );
    await expect(run).rejects.toThrow(InternalError);
    await expect(run).rejects.toThrow("boom");
  });

  it("passes task errors through", async () => {
    const err = new UpstreamError("down");
    await expect(runBacktest(fake(() => Promise.reject(err)), ctxOf({}))).rejects.toBe(err);
  });

  it.each([NaN, Infinity, -Infinity])("rejects a metric of %s, naming it", async (value) => {
    await expect(runBacktest(fake(() => ({ metrics: { m: value } })), ctxOf({}))).rejects.toThrow(/metric m is not a finite number/);
    await expect(runBacktest(fake(() => ({ metrics: { m: value } })), ctxOf({}))).rejects.toBeInstanceOf(ParamInvalid);
  });

  it("rejects a result missing a declared metric", async () => {
    const run = runBacktest(fake(() => ({ metrics: { other: 1 } }), ["m"]), ctxOf({}));
    await expect(run).rejects.toBeInstanceOf(InternalError);
    await expect(run).rejects.toThrow(/metric m is missing/);
  });
});
