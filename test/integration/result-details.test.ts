import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ApiErrorBody, ExecutionModel, Job, JobSpecInput, MaterializeMessage, Page, ResultSummary, Task } from "../../schema";
import { runBacktest } from "../../worker/engine/run-backtest";
import { createSeriesCache } from "../../worker/engine/series-cache";
import { getStrategy } from "../../worker/engine/strategies";
import { resultDetailOf, resultSummaryOf } from "../../worker/results/summary";
import worker from "../../worker/index";
import { createTrpcClient } from "../../client";
import { sp500Bars } from "../fixtures";
import { api, KEY_A, KEY_B, submit, synthetic, waitFor, waitForEnd } from "../helpers";

/** Each strategy on a small grid, shorts on where it has them. */
const GRIDS: Record<string, JobSpecInput["params"]> = {
  "sma-crossover": { fast: { values: [10, 30] }, slow: { values: [50] }, allowShort: { values: [false, true] } },
  "ema-crossover": { fast: { values: [10, 30] }, slow: { values: [50] }, allowShort: { values: [false, true] } },
  macd: { fast: { values: [12] }, slow: { values: [26] }, signal: { values: [9] }, allowShort: { values: [false, true] } },
  "rsi-reversion": { period: { values: [14] }, lower: { values: [30] }, upper: { values: [70] } },
  "bollinger-reversion": { period: { values: [20] }, k: { values: [2] } },
  "donchian-breakout": { entry: { values: [20] }, exit: { values: [10] } },
};
const FEES = { feeBps: 5, slippageBps: 2 };

const specOf = (strategy: string, execution: ExecutionModel = "close"): JobSpecInput => ({
  strategy,
  dataset: "sp500",
  params: GRIDS[strategy]!,
  objective: { metric: "sharpe", mode: "max" },
  execution,
  ...FEES,
});

const tasksOf = async (job: Job, key?: string): Promise<Task[]> =>
  (await api<Page<Task>>("GET", `/api/v1/optimizations/${job.id}/tasks`, { key })).body.items;

const detailObjects = async (prefix = "details/") => (await env.RESULTS.list({ prefix })).objects.length;

/** What the consumer stored for a task before details went on demand: the same run with details on, through the same summary code. */
async function referenceSummary(job: Job, task: Task): Promise<ResultSummary> {
  const bars = sp500Bars();
  const options = { ...FEES, execution: job.spec.execution };
  const result = await runBacktest(getStrategy(job.strategy)!, { bars, params: task.params, attempt: task.attempt, cache: createSeriesCache(), options });
  return resultSummaryOf(
    { id: task.taskId, jobId: job.id, tenant: "tenant-a", index: task.index, attempt: task.attempt, strategy: job.strategy, dataset: "sp500", params: task.params, execMs: task.execMs!, createdAt: job.createdAt },
    resultDetailOf(result, bars.annualisation),
  );
}

