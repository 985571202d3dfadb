import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { retryDelayMs } from "../../durable-objects/backoff";
import { IO_BACKOFF, seededRandom } from "../../durable-objects/job-core";
import type { Job } from "../../schema";
import { createGridCache } from "../../worker/consumer/chunk-tasks";
import { runChunk, type ChunkDeps } from "../../worker/consumer/run-chunk";
import { createSeriesCache } from "../../worker/engine/series-cache";
import { synthetic } from "../../worker/engine/strategies/synthetic";
import { config, failOnceThenSucceed, grid, jobHarness as harness, SEED, startInput } from "../job-harness";

/** The jitter the harness's fixed seed gives the first draw of each event. */
const firstDraw = () => seededRandom(SEED)();

describe("the job Durable Object", () => {
  it("bounds chunks in flight by the concurrency limit and dispatches more as chunks end", async () => {
    const h = await harness(grid(20, { concurrencyLimit: 2 }));
    expect(h.started!.status).toBe("running");
    expect(h.sent.map((m) => m.chunkId)).toEqual(["c1", "c2"]);
    expect(h.sent.every((m) => m.tasks.length === 1 && m.tasks[0]!.attempt === 1)).toBe(true);
    const [first] = h.sent.splice(0);
    await h.job.report({ chunkId: first!.chunkId, outcomes: [h.ok(first!.tasks[0]!, { score: 1 })], done: true });
    // One slot freed: exactly one more chunk, sized from the observed time (2 ms a task).
    expect(h.sent).toHaveLength(1);
    expect(h.sent[0]!.tasks.length).toBeGreaterThan(1);
    const status = await h.job.status();
    expect(status!.summary).toMatchObject({ succeeded: 1, running: 1 + h.sent[0]!.tasks.length });
  });

  it("asks consumers to report less often as the job's concurrency grows", async () => {
    const small = await harness(grid(2, { concurrencyLimit: 2 }));
    const [s] = small.sent.splice(0);
    expect((await small.job.report({ chunkId: s!.chunkId, outcomes: [], done: false })).checkinMs).toBe(config.CHECKIN_MS);
    const wide = await harness(grid(2, { concurrencyLimit: 200 }));
    const [w] = wide.sent.splice(0);
    expect((await wide.job.report({ chunkId: w!.chunkId, outcomes: [], done: false })).checkinMs).toBe(1000);
  });

  it("counts a result once: duplicates and stale attempts change nothing", async () => {
    const h = await harness(grid(2));
    const [m] = h.sent.splice(0);
    const task = m!.tasks[0]!;
    const first = await h.job.report({ chunkId: m!.chunkId, outcomes: [h.ok(task, { score: 1 })], done: false });
    expect(first).toMatchObject({ continue: true, accepted: 1 });
    const again = await h.job.report({ chunkId: m!.chunkId, outcomes: [h.ok(task, { score: 1 })], done: false });
    expect(again.accepted).toBe(0);
    const stale = await h.job.report({ chunkId: m!.chunkId, outcomes: [h.ok({ index: task.index, attempt: 7 }, { score: 99 })], done: true });
    expect(stale.accepted).toBe(0);
    const status = await h.job.status();
    expect(status!.summary.succeeded).toBe(1);
    expect(status!.summary.topN.map((e) => e.score)).toEqual([1]);
  });

  it("retries UpstreamError with growing backoff, then succeeds", async () => {
    const h = await harness(grid(1, { maxRetries: 3 }));
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      const [m] = h.sent.splice(0);
      expect(m!.tasks[0]!.attempt).toBe(attempt);
      if (attempt === 3) {
        await h.job.report({ chunkId: m!.chunkId, outcomes: [h.ok(m!.tasks[0]!, { score: 5 })], done: true });
        break;
      }
      await h.job.report({ chunkId: m!.chunkId, outcomes: [h.fail(m!.tasks[0]!, "UpstreamError")], done: true });
      expect(h.sent).toHaveLength(0);
      delays.push((await h.retryAtOf(0)) - h.clock.now);
      // Not due yet: the alarm dispatches nothing.
      await h.alarm();
      expect(h.sent).toHaveLength(0);
      h.clock.now += config.RETRY_CAP_MS;
      expect(await h.alarm()).toBe(true);
    }
    const backoff = { baseMs: config.RETRY_BASE_MS, capMs: config.RETRY_CAP_MS };
    expect(delays).toEqual([1, 2].map((n) => retryDelayMs(n, backoff, firstDraw)));
    expect(delays[1]).toBeGreaterThan(delays[0]!);
    const status = await h.job.status();
    expect(status).toMatchObject({ status: "succeeded", summary: { succeeded: 1, retries: 2 } });
    const tasks = await h.job.listTasks({ limit: 10 });
    expect(tasks!.items[0]).toMatchObject({ status: "succeeded", attempt: 3, retries: 2, errorKind: null });
  });

  it("fails a task when retries run out, and the job when nothing succeeded", async () => {
    const h = await harness(grid(1, { maxRetries: 1 }));
    for (let i = 0; i < 2; i++) {
      const [m] = h.sent.splice(0);
      await h.job.report({ chunkId: m!.chunkId, outcomes: [h.fail(m!.tasks[0]!, "InternalError")], done: true });
      h.clock.now += config.RETRY_CAP_MS;
      await h.alarm();
    }
    const status = await h.job.status();
    expect(status).toMatchObject({ status: "failed", summary: { failed: 1, finished: 1, retries: 1 } });
    const tasks = await h.job.listTasks({ limit: 10 });
    expect(tasks!.items[0]).toMatchObject({ status: "failed", retries: 1, errorKind: "InternalError" });
  });

  it("never retries ParamInvalid", async () => {
    const h = await harness(grid(2, { maxRetries: 5 }));
    const [m] = h.sent.splice(0);
    await h.job.report({ chunkId: m!.chunkId, outcomes: [h.fail(m!.tasks[0]!, "ParamInvalid")], done: true });
    const tasks = await h.job.listTasks({ limit: 10, status: "failed" });
    expect(tasks!.items).toMatchObject([{ index: 0, status: "failed", retries: 0, errorKind: "ParamInvalid" }]);
    expect((await h.job.status())!.summary.retries).toBe(0);
  });

  it("redispatches the tasks of a consumer that died mid-chunk once the lease runs out", async () => {
    const h = await harness(grid(3));
    const [m1] = h.sent.splice(0);
    await h.job.report({ chunkId: m1!.chunkId, outcomes: [h.ok(m1!.tasks[0]!, { score: 1 })], done: true });
    const [m2] = h.sent.splice(0);
    expect(m2!.tasks.map((t) => t.index)).toEqual([1, 2]);
    // The consumer checks in with one result, then dies.
    await h.job.report({ chunkId: m2!.chunkId, outcomes: [h.ok(m2!.tasks[0]!, { score: 2 })], done: false });
    h.clock.now += config.RUN_LEASE_MS - 1;
    await h.alarm();
    expect(h.sent).toHaveLength(0);
    h.clock.now += 2;
    await h.alarm();
    h.clock.now += config.RETRY_CAP_MS;
    await h.alarm();
    const [m3] = h.sent.splice(0);
    expect(m3!.tasks).toEqual([{ index: 2, attempt: 2, params: { a: 3 } }]);
    // The dead consumer's late report for the expired lease is ignored.
    const late = await h.job.report({ chunkId: m2!.chunkId, outcomes: [h.ok(m2!.tasks[1]!, { score: 100 })], done: true });
    expect(late).toMatchObject({ continue: false, accepted: 0 });
    await h.job.report({ chunkId: m3!.chunkId, outcomes: [h.ok(m3!.tasks[0]!, { score: 3 })], done: true });
    const status = await h.job.status();
    expect(status).toMatchObject({ status: "succeeded", summary: { succeeded: 3, retries: 1 } });
    expect(status!.summary.topN.map((e) => e.score)).toEqual([3, 2, 1]);
  });

  it("survives a restart mid-job: state comes back from SQLite", async () => {
    const h = await harness(grid(3, { concurrencyLimit: 3 }));
    const chunks = h.sent.splice(0);
    expect(chunks).toHaveLength(3);
    await h.job.report({ chunkId: chunks[0]!.chunkId, outcomes: [h.ok(chunks[0]!.tasks[0]!, { score: 10 })], done: true });
    await h.restart();
    for (const c of chunks.slice(1)) await h.job.report({ chunkId: c.chunkId, outcomes: [h.ok(c.tasks[0]!, { score: 20 })], done: true });
    const status = await h.job.status();
    expect(status).toMatchObject({ status: "succeeded", summary: { succeeded: 3, total: 3 } });
    expect(h.sent).toHaveLength(0);
  });

  it("after a restart, a chunk's running tasks are what its row named less those reported since: its range, its listed retries", async () => {
    const h = await harness(grid(3, { maxRetries: 3 }));
    const [m1] = h.sent.splice(0);
    await h.job.report({ chunkId: m1!.chunkId, outcomes: [h.fail(m1!.tasks[0]!, "UpstreamError")], done: true });
    const [m2] = h.sent.splice(0);
    expect(m2!.message.range).toEqual({ from: 1, to: 3 });
    await h.job.report({ chunkId: m2!.chunkId, outcomes: [h.ok(m2!.tasks[0]!, { score: 1 })], done: false });
    await h.restart();
    const running = async () => (await h.job.listTasks({ limit: 10, status: "running" }))!.items.map((t) => [t.index, t.attempt]);
    expect(await running()).toEqual([[2, 1]]);
    await h.job.report({ chunkId: m2!.chunkId, outcomes: [h.fail(m2!.tasks[1]!, "UpstreamError")], done: true });
    h.clock.now += config.RETRY_CAP_MS;
    await h.alarm();
    const [m3] = h.sent.splice(0);
    expect(m3!.message.tasks).toEqual([{ index: 0, attempt: 2 }, { index: 2, attempt: 2 }]);
    // Task 0 fails again mid-chunk: its new row (queued, attempt 2) outdates what the chunk's row named.
    await h.job.report({ chunkId: m3!.chunkId, outcomes: [h.fail(m3!.tasks[0]!, "UpstreamError")], done: false });
    await h.restart();
    expect(await running()).toEqual([[2, 2]]);
    expect((await h.job.status())!.summary).toMatchObject({ succeeded: 1, running: 1, queued: 1, retries: 3 });
    expect((await h.job.listTasks({ limit: 10 }))!.items.map((t) => [t.index, t.status, t.attempt])).toEqual([[0, "queued", 2], [1, "succeeded", 1], [2, "running", 2]]);
    await h.job.report({ chunkId: m3!.chunkId, outcomes: [h.ok(m3!.tasks[1]!, { score: 2 })], done: true });
    h.clock.now += config.RETRY_CAP_MS;
    await h.alarm();
    const [m4] = h.sent.splice(0);
    expect(m4!.message.tasks).toEqual([{ index: 0, attempt: 3 }]);
    await h.job.report({ chunkId: m4!.chunkId, outcomes: [h.ok(m4!.tasks[0]!, { score: 3 })], done: true });
    expect((await h.job.status())!).toMatchObject({ status: "succeeded", summary: { succeeded: 3, retries: 3 } });
  });

  it("migrates a version-2 store mid-job: its running rows still name the chunks' tasks, its Top-N moves to its column, and D1 gets the rows past what it confirmed", async () => {
    const h = await harness(grid(3, { concurrencyLimit: 3 }));
    const chunks = h.sent.splice(0);
    await h.job.report({ chunkId: chunks[0]!.chunkId, outcomes: [h.ok(chunks[0]!.tasks[0]!, { score: 1 })], done: true });
    for (let i = 0; i < 5 && (await h.alarm()); i++) h.clock.now += config.D1_FLUSH_MS;
    // As version 2 left it: chunk rows of three columns, a running row for each task in flight, its indexes, its version number.
    await h.sql("CREATE TABLE chunks_v2 (id TEXT PRIMARY KEY, lease_until INTEGER NOT NULL, started INTEGER NOT NULL DEFAULT 0)");
    await h.sql("INSERT INTO chunks_v2 SELECT id, lease_until, started FROM chunks");
    await h.sql("DROP TABLE chunks");
    await h.sql("ALTER TABLE chunks_v2 RENAME TO chunks");
    for (const c of chunks.slice(1)) {
      const t = c.tasks[0]!;
      await h.sql("INSERT INTO tasks (idx, status, attempt, retries, requeues, chunk_id, dirty, updated_at) VALUES (?, 'running', 1, 0, 0, ?, 0, '')", t.index, c.chunkId);
    }
    await h.sql("DROP INDEX tasks_change");
    await h.sql("CREATE INDEX tasks_dirty ON tasks (dirty) WHERE dirty > 0");
    await h.sql("CREATE INDEX tasks_retry ON tasks (retry_at) WHERE status = 'queued'");
    await h.sql("CREATE INDEX tasks_chunk ON tasks (chunk_id) WHERE status = 'running'");
    // ...and the Top-N inside the job's state (version 6 gave it a column).
    await h.sql("UPDATE job SET data = json_set(data, '$.topN', json(top_n))");
    await h.sql("ALTER TABLE job DROP COLUMN top_n");
    await h.sql("UPDATE meta SET value = '2' WHERE key = 'schema_version'");
    await h.restart();
    expect((await h.job.status())!.summary).toMatchObject({ succeeded: 1, running: 2 });
    expect((await h.job.status())!.summary.topN.map((e) => e.score)).toEqual([1]);
    expect((await h.job.listTasks({ limit: 10, status: "running" }))!.items.map((t) => t.index)).toEqual(chunks.slice(1).map((c) => c.tasks[0]!.index));
    for (const c of chunks.slice(1)) expect(await h.job.report({ chunkId: c.chunkId, outcomes: [h.ok(c.tasks[0]!, { score: 2 })], done: true })).toMatchObject({ accepted: 1 });
    for (let i = 0; i < 5 && (await h.alarm()); i++) h.clock.now += config.D1_FLUSH_MS;
    const indexes = await h.sql<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'tasks_%' ORDER BY name");
    expect(indexes.map((r) => r.name)).toEqual(["tasks_change"]);
    expect((await h.job.status())!.summary.topN.map((e) => e.score)).toEqual([2, 2, 1]);
    await h.restart();
    expect((await h.job.status())!.summary.topN.map((e) => e.score)).toEqual([2, 2, 1]);
    const [stored] = await h.sql<{ data: string; top_n: string }>("SELECT data, top_n FROM job");
    expect([JSON.parse(stored!.data).topN, JSON.parse(stored!.top_n).length]).toEqual([undefined, 3]);
    const rows = await env.DB.prepare("SELECT status, COUNT(*) AS n FROM optimization_tasks WHERE job_id = ? GROUP BY status").bind(h.jobId).all();
    expect(rows.results).toEqual([{ status: "succeeded", n: 3 }]);
  });

  it("early-stops at the first result past the threshold and freezes the summary", async () => {
    const h = await harness(grid(10, { concurrencyLimit: 2, earlyStopPolicy: { metric: "score", threshold: 4, mode: "max" } }));
    const [c1, c2] = h.sent.splice(0);
    await h.job.report({ chunkId: c1!.chunkId, outcomes: [h.ok(c1!.tasks[0]!, { score: 1 })], done: true });
    const [c3] = h.sent.splice(0);
    const outcomes = c3!.tasks.map((t) => h.ok(t, { score: t.params.a as number }));
    const ack = await h.job.report({ chunkId: c3!.chunkId, outcomes, done: true });
    expect(ack.continue).toBe(false);
    const status = (await h.job.status())!;
    expect(status.status).toBe("early-stopped");
    expect(status.stopReason).toMatchObject({ kind: "early-stop", metric: "score", threshold: 4, mode: "max", value: 4, taskId: `${h.jobId}.3` });
    // Tasks after the trigger in the same report, and the other chunk's task, are canceled.
    expect(status.summary).toMatchObject({ total: 10, succeeded: 3, canceled: 7, running: 0, queued: 0, finished: 3 });
    const late = await h.job.report({ chunkId: c2!.chunkId, outcomes: [h.ok(c2!.tasks[0]!, { score: 99 })], done: true });
    expect(late).toMatchObject({ continue: false, accepted: 0 });
    expect(await h.job.status()).toEqual(status);
    expect((await h.job.cancel()).outcome).toBe("conflict");
  });

  it("cancels at once, idempotently, and ignores reports afterwards", async () => {
    const h = await harness(grid(5, { concurrencyLimit: 2 }));
    const chunks = h.sent.splice(0);
    const first = await h.job.cancel("enough");
    expect(first.outcome).toBe("canceled");
    const job = first.outcome === "canceled" ? first.job : null;
    expect(job).toMatchObject({ status: "canceled", stopReason: { kind: "cancel", reason: "enough" }, summary: { canceled: 5, running: 0, queued: 0 } });
    expect((await h.job.cancel("again")).outcome).toBe("already-canceled");
    const late = await h.job.report({ chunkId: chunks[0]!.chunkId, outcomes: [h.ok(chunks[0]!.tasks[0]!, { score: 1 })], done: true });
    expect(late).toMatchObject({ continue: false, accepted: 0 });
    expect(await h.job.status()).toEqual(job);
    expect(h.sent).toHaveLength(0);
  });

  it("puts a chunk back when the Queue refuses it, without charging a retry, and backs off while it keeps refusing", async () => {
    const h = await harness(grid(1), { failSends: true });
    expect((await h.job.status())!.summary).toMatchObject({ running: 0, queued: 1, retries: 0 });
    const pauses: number[] = [];
    for (let refusal = 1; refusal <= 3; refusal++) {
      const at = (await h.alarmAt())!;
      pauses.push(at - h.clock.now);
      // Nothing is sent before the pause is over.
      h.clock.now = at - 1;
      await h.alarm();
      h.clock.now = at;
      if (refusal === 3) h.faults.failSends = false;
      await h.alarm();
    }
    expect(pauses).toEqual([1, 2, 3].map((n) => retryDelayMs(n, IO_BACKOFF, firstDraw)));
    expect(h.sent.map((m) => m.tasks)).toEqual([[{ index: 0, attempt: 1, params: { a: 1 } }]]);
    expect((await h.job.status())!.summary).toMatchObject({ running: 1, queued: 0, retries: 0 });
  });
});

