import { describe, expect, it } from "vitest";
import type { BacktestOptions, ResultDetail } from "../../schema";
import { barsDigest, canonicalJson, dataRefOf, detailKeyOf } from "../../worker/results/content-key";
import { resultDetailFor, type DetailRun } from "../../worker/results/details";
import { resultDetailOf, resultSummaryOf } from "../../worker/results/summary";
import { createSeriesCache } from "../../worker/engine/series-cache";
import { smaCrossover } from "../../worker/engine/strategies/sma-crossover";
import { synthetic } from "../../worker/engine/strategies/synthetic";
import type { Bars, Strategy } from "../../worker/engine/types";
import { sp500Bars, TRADING_DAYS } from "../fixtures";

const OPTIONS: BacktestOptions = { feeBps: 5, slippageBps: 2, execution: "next-open" };
const builtin = { kind: "builtin" as const, id: "sp500", digest: "d1" };

describe("a result's detail", () => {
  it("keeps the first and last 500 trades of a long list and counts the rest", () => {
    const trade = (i: number) => ({ side: 1 as const, entryTime: i, entryPrice: 1, exitTime: i + 1, exitPrice: 1, return: 0 });
    const detail = resultDetailOf({ metrics: { score: 1 }, trades: Array.from({ length: 2500 }, (_, i) => trade(i)) }, TRADING_DAYS);
    expect(detail.trades).toHaveLength(1000);
    expect(detail.tradesOmitted).toBe(1500);
    expect(detail.trades[499]!.entryTime).toBe(499);
    expect(detail.trades[500]!.entryTime).toBe(2000);
    expect(detail.annualisation).toEqual(TRADING_DAYS);
  });

  it("of a strategy that reads no bars has no curve, trades or annualisation", () => {
    expect(resultDetailOf({ metrics: { score: 3 } }, null)).toEqual({ metrics: { score: 3 }, annualisation: null, equity: [], trades: [], tradesOmitted: 0 });
  });

  it("is answered inside the caller's identity, in the summary's field order", () => {
    const detail = resultDetailOf({ metrics: { score: 3 } }, null);
    const identity = { id: "j.4", jobId: "j", tenant: "t", index: 4, attempt: 2, strategy: "synthetic", dataset: "sp500", params: { a: 1 }, execMs: 3, createdAt: "2026-01-01T00:00:00.000Z" };
    const summary = resultSummaryOf(identity, detail);
    expect(Object.keys(summary)).toEqual(["id", "jobId", "tenant", "index", "attempt", "strategy", "dataset", "params", "metrics", "annualisation", "equity", "trades", "tradesOmitted", "execMs", "createdAt"]);
    expect(summary).toEqual({ ...identity, ...detail });
  });
});