describe("result summaries on demand", () => {
  it("equal, field by field, what the detail path stored for every strategy, both execution models, with fees and shorts", async () => {
    const jobs = await Promise.all(Object.keys(GRIDS).flatMap((s) => (["close", "next-open"] as const).map((e) => submit(specOf(s, e)))));
    let compared = 0;
    for (const submitted of jobs) {
      const job = await waitForEnd(submitted.id);
      expect(job.status).toBe("succeeded");
      for (const task of await tasksOf(job)) {
        expect(task.resultSummaryId).toBe(task.taskId);
        const res = await api<ResultSummary>("GET", `/api/v1/results/${task.resultSummaryId}`);
        expect(res.status).toBe(200);
        const reference = await referenceSummary(job, task);
        for (const field of Object.keys(reference) as (keyof ResultSummary)[]) expect(res.body[field], `${job.strategy} ${job.spec.execution} ${task.taskId} ${field}`).toEqual(reference[field]);
        expect(Object.keys(res.body)).toEqual(Object.keys(reference));
        // The hot path's metrics-only pass reported the same metrics.
        expect(res.body.metrics).toEqual(task.metrics);
        compared++;
      }
    }
    expect(compared).toBe(2 * (4 + 4 + 2 + 1 + 1 + 1));
  });

  it("store the Top-N's details when the job ends, another result's on its first read and none on the next; a shared built-in run answers each tenant as its own", async () => {
    const before = await detailObjects("");
    const spec: JobSpecInput = { ...specOf("sma-crossover"), params: { fast: { values: [7, 9, 11] }, slow: { values: [60] } }, topN: 1 };
    const job = await waitForEnd((await submit(spec)).id);
    expect(job.summary.succeeded).toBe(3);
    const best = job.summary.topN[0]!;
    expect(best.resultSummaryId).toBe(best.taskId);
    await waitFor(async () => (await detailObjects("")) === before + 1, { what: "the Top-N's details" });
    const top = await api<ResultSummary>("GET", `/api/v1/results/${best.resultSummaryId}`);
    expect(top.status).toBe(200);
    expect(await detailObjects("")).toBe(before + 1);
    const other = (await tasksOf(job)).find((t) => t.index !== best.index)!;
    const first = await api<ResultSummary>("GET", `/api/v1/results/${other.resultSummaryId}`);
    expect(first.status).toBe(200);
    expect(await detailObjects("")).toBe(before + 2);
    const again = await api<ResultSummary>("GET", `/api/v1/results/${other.resultSummaryId}`);
    expect(again.body).toEqual(first.body);
    expect(await detailObjects("")).toBe(before + 2);

    // Another tenant's id is a 404, never a 403.
    const foreign = await api<ApiErrorBody>("GET", `/api/v1/results/${best.resultSummaryId}`, { key: KEY_B });
    expect(foreign.status).toBe(404);
    // The same backtest on a built-in, run by another tenant, reads the same object, answered as B's task.
    const theirs = await waitForEnd((await submit(spec, KEY_B)).id, KEY_B);
    const bTask = (await tasksOf(theirs, KEY_B)).find((t) => t.index === other.index)!;
    const mine = await api<ResultSummary>("GET", `/api/v1/results/${bTask.resultSummaryId}`, { key: KEY_B });
    expect(await detailObjects("")).toBe(before + 2);
    expect(mine.body).toMatchObject({ id: bTask.taskId, jobId: theirs.id, tenant: "tenant-b", attempt: bTask.attempt, execMs: bTask.execMs, createdAt: theirs.createdAt });
    const { id: _a, jobId: _b, tenant: _c, execMs: _d, createdAt: _e, ...shared } = first.body;
    expect(mine.body).toMatchObject(shared);
  });

  it("are 404 with a reason for a task that did not succeed or does not exist; legacy ids still resolve", async () => {
    const job = await waitForEnd((await submit(synthetic({ a: { values: [1, 2] }, failTimes: { values: [0, 5] }, failKind: { values: ["ParamInvalid"] } }, { maxRetries: 0 }))).id);
    const tasks = await tasksOf(job);
    const failed = tasks.find((t) => t.status === "failed")!;
    const res = await api<ApiErrorBody>("GET", `/api/v1/results/${failed.taskId}`);
    expect(res.status).toBe(404);
    expect(res.body.error.message).toBe(`task ${failed.taskId} is failed: only a succeeded task has a result`);
    const beyond = await api<ApiErrorBody>("GET", `/api/v1/results/${job.id}.99`);
    expect(beyond.status).toBe(404);
    expect(beyond.body.error.message).toBe(`job ${job.id} has no task 99`);
    expect((await api("GET", "/api/v1/results/no-such-job.0")).status).toBe(404);
    const ok = tasks.find((t) => t.status === "succeeded")!;
    const legacy = await api<ResultSummary>("GET", `/api/v1/results/${ok.taskId}.a1`);
    expect(legacy.body).toMatchObject({ id: ok.taskId, metrics: ok.metrics, attempt: 1, equity: [], annualisation: null });
  });

  it("are served by tRPC results.get as by REST", async () => {
    const job = await waitForEnd((await submit({ ...specOf("macd", "next-open") })).id);
    const id = job.summary.topN[0]!.resultSummaryId!;
    const client = createTrpcClient({ url: "http://optimizer.test", apiKey: KEY_A, fetch: (input, init) => exports.default.fetch(new Request(input, init)) });
    expect(await client.results.get.query({ id })).toEqual((await api<ResultSummary>("GET", `/api/v1/results/${id}`)).body);
  });

  it("of an upload are stored under its tenant's prefix", async () => {
    const DAY = 86_400_000;
    const csv = `date,close\n${Array.from({ length: 150 }, (_, i) => `${new Date(Date.UTC(2020, 0, 1) + i * DAY).toISOString().slice(0, 10)},${(100 + 10 * Math.sin(i / 5)).toFixed(4)}`).join("\n")}\n`;
    expect((await api("POST", "/api/v1/datasets?name=wave", { raw: csv })).status).toBe(201);
    const job = await waitForEnd((await submit({ ...specOf("sma-crossover"), dataset: "u-wave", params: { fast: { values: [3] }, slow: { values: [10] } } })).id);
    const before = await detailObjects("tenant-a/details/");
    const res = await api<ResultSummary>("GET", `/api/v1/results/${job.summary.topN[0]!.resultSummaryId}`);
    expect(res.body).toMatchObject({ dataset: "u-wave@1", tenant: "tenant-a" });
    expect(res.body.equity.length).toBeGreaterThan(10);
    expect(await detailObjects("tenant-a/details/")).toBe(before + 1);
  });
});

