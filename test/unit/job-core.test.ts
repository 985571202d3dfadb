import { describe, expect, it } from "vitest";
import { JobSpec, type TaskChunkMessage } from "../../schema";
import { createAdmittedGrid, createGrid } from "../../lib/grid";
import { chunkTasks } from "../../worker/consumer/chunk-tasks";
import { initialState, isTerminal, MAX_RUNNING_TASKS, nextAlarmAt, step, TASK_LINES_PER_STEP, type CoreConfig, type JobEvent } from "../../durable-objects/job-core";

/** Production defaults (lib/config.ts), small enough to reason about. */
const PROD: CoreConfig = {
  RETRY_BASE_MS: 1_000,
  RETRY_CAP_MS: 60_000,
  DISPATCH_LEASE_MS: 120_000,
  RUN_LEASE_MS: 30_000,
  TARGET_CHUNK_MS: 1_000,
  MIN_CHUNK_MS: 100,
  MAX_CHUNK_TASKS: 4_096,
  CHECKIN_MS: 100,
  D1_FLUSH_MS: 500,
  METRICS_ENABLED: true,
  MAX_REQUEUES: 5,
};

/**
 * A job against a backed-up queue: every message is delivered `waitMs` after it was sent, one at a
 * time, and its consumer checks in, runs its tasks (`taskMs` each) and reports. Time jumps from one
 * delivery or alarm to the next.
 */
function runAgainstBacklog(tasks: number, concurrencyLimit: number, waitMs: number, taskMs: number) {
  const spec = JobSpec.parse({ strategy: "synthetic", dataset: "sp500", params: { a: { min: 1, max: tasks, step: 1 } }, objective: { metric: "score", mode: "max" }, concurrencyLimit });
  const state = initialState({ jobId: "j", tenant: "t", spec, total: createGrid(spec.params, spec.constraints).countAccepted(), createdAt: new Date(0).toISOString() }, PROD);
  let now = 0;
  let seed = 1;
  let consumerFreeAt = 0;
  const queue: { at: number; message: TaskChunkMessage }[] = [];
  const grid = createAdmittedGrid(spec.params, spec.constraints);
  // Any step may claim chunks (a report dispatches what it freed): their messages join the queue.
  const apply = (event: JobEvent) => {
    const result = step(state, { ...event, now, seed: seed++ }, PROD);
    for (const e of result.effects) if (e.type === "send") queue.push(...e.messages.map((message) => ({ at: now + waitMs, message })));
    return result;
  };
  const dispatch = () => apply({ type: "dispatch" });
  dispatch();
  for (let i = 0; i < 100_000 && !isTerminal(state.job.status); i++) {
    const delivery = queue[0] ? Math.max(queue[0].at, consumerFreeAt) : Infinity;
    const alarm = nextAlarmAt(state, PROD, now) ?? Infinity;
    if (delivery <= alarm) {
      now = delivery;
      const { message } = queue.shift()!;
      if (apply({ type: "report", report: { chunkId: message.chunkId, outcomes: [], done: false } }).ack!.continue) {
        const tasks = [...chunkTasks(message, grid)];
        now += taskMs * tasks.length;
        const outcomes = tasks.map((t) => ({ ok: true as const, index: t.index, attempt: t.attempt, metrics: { score: 1 }, resultSummaryId: null, queueWaitMs: waitMs, execMs: taskMs }));
        apply({ type: "report", report: { chunkId: message.chunkId, outcomes, done: true } });
      }
      consumerFreeAt = now;
    } else {
      now = Math.max(alarm, now + 1);
      apply({ type: "alarm" });
    }
    dispatch();
  }
  return state.job;
}

describe("a queue that outwaits the dispatch lease", () => {
  it("delays tasks but fails none: a requeued task waits longer each time, whatever other chunks do", () => {
    for (const concurrency of [1, 4]) {
      const job = runAgainstBacklog(400, concurrency, 150_000, 50);
      expect(job).toMatchObject({ status: "succeeded", succeeded: 400, failed: 0, retries: 0 });
    }
  });
});

