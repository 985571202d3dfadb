import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Job, Page, Task } from "../../schema";
import { api, d1TaskCounts, range, submit, synthetic, waitFor, waitForEnd } from "../helpers";

describe("a synthetic 10x10 grid", () => {
  it("finishes with every task succeeded and the exact Top-N", async () => {
    const job = await submit(synthetic({ a: range(1, 10), b: range(0, 90, 10) }, { topN: 5, concurrencyLimit: 3 }));
    expect(job.summary.total).toBe(100);
    const done = await waitForEnd(job.id);
    expect(done.status).toBe("succeeded");
    expect(done.summary).toMatchObject({ total: 100, finished: 100, succeeded: 100, failed: 0, canceled: 0, running: 0, queued: 0 });
    // Independently: every combination in grid order (b fastest), best score first, ties by index.
    const all = Array.from({ length: 100 }, (_, i) => ({ a: 1 + Math.floor(i / 10), b: (i % 10) * 10, index: i }));
    const expected = all.sort((x, y) => y.a + y.b - (x.a + x.b) || x.index - y.index).slice(0, 5);
    expect(done.summary.topN.map((e) => ({ ...e.params, index: e.index }))).toEqual(expected);
    expect(done.summary.topN.map((e) => e.score)).toEqual([100, 99, 98, 97, 96]);
    expect(done.summary.topN.every((e) => e.resultSummaryId !== null)).toBe(true);

    const counts = await waitFor(async () => {
      const c = await d1TaskCounts(job.id);
      return c.succeeded === 100 ? c : null;
    }, { what: "D1 projection" });
    expect(counts).toEqual({ succeeded: 100 });
    const tasks = await api<Page<Task>>("GET", `/api/v1/optimizations/${job.id}/tasks?limit=200`);
    expect(tasks.body.items).toHaveLength(100);
    expect(tasks.body.nextCursor).toBeNull();
    expect(tasks.body.items[37]).toMatchObject({ index: 37, params: { a: 4, b: 70 }, status: "succeeded", score: 74, attempt: 1, retries: 0 });
  });
});

/** D1 holds one row per task once the job has ended, and its counts by status equal the summary. */
async function expectD1MatchesSummary(job: Job) {
  const s = job.summary;
  const expected = Object.fromEntries(
    Object.entries({ succeeded: s.succeeded, failed: s.failed, canceled: s.canceled }).filter(([, n]) => n > 0),
  );
  const sameCounts = (c: Record<string, number>) => Object.keys({ ...c, ...expected }).every((k) => c[k] === expected[k]);
  // The projection is written in batches just after the job ends.
  await waitFor(async () => sameCounts(await d1TaskCounts(job.id)), { what: `D1 counts ${JSON.stringify(expected)}` });
  expect(await d1TaskCounts(job.id)).toEqual(expected);
  const row = await env.DB.prepare("SELECT status, succeeded, failed, canceled, running, queued FROM optimization_jobs WHERE id = ?").bind(job.id).first();
  expect(row).toEqual({ status: job.status, succeeded: s.succeeded, failed: s.failed, canceled: s.canceled, running: 0, queued: 0 });
}

