import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { jobUpsert, metricUpserts, taskUpserts } from "../../durable-objects/d1-projection";
import { initialState } from "../../durable-objects/job-core";
import { freshTask } from "../../durable-objects/job-state";
import { config, grid, startInput } from "../job-harness";

const counter = async (name: string) =>
  (await env.DB.prepare("SELECT value FROM metric_counters WHERE name = ? AND labels = ''").bind(name).first<{ value: number }>())?.value ?? 0;

describe("metric batches in D1", () => {
  it("apply once per number, however often a batch is resent", async () => {
    const samples = [{ name: "once_total", labels: "", value: 3 }];
    await env.DB.batch(metricUpserts(env.DB, "job-x", { seq: 1, token: "first-send", samples }));
    expect(await counter("once_total")).toBe(3);
    // The DO did not see the confirmation and resends the same batch under a new token.
    await env.DB.batch(metricUpserts(env.DB, "job-x", { seq: 1, token: "second-send", samples }));
    expect(await counter("once_total")).toBe(3);
    await env.DB.batch(metricUpserts(env.DB, "job-x", { seq: 2, token: "next-batch", samples: [{ name: "once_total", labels: "", value: 4 }] }));
    expect(await counter("once_total")).toBe(7);
    // Another job's batches are numbered on their own.
    await env.DB.batch(metricUpserts(env.DB, "job-y", { seq: 1, token: "y1", samples }));
    expect(await counter("once_total")).toBe(10);
  });

  it("apply a resent batch whose first send never reached D1", async () => {
    const samples = [{ name: "late_total", labels: "", value: 5 }];
    await env.DB.batch(metricUpserts(env.DB, "job-z", { seq: 1, token: "z1", samples: [{ name: "late_total", labels: "", value: 1 }] }));
    await env.DB.batch(metricUpserts(env.DB, "job-z", { seq: 2, token: "z2-retry", samples }));
    expect(await counter("late_total")).toBe(6);
  });
});

describe("job and task rows in D1", () => {
  it("keep the newest change: a late write from an older instance never regresses a row", async () => {
    const { job } = initialState(startInput("late-write-job", grid(2)), config);
    const at = "2026-12-01T00:00:00.000Z";
    const task = (status: "queued" | "canceled" | "succeeded", change: number) => ({ ...freshTask(0, status === "succeeded" ? "queued" : status, at), status, change });
    const rowOf = () => env.DB.prepare("SELECT status, succeeded, change_seq FROM optimization_jobs WHERE id = ?").bind(job.id).first();
    const taskOf = () => env.DB.prepare("SELECT status, change_seq FROM optimization_tasks WHERE job_id = ? AND idx = 0").bind(job.id).first();
    await env.DB.batch([jobUpsert(env.DB, job, 5, at), ...taskUpserts(env.DB, job, [task("queued", 5)], () => ({ a: 1 }))]);
    // The newer instance writes change 9: the job ended, the task succeeded.
    job.d1Inserted = true;
    Object.assign(job, { status: "succeeded", succeeded: 2 });
    await env.DB.batch([jobUpsert(env.DB, job, 9, at), ...taskUpserts(env.DB, job, [task("succeeded", 9)], () => ({ a: 1 }))]);
    // The older instance's write of change 7 lands late.
    Object.assign(job, { status: "running", succeeded: 1 });
    await env.DB.batch([jobUpsert(env.DB, job, 7, at), ...taskUpserts(env.DB, job, [task("canceled", 7)], () => ({ a: 1 }))]);
    expect(await rowOf()).toEqual({ status: "succeeded", succeeded: 2, change_seq: 9 });
    expect(await taskOf()).toEqual({ status: "succeeded", change_seq: 9 });
    // The first write's insert path keeps the guard too.
    job.d1Inserted = false;
    await env.DB.batch([jobUpsert(env.DB, job, 8, at)]);
    expect(await rowOf()).toEqual({ status: "succeeded", succeeded: 2, change_seq: 9 });
  });

  it("store every field of a task row as the DO holds it", async () => {
    const { job } = initialState(startInput("fields-job", grid(3)), config);
    const at = "2026-12-01T00:00:00.000Z";
    const rows = [
      { ...freshTask(0, "queued", at), status: "succeeded" as const, attempt: 2, retries: 1, score: 1.25, metrics: { score: 1.25, trades: 7 }, resultSummaryId: "fields-job.0", queueWaitMs: 3.5, execMs: 0.75, change: 4 },
      { ...freshTask(1, "queued", at), status: "failed" as const, attempt: 1, errorKind: "ParamInvalid" as const, errorMessage: "slow <= fast", queueWaitMs: 1, execMs: 2, change: 5 },
      { ...freshTask(2, "canceled", "2026-12-01T00:00:01.000Z"), change: 6 },
    ];
    await env.DB.batch([jobUpsert(env.DB, job, 6, at), ...taskUpserts(env.DB, job, rows, (idx) => ({ a: idx + 1, side: "long" }))]);
    const stored = await env.DB.prepare(
      `SELECT idx, tenant, params, status, attempt, retries, score, metrics, result_summary_id, error_kind, error_message,
         queue_wait_ms, exec_ms, created_at, updated_at, change_seq FROM optimization_tasks WHERE job_id = ? ORDER BY idx`,
    )
      .bind(job.id)
      .all();
    expect(stored.results).toEqual([
      { idx: 0, tenant: "tenant-a", params: '{"a":1,"side":"long"}', status: "succeeded", attempt: 2, retries: 1, score: 1.25, metrics: '{"score":1.25,"trades":7}',
        result_summary_id: "fields-job.0", error_kind: null, error_message: null, queue_wait_ms: 3.5, exec_ms: 0.75, created_at: at, updated_at: at, change_seq: 4 },
      { idx: 1, tenant: "tenant-a", params: '{"a":2,"side":"long"}', status: "failed", attempt: 1, retries: 0, score: null, metrics: null,
        result_summary_id: null, error_kind: "ParamInvalid", error_message: "slow <= fast", queue_wait_ms: 1, exec_ms: 2, created_at: at, updated_at: at, change_seq: 5 },
      { idx: 2, tenant: "tenant-a", params: '{"a":3,"side":"long"}', status: "canceled", attempt: 0, retries: 0, score: null, metrics: null,
        result_summary_id: null, error_kind: null, error_message: null, queue_wait_ms: null, exec_ms: null,
        created_at: "2026-12-01T00:00:01.000Z", updated_at: "2026-12-01T00:00:01.000Z", change_seq: 6 },
    ]);
  });
});