describe("a materialize message", () => {
  const deliver = async (id: string, body: unknown, queue = "optimizer-tasks") => {
    const batch = createMessageBatch(queue, [{ id, timestamp: new Date(), attempts: 1, body }]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env);
    return getQueueResult(batch, ctx);
  };

  it("stores the named tasks' details, so they open from R2; a redelivery stores nothing new", async () => {
    const spec: JobSpecInput = { ...specOf("ema-crossover", "next-open"), params: { fast: { values: [5, 8, 13] }, slow: { values: [89, 144] } }, topN: 3 };
    const job = await waitForEnd((await submit(spec)).id);
    const indexes = job.summary.topN.map((e) => e.index);
    const before = await detailObjects();
    // An index with no task is skipped; the rest are stored.
    const message: MaterializeMessage = { v: 1, kind: "materialize", jobId: job.id, tenant: "tenant-a", indexes: [...indexes, 6] };
    expect(await deliver("m1", message)).toMatchObject({ explicitAcks: ["m1"], retryMessages: [] });
    expect(await detailObjects()).toBe(before + 3);
    for (const entry of job.summary.topN) {
      const res = await api<ResultSummary>("GET", `/api/v1/results/${entry.resultSummaryId}`);
      expect(res.body).toMatchObject({ index: entry.index, params: entry.params, metrics: entry.metrics });
    }
    expect(await deliver("m2", message)).toMatchObject({ explicitAcks: ["m2"], retryMessages: [] });
    expect(await detailObjects()).toBe(before + 3);
  });

  it("is acked when its job is not the tenant's, or it cannot be read", async () => {
    const before = await detailObjects("");
    expect(await deliver("m3", { v: 1, kind: "materialize", jobId: "no-such-job", tenant: "tenant-a", indexes: [0] })).toMatchObject({ explicitAcks: ["m3"] });
    expect(await deliver("m4", { v: 1, kind: "materialize", jobId: "j", tenant: "tenant-a", indexes: [] })).toMatchObject({ explicitAcks: ["m4"] });
    // Dead-lettered, it is dropped: those results are computed when opened.
    expect(await deliver("m5", { v: 1, kind: "materialize", jobId: "j", tenant: "tenant-a", indexes: [0] }, "optimizer-tasks-dlq")).toMatchObject({ explicitAcks: ["m5"] });
    expect(await detailObjects("")).toBe(before);
  });
});