describe("the content key", () => {
  const key = (over: { params?: Record<string, number | boolean>; options?: Partial<BacktestOptions>; data?: Parameters<typeof detailKeyOf>[1]; strategy?: Strategy } = {}) =>
    detailKeyOf(over.strategy ?? smaCrossover, over.data ?? builtin, over.params ?? { fast: 10, slow: 50 }, { ...OPTIONS, ...over.options });

  it("is the same for the same run, whatever the key order or a default spelled out", async () => {
    const k = await key();
    expect(k).toMatch(/^details\/[0-9a-f]{64}\.json$/);
    expect(await key({ params: { slow: 50, fast: 10 } })).toBe(k);
    expect(await key({ params: { fast: 10, slow: 50, allowShort: false } })).toBe(k);
    expect(canonicalJson({ b: [1, { d: 1, c: 2 }], a: "x" })).toBe('{"a":"x","b":[1,{"c":2,"d":1}]}');
  });

  it("changes with anything the result depends on", async () => {
    const keys = await Promise.all([
      key(),
      key({ params: { fast: 11, slow: 50 } }),
      key({ params: { fast: 10, slow: 50, allowShort: true } }),
      key({ options: { feeBps: 6 } }),
      key({ options: { slippageBps: 0 } }),
      key({ options: { execution: "close" } }),
      key({ data: { ...builtin, digest: "d2" } }),
      key({ data: { ...builtin, id: "eurusd" } }),
      key({ strategy: { ...smaCrossover, id: "ema-crossover" } }),
    ]);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("keeps uploads under their tenant; built-ins and bar-less runs are shared", async () => {
    expect(dataRefOf("t1", "sp500", true)).toEqual({ kind: "builtin" });
    expect(dataRefOf("t1", "u-prices@3", true)).toEqual({ kind: "upload", tenant: "t1", id: "u-prices@3" });
    expect(dataRefOf("t1", "u-prices@3", false)).toEqual({ kind: "none" });
    // Not pinned: which version it names can change, so it is never keyed.
    expect(dataRefOf("t1", "u-prices", true)).toBeNull();
    const upload = (tenant: string) => key({ data: { kind: "upload", tenant, id: "u-prices@3" } });
    expect(await upload("t1")).toMatch(/^t1\/details\/[0-9a-f]{64}\.json$/);
    expect((await upload("t1")).split("/")[2]).not.toBe((await upload("t2")).split("/")[2]);
  });

  it("names built-in bars by their content", async () => {
    const bars = sp500Bars();
    const digest = await barsDigest(bars);
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    const close = Float64Array.from(bars.close);
    close[100] = close[100]! + 0.01;
    expect(await barsDigest({ ...bars, close })).not.toBe(digest);
  });
});

/** An R2 bucket that counts gets and puts (only what resultDetailFor uses). */
function countingBucket() {
  const objects = new Map<string, string>();
  const counts = { gets: 0, puts: 0 };
  const bucket = {
    get: async (key: string) => {
      counts.gets++;
      const text = objects.get(key);
      return text === undefined ? null : { json: async () => JSON.parse(text) as unknown };
    },
    put: async (key: string, value: string) => {
      counts.puts++;
      objects.set(key, value);
    },
  } as unknown as R2Bucket;
  return { bucket, objects, counts };
}

describe("resultDetailFor", () => {
  const counted = () => {
    const runs = { n: 0, loads: 0 };
    const strategy: Strategy = { ...smaCrossover, run: (ctx) => (runs.n++, smaCrossover.run(ctx)) };
    const loadBars = async () => (runs.loads++, { value: sp500Bars() as Bars, release: () => undefined });
    return { runs, strategy, loadBars };
  };
  const run = (strategy: Strategy, dataset = "sp500"): DetailRun => ({ tenant: "t1", strategy, dataset, params: { fast: 10, slow: 50 }, options: OPTIONS, attempt: 1 });

  it("computes once with details, stores it under its key, then reads it back without running", async () => {
    const { bucket, objects, counts } = countingBucket();
    const { runs, strategy, loadBars } = counted();
    const deps = { bucket, loadBars, cache: createSeriesCache() };
    const first = await resultDetailFor(deps, run(strategy));
    expect(first.equity.length).toBeGreaterThan(100);
    expect(first.trades).toHaveLength(first.metrics.trades!);
    expect(counts).toEqual({ gets: 1, puts: 1 });
    expect([...objects.keys()]).toEqual([await detailKeyOf(strategy, { kind: "builtin", id: "sp500", digest: await barsDigest(sp500Bars()) }, { fast: 10, slow: 50 }, OPTIONS)]);
    const second = await resultDetailFor(deps, run(strategy));
    expect(second).toEqual(first);
    expect(counts).toEqual({ gets: 2, puts: 1 });
    expect(runs.n).toBe(1);
  });

  it("reads no bars for a stored upload's detail", async () => {
    const { bucket, counts } = countingBucket();
    const { runs, strategy, loadBars } = counted();
    const deps = { bucket, loadBars, cache: createSeriesCache() };
    await resultDetailFor(deps, run(strategy, "u-prices@1"));
    await resultDetailFor(deps, run(strategy, "u-prices@1"));
    expect(runs).toEqual({ n: 1, loads: 1 });
    expect(counts.puts).toBe(1);
  });

  it("stores nothing for an upload that is not pinned", async () => {
    const { bucket, counts } = countingBucket();
    const { strategy, loadBars } = counted();
    await resultDetailFor({ bucket, loadBars, cache: createSeriesCache() }, run(strategy, "u-prices"));
    expect(counts).toEqual({ gets: 0, puts: 0 });
  });

  it("recomputes over an unreadable stored object", async () => {
    const { bucket, objects, counts } = countingBucket();
    const { runs, strategy, loadBars } = counted();
    const deps = { bucket, loadBars, cache: createSeriesCache() };
    const detail = await resultDetailFor(deps, run(strategy));
    const [key] = [...objects.keys()];
    objects.set(key!, JSON.stringify({ metrics: "garbage" }));
    expect(await resultDetailFor(deps, run(strategy))).toEqual(detail);
    expect(runs.n).toBe(2);
    expect(JSON.parse(objects.get(key!)!) as ResultDetail).toEqual(detail);
    expect(counts.puts).toBe(2);
  });

  it("runs a bar-less strategy at the attempt that succeeded", async () => {
    const { bucket } = countingBucket();
    const detail = await resultDetailFor(
      { bucket, loadBars: () => Promise.reject(new Error("reads no bars")), cache: createSeriesCache() },
      { tenant: "t1", strategy: synthetic, dataset: "sp500", params: { a: 2, failTimes: 1 }, options: OPTIONS, attempt: 2 },
    );
    expect(detail).toEqual({ metrics: { score: 2 }, annualisation: null, equity: [], trades: [], tradesOmitted: 0 });
  });
});
