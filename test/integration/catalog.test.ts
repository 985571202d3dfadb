import { describe, expect, it } from "vitest";
import type { ApiErrorBody, ResultSummary, StrategyList } from "../../schema";
import { api, KEY_B, submit, waitForEnd } from "../helpers";

describe("GET /api/v1/strategies", () => {
  it("lists every strategy with its params, default axes, value schemas and metrics", async () => {
    const res = await api<StrategyList>("GET", "/api/v1/strategies");
    expect(res.status).toBe(200);
    const ids = res.body.items.map((s) => s.id);
    expect(ids).toEqual(expect.arrayContaining(["sma-crossover", "ema-crossover", "rsi-reversion", "bollinger-reversion", "donchian-breakout", "macd", "synthetic"]));
    const sma = res.body.items.find((s) => s.id === "sma-crossover")!;
    expect(sma.params.map((p) => [p.name, p.optional])).toEqual([
      ["fast", false],
      ["slow", false],
      ["allowShort", true],
    ]);
    expect(sma.params[0]!.schema).toMatchObject({ type: "integer", minimum: 1 });
    expect(sma.metrics).toContain("sharpe");
  });
});

describe("GET /api/v1/results/:id", () => {
  it("serves a task's summary with its equity curve and trades, to its tenant only", async () => {
    const job = await submit({
      strategy: "sma-crossover",
      dataset: "sp500",
      params: { fast: { values: [20] }, slow: { values: [100] } },
      objective: { metric: "sharpe", mode: "max" },
    });
    const done = await waitForEnd(job.id);
    const best = done.summary.topN[0]!;
    const res = await api<ResultSummary>("GET", `/api/v1/results/${best.resultSummaryId}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ jobId: job.id, index: 0, params: { fast: 20, slow: 100 }, metrics: best.metrics });
    expect(res.body.equity.length).toBeGreaterThan(100);
    expect(res.body.equity.length).toBeLessThanOrEqual(300);
    expect(res.body.equity.at(-1)![1]).toBeCloseTo(1 + best.metrics.totalReturn!, 9);
    expect(res.body.trades).toHaveLength(best.metrics.trades!);
    const other = await api<ApiErrorBody>("GET", `/api/v1/results/${best.resultSummaryId}`, { key: KEY_B });
    expect(other.status).toBe(404);
    const bad = await api<ApiErrorBody>("GET", "/api/v1/results/not-an-id");
    expect(bad.status).toBe(400);
    expect(bad.body.error.details?.map((d) => d.path)).toEqual(["id"]);
  });
});