describe("through the real Queue consumer", () => {
  it("early-stops when the policy's metric reaches the threshold (max)", async () => {
    const job = await submit(synthetic({ a: range(1, 100) }, { concurrencyLimit: 1, earlyStopPolicy: { metric: "score", threshold: 50, mode: "max" } }));
    const done = await waitForEnd(job.id);
    expect(done.status).toBe("early-stopped");
    expect(done.stopReason).toMatchObject({ kind: "early-stop", metric: "score", threshold: 50, mode: "max", value: 50, taskId: `${job.id}.49` });
    expect(done.summary).toMatchObject({ total: 100, succeeded: 50, finished: 50, canceled: 50, running: 0, queued: 0 });
    expect(done.summary.topN[0]).toMatchObject({ score: 50, params: { a: 50 } });
    await new Promise((r) => setTimeout(r, 200));
    const later = await api<Job>("GET", `/api/v1/optimizations/${job.id}`);
    expect(later.body).toEqual(done);
    await expectD1MatchesSummary(done);
  });

  it("early-stops in min mode", async () => {
    const job = await submit(
      synthetic({ a: { values: [50, 40, 30, 20, 10, 5, 1] } }, { objective: { metric: "score", mode: "min" }, concurrencyLimit: 1, earlyStopPolicy: { metric: "score", threshold: 10, mode: "min" } }),
    );
    const done = await waitForEnd(job.id);
    expect(done.status).toBe("early-stopped");
    expect(done.stopReason).toMatchObject({ value: 10, mode: "min" });
    expect(done.summary).toMatchObject({ succeeded: 5, canceled: 2 });
    expect(done.summary.topN.map((e) => e.score)).toEqual([10, 20, 30, 40, 50]);
    await expectD1MatchesSummary(done);
  });

  it("cancels a running job with 202, again with 202, and freezes it", async () => {
    const job = await submit(synthetic({ a: range(1, 40), sleepMs: { values: [40] } }, { concurrencyLimit: 2 }));
    await waitFor(async () => (await api<Job>("GET", `/api/v1/optimizations/${job.id}`)).body.summary.succeeded >= 2, { what: "progress" });
    const res = await api<Job>("POST", `/api/v1/optimizations/${job.id}/cancel`, { body: { reason: "good enough" } });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: "canceled", stopReason: { kind: "cancel", reason: "good enough" } });
    const s = res.body.summary;
    expect(s.running + s.queued).toBe(0);
    expect(s.canceled + s.finished).toBe(40);
    expect(s.canceled).toBeGreaterThan(0);
    const again = await api<Job>("POST", `/api/v1/optimizations/${job.id}/cancel`, { raw: "" });
    expect(again.status).toBe(202);
    expect(again.body.stopReason).toEqual(res.body.stopReason);
    // In-flight chunks learn of the cancel at their next check-in; nothing they report counts.
    await new Promise((r) => setTimeout(r, 300));
    expect((await api<Job>("GET", `/api/v1/optimizations/${job.id}`)).body.summary).toEqual(s);
    await expectD1MatchesSummary(res.body);
  });

  it("cancels a large job at once and still gives D1 a canceled row for every task never dispatched", async () => {
    const job = await submit(synthetic({ a: range(1, 120), b: range(1, 100), sleepMs: { values: [20] } }));
    const res = await api<Job>("POST", `/api/v1/optimizations/${job.id}/cancel`);
    expect(res.status).toBe(202);
    expect(res.body.summary.total).toBe(12_000);
    await expectD1MatchesSummary(res.body);
    const row = await env.DB.prepare("SELECT params FROM optimization_tasks WHERE job_id = ? AND idx = 11999").bind(job.id).first<{ params: string }>();
    expect(JSON.parse(row!.params)).toEqual({ a: 120, b: 100, sleepMs: 20 });
  });

  it("answers 409 to cancel a job that already ended otherwise", async () => {
    const job = await submit(synthetic({ a: { values: [1] } }));
    await waitForEnd(job.id);
    const res = await api<{ error: { code: string } }>("POST", `/api/v1/optimizations/${job.id}/cancel`);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("conflict");
  });

  it("retries failures with backoff until they succeed", async () => {
    const job = await submit(synthetic({ a: range(1, 4), failTimes: { values: [2] } }, { maxRetries: 3 }));
    const done = await waitForEnd(job.id);
    expect(done.status).toBe("succeeded");
    expect(done.summary).toMatchObject({ succeeded: 4, failed: 0, retries: 8 });
    const tasks = await api<Page<Task>>("GET", `/api/v1/optimizations/${job.id}/tasks`);
    expect(tasks.body.items.map((t) => [t.attempt, t.retries, t.status])).toEqual(Array(4).fill([3, 2, "succeeded"]));
    await expectD1MatchesSummary(done);
  });

  it("fails tasks whose retries run out, and ParamInvalid at once", async () => {
    const job = await submit(
      synthetic({ a: range(1, 2), failTimes: { values: [9] }, failKind: { values: ["InternalError", "ParamInvalid"] } }, { maxRetries: 2 }),
    );
    const done = await waitForEnd(job.id);
    expect(done).toMatchObject({ status: "failed", summary: { succeeded: 0, failed: 4, retries: 4 } });
    const tasks = await api<Page<Task>>("GET", `/api/v1/optimizations/${job.id}/tasks?status=failed`);
    expect(tasks.body.items.map((t) => [t.params.failKind, t.errorKind, t.retries])).toEqual([
      ["InternalError", "InternalError", 2],
      ["ParamInvalid", "ParamInvalid", 0],
      ["InternalError", "InternalError", 2],
      ["ParamInvalid", "ParamInvalid", 0],
    ]);
    await expectD1MatchesSummary(done);
  });

  it("runs a real SMA grid on the S&P 500, writing to R2 only the Top-N's details", async () => {
    const detailKeys = async () => new Set((await env.RESULTS.list({ prefix: "details/" })).objects.map((o) => o.key));
    const before = await detailKeys();
    const job = await submit({
      strategy: "sma-crossover",
      dataset: "sp500",
      params: { fast: { values: [10, 20] }, slow: { values: [50, 100, 200] } },
      objective: { metric: "sharpe", mode: "max" },
      topN: 3,
    });
    const done = await waitForEnd(job.id);
    expect(done.summary).toMatchObject({ total: 6, succeeded: 6 });
    const best = done.summary.topN[0]!;
    expect(best.metrics).toHaveProperty("totalReturn");
    // Details are computed when opened (GET /results/:id): the id names the task.
    expect(best.resultSummaryId).toBe(best.taskId);
    // Nothing is written per task (no `<tenant>/results/` objects); when the job ends its Top-N's
    // details are stored (other tests' jobs may add theirs meanwhile, never fewer than these three).
    await waitFor(async () => [...(await detailKeys())].filter((k) => !before.has(k)).length >= 3, { what: "the Top-N's details" });
    expect((await env.RESULTS.list({ prefix: "tenant-a/results/" })).objects).toEqual([]);
  });

});