describe("looking up a job id that does not exist", () => {
  it("answers null and stores nothing in the object", async () => {
    const stub = env.OPTIMIZATION_JOB.get(env.OPTIMIZATION_JOB.idFromName("tenant-a:never-created"));
    expect(await stub.status()).toBeNull();
    expect(await stub.listTasks({ limit: 5 })).toBeNull();
    expect(await stub.cancel()).toEqual({ outcome: "not-found" });
    const tables = await runInDurableObject(stub, (_i, state) => state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'").toArray());
    expect(tables).toEqual([]);
  });
});

describe("faults around the D1 projection and the queue", () => {
  it("still writes every canceled row when the cancel lands during a D1 write", async () => {
    const h = await harness(grid(600, { concurrencyLimit: 1 }));
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let hold = true;
    h.faults.writeD1 = async (_statements, real) => {
      if (hold) {
        hold = false;
        await held;
      }
      return real();
    };
    const flushing = h.alarm();
    await new Promise((r) => setTimeout(r, 50));
    const canceled = await h.job.cancel();
    release();
    await flushing;
    for (let i = 0; i < 5 && (await h.alarm()); i++);
    expect(canceled.outcome).toBe("canceled");
    const counts = await env.DB.prepare("SELECT status, COUNT(*) AS n FROM optimization_tasks WHERE job_id = ? GROUP BY status").bind(h.jobId).all();
    expect(counts.results).toEqual([{ status: "canceled", n: 600 }]);
  });

  it("paces D1 retries instead of firing the alarm at once while D1 is down", async () => {
    const h = await harness(grid(3));
    await h.job.cancel();
    const delays: number[] = [];
    let writes = 0;
    h.faults.writeD1 = async () => {
      writes++;
      throw new Error("D1 unavailable");
    };
    for (let i = 0; i < 3; i++) {
      await h.alarm();
      const at = await h.alarmAt();
      delays.push(at! - h.clock.now);
      // An alarm before the pause is over (a lease, a retry) does not write to D1.
      await h.alarm();
      h.clock.now = at!;
    }
    expect(writes).toBe(3);
    expect(delays).toEqual([1, 2, 3].map((n) => retryDelayMs(n, IO_BACKOFF, firstDraw)));
  });

  it("puts a chunk that waited in the queue past its lease back in line without a retry charged", async () => {
    const h = await harness(grid(1));
    const [m1] = h.sent.splice(0);
    h.clock.now += config.DISPATCH_LEASE_MS + 1;
    await h.alarm();
    expect((await h.job.status())!.summary).toMatchObject({ running: 0, queued: 1, retries: 0 });
    h.clock.now += config.RETRY_BASE_MS;
    await h.alarm();
    const [m2] = h.sent.splice(0);
    expect(m2!.chunkId).not.toBe(m1!.chunkId);
    expect(m2!.tasks).toEqual([{ index: 0, attempt: 1, params: { a: 1 } }]);
    // The first message, delivered late, is told to stop at its first check-in.
    expect(await h.job.report({ chunkId: m1!.chunkId, outcomes: [], done: false })).toMatchObject({ continue: false, accepted: 0 });
    // The queue is slow: the next chunk gets twice the lease before it is put back.
    h.clock.now += config.DISPATCH_LEASE_MS + 1;
    await h.alarm();
    expect((await h.job.status())!.summary.running).toBe(1);
    expect((await h.job.report({ chunkId: m2!.chunkId, outcomes: [], done: false })).continue).toBe(true);
  });
});

describe("Analytics Engine", () => {
  it("gets one data point per kind of outcome a report carries, indexed by job", async () => {
    const h = await harness(grid(1, { maxRetries: 1 }));
    await failOnceThenSucceed(h, 7);
    expect(h.points).toEqual([
      { indexes: [h.jobId], blobs: ["tasks.failed", "failed", "synthetic", "tenant-a", "UpstreamError"], doubles: [1, 0.001, 0.002, 0, 1] },
      { indexes: [h.jobId], blobs: ["tasks.succeeded", "succeeded", "synthetic", "tenant-a", ""], doubles: [1, 0.001, 0.002, 7, 2] },
    ]);
  });

  it("stays far below the 250 points an invocation may write, however many outcomes a report carries, and a refused write fails nothing", async () => {
    const h = await harness(grid(600, { concurrencyLimit: 1, maxRetries: 1 }));
    await h.job.report({ chunkId: h.sent[0]!.chunkId, outcomes: [h.ok(h.sent[0]!.tasks[0]!, { score: 1 })], done: true });
    h.sent.splice(0, 1);
    const [big] = h.sent.splice(0);
    expect(big!.tasks.length).toBeGreaterThan(300);
    h.points.length = 0;
    const all = big!.tasks.map((t, i) => (i % 3 === 0 ? h.fail(t, "UpstreamError") : h.ok(t, { score: i })));
    const outcomes = all.slice(0, 300);
    expect(await h.job.report({ chunkId: big!.chunkId, outcomes, done: false })).toMatchObject({ accepted: outcomes.length });
    const failed = outcomes.filter((o) => !o.ok).length;
    expect(h.points.map((p) => [p.blobs![0], p.doubles![0], p.doubles![3]])).toEqual([
      ["tasks.failed", failed, 0],
      ["tasks.succeeded", outcomes.length - failed, Math.max(...outcomes.flatMap((o) => (o.ok ? [o.metrics.score!] : [])))],
    ]);
    // As the platform does past its limit: the write throws. The report is saved and answered all the same.
    h.faults.failPoints = true;
    const rest = all.slice(300);
    expect(await h.job.report({ chunkId: big!.chunkId, outcomes: rest, done: true })).toMatchObject({ accepted: rest.length });
    expect((await h.job.status())!.summary).toMatchObject({ succeeded: 1 + all.filter((o) => o.ok).length });
  });
});

describe("a wide job's D1 projection", () => {
  it("writes every row when more change between two flushes than one flush carries", async () => {
    const h = await harness(grid(20_000, { concurrencyLimit: 32 }));
    // Each first chunk reports 2 ms a task: the freed slot gets a 256-task chunk, 8000+ tasks in flight.
    for (const m of h.sent.splice(0)) await h.job.report({ chunkId: m.chunkId, outcomes: [h.ok(m.tasks[0]!, { score: 1 })], done: true });
    const running = (await h.job.status())!.summary.running;
    expect(running).toBeGreaterThan(5_000);
    await h.job.cancel();
    for (let i = 0; i < 20 && (await h.alarm()); i++);
    const counts = await env.DB.prepare("SELECT status, COUNT(*) AS n FROM optimization_tasks WHERE job_id = ? GROUP BY status ORDER BY status").bind(h.jobId).all();
    expect(counts.results).toEqual([
      { status: "canceled", n: 20_000 - 32 },
      { status: "succeeded", n: 32 },
    ]);
  });
});

describe("the Top-N's details when a job ends", () => {
  it("are asked of the consumer once, with the Top-N's indexes, and again after a refused send", async () => {
    const h = await harness(grid(3, { concurrencyLimit: 3, topN: 2 }));
    const chunks = h.sent.splice(0);
    expect(chunks).toHaveLength(3);
    for (const [i, m] of chunks.entries()) {
      // The Queue refuses the send that follows the last result.
      if (i === 2) h.faults.failSends = true;
      await h.job.report({ chunkId: m.chunkId, outcomes: m.tasks.map((t) => h.ok(t, { score: t.params.a as number })), done: true });
    }
    expect((await h.job.status())!.status).toBe("succeeded");
    expect(h.materialized).toEqual([]);
    h.faults.failSends = false;
    // The alarms that follow flush D1 and, once the send pause is over, send the Top-N.
    for (let i = 0; i < 5 && h.materialized.length === 0; i++) {
      h.clock.now = Math.max(h.clock.now, (await h.alarmAt()) ?? h.clock.now);
      await h.alarm();
    }
    expect(h.materialized).toEqual([{ v: 1, kind: "materialize", jobId: h.jobId, tenant: "tenant-a", indexes: [2, 1] }]);
    h.clock.now += 60_000;
    await h.alarm();
    expect(h.materialized).toHaveLength(1);
  });
});

describe("nothing stuck, nothing silently dropped", () => {
  it("fails the task of a chunk that never starts after MAX_REQUEUES requeues, and the job ends", async () => {
    const h = await harness(grid(1, { maxRetries: 3 }));
    // No consumer ever checks in: every dispatch lease runs out unstarted (the lease doubles each time).
    for (let i = 0; i <= config.MAX_REQUEUES; i++) {
      expect((await h.job.status())!.status).toBe("running");
      expect(h.sent.splice(0)).toHaveLength(1);
      h.clock.now += config.DISPATCH_LEASE_MS * 16 + 1;
      await h.alarm();
      h.clock.now += config.RETRY_BASE_MS;
      await h.alarm();
    }
    expect(h.sent).toHaveLength(0);
    expect(await h.job.status()).toMatchObject({ status: "failed", summary: { failed: 1, retries: 0, running: 0, queued: 0 } });
    const tasks = await h.job.listTasks({ limit: 10 });
    expect(tasks!.items[0]).toMatchObject({ status: "failed", errorKind: "InternalError", errorMessage: expect.stringMatching(/never started by a consumer/) });
  });

  it("fails an abandoned chunk's attempts (dead-lettered or unreadable) and retries them", async () => {
    const h = await harness(grid(1, { maxRetries: 1 }));
    const [m1] = h.sent.splice(0);
    await h.job.abandonChunk(m1!.chunkId, "the queue gave up on the chunk's message after its retries (dead-lettered)");
    expect((await h.job.status())!.summary).toMatchObject({ running: 0, queued: 1, retries: 1 });
    h.clock.now += config.RETRY_CAP_MS;
    await h.alarm();
    const [m2] = h.sent.splice(0);
    await h.job.abandonChunk(m2!.chunkId, "dead-lettered again");
    const tasks = await h.job.listTasks({ limit: 10 });
    expect(tasks!.items[0]).toMatchObject({ status: "failed", retries: 1, errorKind: "InternalError", errorMessage: "dead-lettered again" });
    expect((await h.job.status())!.status).toBe("failed");
    // An abandon for a chunk that already ended changes nothing.
    await h.job.abandonChunk(m1!.chunkId, "late");
    expect((await h.job.status())!.summary).toMatchObject({ failed: 1, retries: 1 });
  });

  it("answers start with the recorded job and keeps an alarm when dispatch throws", async () => {
    const h = await harness(grid(3), { failSteps: 1 });
    expect(h.started).toMatchObject({ status: "queued", summary: { total: 3, queued: 3 } });
    expect(h.sent).toHaveLength(0);
    const at = await h.alarmAt();
    expect(at).not.toBeNull();
    // A repeated start (the client's retry) returns the same job, and the alarm dispatches it.
    expect((await h.job.start(startInput(h.jobId, grid(3)))).id).toBe(h.jobId);
    h.clock.now = at!;
    await h.alarm();
    expect(h.sent.map((m) => m.tasks[0]!.index)).toEqual([0]);
    expect((await h.job.status())!.status).toBe("running");
  });

  it("keeps an alarm when the object is reset while start() waits on the Queue", async () => {
    const h = await harness(grid(5, { concurrencyLimit: 2 }), { hangSends: true });
    await new Promise((r) => setTimeout(r, 100));
    await h.restart(true);
    h.faults.hangSends = false;
    expect((await h.job.status())!.summary).toMatchObject({ running: 2, queued: 3 });
    const at = await h.alarmAt();
    expect(at).not.toBeNull();
    // The claimed chunks' leases run out unstarted, and the job goes on.
    h.clock.now += config.DISPATCH_LEASE_MS;
    await h.alarm();
    h.clock.now += config.RETRY_BASE_MS;
    await h.alarm();
    expect(h.sent.length).toBeGreaterThan(0);
  });

  it("counts a metric batch once when D1 committed it but the object restarted before it knew", async () => {
    const counter = async () =>
      (await env.DB.prepare(`SELECT value FROM metric_counters WHERE name = 'optimizer_tasks_total' AND labels = 'status="succeeded"'`).first<{ value: number }>())?.value ?? 0;
    const h = await harness(grid(3, { concurrencyLimit: 2 }));
    const before = await counter();
    const [c1, c2] = h.sent.splice(0);
    for (const m of [c1!, c2!]) await h.job.report({ chunkId: m.chunkId, outcomes: [h.ok(m.tasks[0]!, { score: 1 })], done: true });
    // D1 commits the batch, then the object dies before it saves anything more: the step that would
    // record the answer throws, and the object comes back from what SQLite holds.
    h.faults.writeD1 = async (_statements, real) => {
      await real();
      h.faults.failSteps = 1;
      throw new Error("connection reset");
    };
    await expect(h.alarm()).rejects.toThrow("storage unavailable");
    h.faults.writeD1 = undefined;
    await h.restart();
    // A newer increment arrives before the next write: it must not ride in a batch D1 already applied.
    const [c3] = h.sent.splice(0);
    await h.job.report({ chunkId: c3!.chunkId, outcomes: [h.ok(c3!.tasks[0]!, { score: 1 })], done: true });
    h.clock.now += 120_000;
    for (let i = 0; i < 5 && (await h.alarm()); i++) h.clock.now += 120_000;
    expect((await counter()) - before).toBe(3);
  });

  it("arms the alarm for leases before it waits on D1", async () => {
    const h = await harness(grid(2));
    const [m] = h.sent.splice(0);
    // A result D1 does not have yet, and a chunk in flight whose lease the next alarm must watch.
    await h.job.report({ chunkId: m!.chunkId, outcomes: [h.ok(m!.tasks[0]!, { score: 1 })], done: true });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let writing = false;
    h.faults.writeD1 = async (_statements, real) => {
      writing = true;
      await held;
      return real();
    };
    h.clock.now += config.D1_FLUSH_MS;
    const alarm = h.alarm();
    await new Promise((r) => setTimeout(r, 100));
    // D1 is still writing, and the next alarm (the dispatched chunk's lease) is already set.
    const at = await h.alarmAt();
    const wasWriting = writing;
    release();
    await alarm;
    expect(wasWriting).toBe(true);
    expect(at).not.toBeNull();
    expect(at!).toBeLessThanOrEqual(h.clock.now + config.DISPATCH_LEASE_MS);
  });

  it("sends the spec to D1 once, with the job's first row", async () => {
    const spec = grid(3, { name: "x".repeat(200) });
    const specBound: boolean[] = [];
    const h = await harness(spec, {
      writeD1: (statements, real) => {
        // D1's prepared statements keep their bound values: look for the spec among them.
        specBound.push(statements.some((st) => JSON.stringify((st as unknown as { params: unknown[] }).params).includes("x".repeat(200))));
        return real();
      },
    });
    for (const m of h.sent.splice(0)) await h.job.report({ chunkId: m.chunkId, outcomes: [h.ok(m.tasks[0]!, { score: 1 })], done: true });
    h.clock.now += 1_000;
    await h.alarm();
    expect(specBound.length).toBeGreaterThanOrEqual(2);
    expect(specBound).toEqual([true, ...specBound.slice(1).map(() => false)]);
    const row = await env.DB.prepare("SELECT spec, status FROM optimization_jobs WHERE id = ?").bind(h.jobId).first<{ spec: string; status: string }>();
    expect(JSON.parse(row!.spec).name).toBe("x".repeat(200));
  });
});

describe("the consumer and the job's DO on a clock that moves only at I/O (as on Workers)", () => {
  /** Each backtest costs `TASK_MS` of CPU that the shared clock shows at the next report. */
  const TASK_MS = 5;
  const RTT_MS = 2;

  function productionConsumer(h: Awaited<ReturnType<typeof harness>>, beforeReport: () => Promise<void> = async () => {}): ChunkDeps {
    let cpu = 0;
    return {
      strategy: { ...synthetic, run: (ctx) => ((cpu += TASK_MS), synthetic.run(ctx)) },
      loadBars: () => {
        throw new Error("synthetic needs no bars");
      },
      cache: createSeriesCache(),
      grids: createGridCache(),
      now: () => h.clock.now,
      report: async (r) => {
        h.clock.now += cpu + RTT_MS;
        cpu = 0;
        await beforeReport();
        return h.job.report(r);
      },
    };
  }

  it("sizes chunks from real task times and keeps stats and the ETA sensible", async () => {
    const h = await harness(grid(2_000, { concurrencyLimit: 1 }));
    const consumer = productionConsumer(h);
    const sizes: number[] = [];
    let mid: Job | null = null;
    for (let i = 0; i < 100 && h.sent.length > 0; i++) {
      const m = h.sent.shift()!;
      sizes.push(m.tasks.length);
      await runChunk(m.message, consumer);
      if (i === 3) mid = await h.job.status();
    }
    const job = (await h.job.status())!;
    expect(job.status).toBe("succeeded");
    // About TARGET_CHUNK_MS of work a chunk, not MAX_CHUNK_TASKS as a clock showing 0 ms would give.
    const target = config.TARGET_CHUNK_MS / TASK_MS;
    for (const size of sizes.slice(2, -1)) {
      expect(size).toBeGreaterThan(target * 0.6);
      expect(size).toBeLessThan(target * 1.05);
    }
    expect(job.stats.exec.mean).toBeGreaterThanOrEqual(TASK_MS);
    expect(job.stats.exec.mean).toBeLessThan(TASK_MS + RTT_MS);
    // The ETA while it ran: the remaining tasks at the measured pace, one chunk at a time.
    const left = mid!.summary.total - mid!.summary.finished;
    expect(mid!.stats.etaSeconds).toBeGreaterThan((left * TASK_MS) / 1000 * 0.9);
    expect(mid!.stats.etaSeconds).toBeLessThan((left * (TASK_MS + RTT_MS)) / 1000 * 1.1);
  });

  it("stops a running chunk at its first check-in after a cancel, and counts nothing it ran after", async () => {
    const h = await harness(grid(2_000, { concurrencyLimit: 1 }));
    let cancelAt: number | null = null;
    let finishedAtCancel = 0;
    const consumer = productionConsumer(h, async () => {
      if (cancelAt !== null || h.sent.length > 0) return;
      const status = (await h.job.status())!;
      if (status.summary.finished < 300) return;
      // The user cancels between two check-ins of a chunk that is running.
      cancelAt = h.clock.now;
      finishedAtCancel = status.summary.finished;
      await h.job.cancel("enough");
    });
    let ran = 0;
    let stopped = false;
    for (let i = 0; i < 100 && h.sent.length > 0 && !stopped; i++) ({ ran, stopped } = await runChunk(h.sent.shift()!.message, consumer));
    expect(stopped).toBe(true);
    expect(cancelAt).not.toBeNull();
    // The check-in that follows the cancel stops the chunk (test/unit/run-chunk.test.ts bounds the work
    // between the two), and nothing it reports counts.
    const job = (await h.job.status())!;
    expect(job.status).toBe("canceled");
    expect(job.summary.finished).toBe(finishedAtCancel);
    expect(ran).toBeGreaterThan(0);
    expect(h.clock.now - cancelAt!).toBeLessThanOrEqual(RTT_MS * 2);
  });
});