describe("a fast job past its bound of running tasks", () => {
  it("sends whole chunks only: the slots a report frees wait for room rather than take one-task chunks", () => {
    const spec = JobSpec.parse({ strategy: "synthetic", dataset: "sp500", params: { a: { min: 1, max: 100_000, step: 1 } }, objective: { metric: "score", mode: "max" }, concurrencyLimit: 64 });
    const state = initialState({ jobId: "j", tenant: "t", spec, total: 100_000, createdAt: new Date(0).toISOString() }, PROD);
    const grid = createAdmittedGrid(spec.params, spec.constraints);
    let now = 0;
    let seed = 1;
    const queue: TaskChunkMessage[] = [];
    const sizes: number[] = [];
    const apply = (event: JobEvent) => {
      for (const e of step(state, { ...event, now, seed: seed++ }, PROD).effects) {
        if (e.type !== "send") continue;
        queue.push(...e.messages);
        sizes.push(...e.messages.map((m) => [...chunkTasks(m, grid)].length));
      }
    };
    apply({ type: "dispatch" });
    // Oldest chunk first, each reported at once in full: 0.05 ms a task.
    for (let i = 0; i < 10_000 && queue.length > 0 && !isTerminal(state.job.status); i++) {
      const m = queue.shift()!;
      now += 1;
      const outcomes = [...chunkTasks(m, grid)].map((t) => ({ ok: true as const, index: t.index, attempt: t.attempt, metrics: { score: 1 }, resultSummaryId: null, queueWaitMs: 0, execMs: 0.05 }));
      apply({ type: "report", report: { chunkId: m.chunkId, outcomes, done: true } });
      expect(state.job.running).toBeLessThanOrEqual(MAX_RUNNING_TASKS);
    }
    expect(state.job.status).toBe("succeeded");
    // The first wave measures with one task a chunk; after it, chunks carry about a second of work
    // (1,000 ms / 0.05 ms, within MAX_CHUNK_TASKS), none cut short by the bound (the last holds the rest).
    const later = sizes.slice(64, -1);
    expect(later.length).toBeGreaterThan(0);
    expect(later.filter((n) => n < 1_000)).toEqual([]);
  });

  it("logs a step's per-task lines in full up to a bound, then one line counting the rest", () => {
    const spec = JobSpec.parse({ strategy: "synthetic", dataset: "sp500", params: { a: { min: 1, max: 300, step: 1 } }, objective: { metric: "score", mode: "max" }, concurrencyLimit: 1, maxRetries: 1 });
    const state = initialState({ jobId: "j", tenant: "t", spec, total: 300, createdAt: new Date(0).toISOString() }, PROD);
    const grid = createAdmittedGrid(spec.params, spec.constraints);
    const send = (effects: ReturnType<typeof step>["effects"]) => effects.flatMap((e) => (e.type === "send" ? e.messages : []));
    const [first] = send(step(state, { type: "dispatch", now: 0, seed: 1 }, PROD).effects);
    const one = [...chunkTasks(first!, grid)].map((t) => ({ ok: true as const, index: t.index, attempt: t.attempt, metrics: { score: 1 }, resultSummaryId: null, queueWaitMs: 0, execMs: 1 }));
    const [big] = send(step(state, { type: "report", report: { chunkId: first!.chunkId, outcomes: one, done: true }, now: 1, seed: 2 }, PROD).effects);
    const tasks = [...chunkTasks(big!, grid)];
    expect(tasks.length).toBe(299);
    const outcomes = tasks.map((t) => ({ ok: false as const, index: t.index, attempt: t.attempt, errorKind: "UpstreamError" as const, errorMessage: "down", queueWaitMs: 0, execMs: 1 }));
    const logs = step(state, { type: "report", report: { chunkId: big!.chunkId, outcomes, done: true }, now: 2, seed: 3 }, PROD).effects.flatMap((e) => (e.type === "log" ? [e] : []));
    expect(logs.filter((l) => l.event === "task.retried")).toHaveLength(TASK_LINES_PER_STEP);
    expect(logs.filter((l) => l.event === "task.lines_omitted")).toEqual([{ type: "log", level: "info", event: "task.lines_omitted", fields: { event: "task.retried", omitted: 299 - TASK_LINES_PER_STEP } }]);
    expect(state.job.retries).toBe(299);
  });
});
