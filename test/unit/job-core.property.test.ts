import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { JobSpec, type ChunkReport, type JobSpecInput, type TaskOutcome, type TopNEntry } from "../../schema";
import { createGrid } from "../../lib/grid";
import { d1Owed, initialState, isTerminal, restoreState, step, type CoreConfig, type FlushPlan, type JobEvent, type StepResult } from "../../durable-objects/job-core";
import type { ChunkRow, JobRow, JobState, TaskRow } from "../../durable-objects/job-state";
import { ranksBefore } from "../../durable-objects/top-n";
import { chunkTasks, type ChunkTask } from "../../worker/consumer/chunk-tasks";

/**
 * Thousands of random event sequences through the real job core, against an emulated SQLite (what
 * the shell persists) and an emulated D1 (the projection's upserts with their change-number and
 * metric-token guards). Restarts rebuild the core from the emulated SQLite alone.
 *
 * A failure prints fast-check's seed and path; replay it with FC_SEED=<seed> FC_PATH=<path> npx vitest run test/unit/job-core.property.test.ts.
 */

const RUNS = 2_500;

type Cmd =
  | { c: "dispatch" }
  | { c: "report"; pick: number; live: boolean; take: number; kinds: number[]; score: number; done: boolean; dup: boolean; wrongAttempt: boolean }
  | { c: "advance"; ms: number }
  | { c: "alarm" }
  | { c: "cancel" }
  | { c: "abandon"; pick: number }
  | { c: "flush"; outcome: "ok" | "fail" | "commitThenCrash" }
  | { c: "lateWrite"; pick: number }
  | { c: "restart" };

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ c: "dispatch" as const }) },
  {
    weight: 8,
    arbitrary: fc.record({
      c: fc.constant("report" as const),
      pick: fc.nat(),
      live: fc.boolean(),
      take: fc.nat({ max: 8 }),
      kinds: fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 8, maxLength: 8 }),
      score: fc.integer({ min: -5, max: 40 }),
      done: fc.boolean(),
      dup: fc.boolean(),
      wrongAttempt: fc.boolean(),
    }),
  },
  { weight: 3, arbitrary: fc.record({ c: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 400 }) }) },
  { weight: 3, arbitrary: fc.constant({ c: "alarm" as const }) },
  { weight: 1, arbitrary: fc.constant({ c: "cancel" as const }) },
  { weight: 1, arbitrary: fc.record({ c: fc.constant("abandon" as const), pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ c: fc.constant("flush" as const), outcome: fc.constantFrom("ok" as const, "ok" as const, "fail" as const, "commitThenCrash" as const) }) },
  { weight: 1, arbitrary: fc.record({ c: fc.constant("lateWrite" as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.constant({ c: "restart" as const }) },
);

interface Setup {
  spec: JobSpecInput;
  cfg: CoreConfig;
  sendFails: boolean[];
  capacity: number;
}

const setupArb: fc.Arbitrary<Setup> = fc
  .record({
    a: fc.integer({ min: 1, max: 12 }),
    b: fc.integer({ min: 1, max: 4 }),
    constrained: fc.boolean(),
    concurrencyLimit: fc.integer({ min: 1, max: 4 }),
    maxRetries: fc.integer({ min: 0, max: 3 }),
    topN: fc.integer({ min: 1, max: 5 }),
    earlyStop: fc.option(fc.integer({ min: 10, max: 45 }), { nil: undefined }),
    resultConstraint: fc.boolean(),
    maxChunkTasks: fc.integer({ min: 1, max: 6 }),
    minChunkMs: fc.integer({ min: 0, max: 20 }),
    maxRequeues: fc.integer({ min: 0, max: 2 }),
    metrics: fc.boolean(),
    sendFails: fc.array(fc.boolean(), { maxLength: 40 }),
    capacity: fc.integer({ min: 1, max: 8 }),
  })
  .map((r) => ({
    spec: {
      strategy: "synthetic",
      dataset: "sp500",
      params: { a: { min: 1, max: r.a, step: 1 }, b: { min: 1, max: r.b, step: 1 } },
      objective: { metric: "score", mode: "max" as const },
      concurrencyLimit: r.concurrencyLimit,
      maxRetries: r.maxRetries,
      topN: r.topN,
      ...(r.constrained ? { constraints: [{ left: "b", op: "<=" as const, right: "a" }] } : {}),
      ...(r.earlyStop !== undefined ? { earlyStopPolicy: { metric: "score", threshold: r.earlyStop, mode: "max" as const } } : {}),
      ...(r.resultConstraint ? { resultConstraints: [{ metric: "trades", op: ">=" as const, value: 1 }] } : {}),
    },
    cfg: {
      RETRY_BASE_MS: 10,
      RETRY_CAP_MS: 100,
      DISPATCH_LEASE_MS: 50,
      RUN_LEASE_MS: 30,
      TARGET_CHUNK_MS: 10,
      MIN_CHUNK_MS: r.minChunkMs,
      MAX_CHUNK_TASKS: r.maxChunkTasks,
      CHECKIN_MS: 5,
      D1_FLUSH_MS: 5,
      METRICS_ENABLED: r.metrics,
      MAX_REQUEUES: r.maxRequeues,
    },
    sendFails: r.sendFails,
    capacity: r.capacity,
  }));

/** What the shell keeps in SQLite: the job row, every task row, the chunk rows. */
interface Disk {
  job: string;
  tasks: Map<number, TaskRow>;
  chunks: Map<string, ChunkRow>;
}

/** What D1 holds after the projection's upserts. */
interface D1 {
  job: { change: number; counts: number[]; status: string } | null;
  tasks: Map<number, { change: number; status: string }>;
  flush: { seq: number; token: string } | null;
  counters: Map<string, number>;
}

const ERROR_KINDS = ["UpstreamError", "InternalError", "ParamInvalid"] as const;

function run(setup: Setup, cmds: Cmd[]): void {
  const spec = JobSpec.parse(setup.spec);
  const grid = createGrid(spec.params, spec.constraints);
  const total = grid.countAccepted();
  const cfg = setup.cfg;
  let now = 1_000_000;
  let seed = 1;
  let tokens = 0;
  let state: JobState = initialState({ jobId: "job", tenant: "t", spec, total, createdAt: new Date(now).toISOString() }, cfg);
  const disk: Disk = { job: JSON.stringify(state.job), tasks: new Map(), chunks: new Map() };
  const d1: D1 = { job: null, tasks: new Map(), flush: null, counters: new Map() };
  /** Chunks sent, with their tasks as the consumer enumerates them from the message. */
  const messages: { chunkId: string; tasks: ChunkTask[] }[] = [];
  /** Every D1 write the shell sent; one that "failed" may still land later, once. */
  const writes: { plan: FlushPlan; rows: { idx: number; change: number; status: string }[]; jobRow: D1["job"]; landed: boolean }[] = [];
  let sends = 0;
  let draining = false;
  let frozen: string | null = null;

  const save = (r: StepResult) => {
    for (const t of r.changes.tasks.values()) disk.tasks.set(t.idx, structuredClone(t));
    for (const [id, c] of r.changes.chunks) {
      if (c === null) disk.chunks.delete(id);
      else if (c.created) disk.chunks.set(id, structuredClone(c.row));
      else disk.chunks.set(id, { ...disk.chunks.get(id)!, leaseUntil: c.row.leaseUntil, started: c.row.started });
    }
    disk.job = JSON.stringify(state.job);
  };
  const apply = (event: JobEvent): StepResult => {
    const r = step(state, { ...event, now, seed: seed++ }, cfg);
    save(r);
    return r;
  };
  /** As the shell does after each event: claim and send, the Queue refusing some sends. */
  const send = (r: StepResult) => {
    for (const effect of r.effects) {
      if (effect.type !== "send") continue;
      const chunkIds = effect.messages.map((m) => m.chunkId);
      if (!draining && setup.sendFails[sends++ % Math.max(1, setup.sendFails.length)]) apply({ type: "sendFailed", chunkIds, message: "refused" });
      else {
        messages.push(...effect.messages.map((m) => ({ chunkId: m.chunkId, tasks: [...chunkTasks(m, grid)] })));
        apply({ type: "sent", chunkIds });
      }
    }
  };
  const dispatch = () => send(apply({ type: "dispatch" }));
  /** The state as the shell loads it from the disk: chunks name their running tasks, which have no row. */
  const fromDisk = (): JobState => {
    const job = JSON.parse(disk.job) as JobRow;
    const open = [...disk.tasks.values()].filter((t) => t.status === "running" || t.status === "queued").map((t) => structuredClone(t));
    const chunks = [...disk.chunks.values()].map((c) => structuredClone(c));
    const rowsInRanges = new Set([...disk.tasks.keys()].filter((idx) => chunks.some((c) => c.range && idx >= c.range.from && idx < c.range.to)));
    return restoreState(job, open, chunks, rowsInRanges);
  };
  const restart = () => {
    state = fromDisk();
  };
  const writeD1 = (w: (typeof writes)[number]) => {
    w.landed = true;
    if (w.jobRow && (!d1.job || w.jobRow.change > d1.job.change)) d1.job = w.jobRow;
    for (const row of w.rows) {
      const have = d1.tasks.get(row.idx);
      if (!have || row.change > have.change) d1.tasks.set(row.idx, { change: row.change, status: row.status });
    }
    const m = w.plan.metrics;
    if (m) {
      if (!d1.flush || m.seq > d1.flush.seq) d1.flush = { seq: m.seq, token: m.token };
      if (d1.flush.token === m.token) for (const s of m.samples) d1.counters.set(`${s.name}{${s.labels}}`, (d1.counters.get(`${s.name}{${s.labels}}`) ?? 0) + s.value);
    }
  };
  const flush = (outcome: "ok" | "fail" | "commitThenCrash") => {
    const dirty = [...disk.tasks.values()].filter((t) => t.dirty > state.job.d1TaskSeq).sort((a, b) => a.dirty - b.dirty).slice(0, setup.capacity);
    const plan = apply({ type: "flushBegin", taskSeq: dirty.at(-1)?.dirty ?? 0, room: setup.capacity - dirty.length, token: `t${++tokens}` }).flush;
    if (!plan) return;
    const job = state.job;
    const w = {
      plan: structuredClone(plan),
      rows: [...dirty.map((t) => ({ idx: t.idx, change: t.dirty, status: t.status })), ...plan.canceled.map((idx) => ({ idx, change: plan.changeSeq, status: "canceled" }))],
      jobRow:
        job.jobDirty > 0 || !job.d1Inserted
          ? { change: plan.changeSeq, status: job.status, counts: [job.succeeded, job.failed, job.canceled, job.running, job.retries] }
          : null,
      landed: false,
    };
    writes.push(w);
    if (outcome === "fail") return void apply({ type: "flushFailed", rows: w.rows.length, message: "down" });
    writeD1(w);
    if (outcome === "ok") apply({ type: "flushed", plan });
    else restart();
  };
  const report = (cmd: Extract<Cmd, { c: "report" }>) => {
    // Any message sent (most are stale after a while), or one of a chunk still in flight.
    const candidates = cmd.live ? messages.filter((x) => state.chunks.has(x.chunkId)) : messages;
    if (candidates.length === 0) return;
    const m = candidates[cmd.pick % candidates.length]!;
    const outcomes: TaskOutcome[] = m.tasks.slice(0, cmd.take).map((t, i) => {
      const kind = cmd.kinds[i % cmd.kinds.length]!;
      const attempt = cmd.wrongAttempt && i === 0 ? t.attempt + 1 : t.attempt;
      const score = (t.params.a as number) + (t.params.b as number) + (cmd.score % 7);
      return kind < 7
        ? { ok: true, index: t.index, attempt, metrics: { score, trades: kind % 3 }, resultSummaryId: null, queueWaitMs: 1, execMs: 1 + kind }
        : { ok: false, index: t.index, attempt, errorKind: ERROR_KINDS[kind - 7]!, errorMessage: "boom", queueWaitMs: 1, execMs: 2 };
    });
    const body: ChunkReport = { chunkId: m.chunkId, outcomes: cmd.dup ? [...outcomes, ...outcomes] : outcomes, done: cmd.done };
    const before = new Map([...state.open.values()].filter((t) => t.status === "running").map((t) => [t.idx, { attempt: t.attempt, chunkId: t.chunkId }]));
    const wasTerminal = isTerminal(state.job.status);
    const reported = apply({ type: "report", report: body });
    const ack = reported.ack!;
    // Exactly the outcomes for a running task of that chunk and attempt count, each once; an early
    // stop in this report ends the job, and the outcomes after it count no more.
    const expected = new Set(outcomes.filter((o) => before.get(o.index)?.attempt === o.attempt && before.get(o.index)?.chunkId === m.chunkId).map((o) => o.index));
    if (!wasTerminal && state.job.status === "early-stopped") expect(ack.accepted).toBeLessThanOrEqual(expected.size);
    else expect(ack.accepted).toBe(expected.size);
    // The report dispatched what it freed, in the same step.
    send(reported);
    dispatch();
  };

  /** What a restart would see of the open tasks and chunks: it must be the memory, field by field. */
  const openOf = (s: JobState) => ({
    open: [...s.open.values()].map((t) => [t.idx, t.status, t.attempt, t.retries, t.requeues, t.chunkId, t.retryAt, t.dirty, t.updatedAt]).sort((x, y) => (x[0] as number) - (y[0] as number)),
    waiting: [...s.waiting].sort((x, y) => x - y),
    chunks: [...s.chunks.values()].map((c) => [c.id, c.leaseUntil, c.started, [...c.tasks].sort((x, y) => x - y)]).sort(),
  });

  const check = () => {
    const job = state.job;
    const restored = fromDisk();
    expect(openOf(restored)).toEqual(openOf(state));
    // Every dispatched task as the disk holds it: its row, or, running, what its chunk's row names.
    // Claims write no row: the speed of a report rests on that.
    expect([...disk.tasks.values()].filter((t) => t.status === "running")).toEqual([]);
    const logical = new Map(disk.tasks);
    for (const t of restored.open.values()) if (t.status === "running") logical.set(t.idx, t);
    const rows = [...logical.values()];
    const by = (s: string) => rows.filter((t) => t.status === s).length;
    expect(job.succeeded + job.failed + job.canceled + job.running + (job.total - job.succeeded - job.failed - job.canceled - job.running)).toBe(total);
    expect(job.total - job.succeeded - job.failed - job.canceled - job.running).toBeGreaterThanOrEqual(0);
    expect(rows.length).toBe(job.dispatched);
    expect(job.succeeded).toBe(by("succeeded"));
    expect(job.failed).toBe(by("failed"));
    expect(job.running).toBe(by("running"));
    expect(job.running).toBe([...state.chunks.values()].reduce((n, c) => n + c.tasks.size, 0));
    expect(job.canceled).toBe(by("canceled") + (isTerminal(job.status) && job.status !== "succeeded" && job.status !== "failed" ? job.total - job.dispatched : 0));
    expect(job.retries).toBe(rows.reduce((n, t) => n + t.retries, 0));
    expect(state.chunks.size).toBeLessThanOrEqual(spec.concurrencyLimit);
    expect([...state.waiting].sort((x, y) => x - y)).toEqual([...state.open.values()].filter((t) => t.status === "queued").map((t) => t.idx).sort((x, y) => x - y));
    for (const t of rows) {
      expect(t.retries).toBeLessThanOrEqual(spec.maxRetries);
      // Every dispatched attempt is accounted once: ended (succeeded, failed), in flight, or charged as a retry.
      if (t.status === "queued") expect(t.attempt).toBe(t.retries);
      else if (t.status === "canceled") expect([t.retries, t.retries + 1]).toContain(t.attempt);
      else expect(t.attempt).toBe(t.retries + 1);
    }
    // The Top-N is the best accepted successes.
    const best = rows
      .filter((t) => t.status === "succeeded" && t.constraintsMet !== false && t.score !== null)
      .sort((x, y) => (ranksBefore({ score: x.score!, index: x.idx }, { score: y.score!, index: y.idx }, "max") ? -1 : 1))
      .slice(0, spec.topN);
    expect(job.topN.map((e: TopNEntry) => [e.index, e.score])).toEqual(best.map((t) => [t.idx, t.score]));
    // A terminal job never changes again.
    const summary = JSON.stringify([job.status, job.succeeded, job.failed, job.canceled, job.running, job.retries, job.topN, job.stopReason]);
    if (frozen !== null) expect(summary).toBe(frozen);
    else if (isTerminal(job.status)) frozen = summary;
  };

  dispatch();
  check();
  for (const cmd of cmds) {
    switch (cmd.c) {
      case "dispatch":
        dispatch();
        break;
      case "report":
        report(cmd);
        break;
      case "advance":
        now += cmd.ms;
        break;
      case "alarm":
        apply({ type: "alarm" });
        dispatch();
        break;
      case "cancel":
        apply({ type: "cancel", reason: "enough" });
        break;
      case "abandon":
        if (messages.length > 0) apply({ type: "abandoned", chunkId: messages[cmd.pick % messages.length]!.chunkId, reason: "dead-lettered" });
        dispatch();
        break;
      case "flush":
        flush(cmd.outcome);
        break;
      case "lateWrite": {
        // A write the shell took for failed lands late, after newer ones: D1 keeps the newer rows.
        const pending = writes.filter((w) => !w.landed);
        if (pending.length > 0) writeD1(pending[cmd.pick % pending.length]!);
        break;
      }
      case "restart":
        restart();
        break;
    }
    check();
  }
  // Drain as the shell's alarms would: a job that is not stopped runs to its end, then D1 catches up.
  draining = true;
  for (let i = 0; i < 2_000 && !isTerminal(state.job.status); i++) {
    // Past any backoff: a send pause or a retry's.
    now += 61_000;
    apply({ type: "alarm" });
    dispatch();
    for (const m of messages.splice(0)) {
      const outcomes: TaskOutcome[] = m.tasks.map((t) => ({ ok: true, index: t.index, attempt: t.attempt, metrics: { score: 0, trades: 1 }, resultSummaryId: null, queueWaitMs: 1, execMs: 1 }));
      send(apply({ type: "report", report: { chunkId: m.chunkId, outcomes, done: true } }));
      dispatch();
    }
    check();
  }
  expect(isTerminal(state.job.status)).toBe(true);
  for (let i = 0; i < 10_000 && d1Owed(state); i++) flush("ok");
  expect(d1Owed(state)).toBe(false);
  const job = state.job;
  expect(d1.job).toEqual({ change: expect.any(Number), status: job.status, counts: [job.succeeded, job.failed, job.canceled, 0, job.retries] });
  const d1By = (s: string) => [...d1.tasks.values()].filter((t) => t.status === s).length;
  expect([d1By("succeeded"), d1By("failed"), d1By("canceled"), d1.tasks.size]).toEqual([job.succeeded, job.failed, job.canceled, total]);
  if (cfg.METRICS_ENABLED) {
    // Metric increments reach D1 exactly once, through crashes and resends.
    const counter = (name: string) => d1.counters.get(name) ?? 0;
    expect(counter('optimizer_tasks_total{status="succeeded"}')).toBe(job.succeeded);
    expect(counter('optimizer_tasks_total{status="failed"}')).toBe(job.failed);
    expect(counter('optimizer_tasks_total{status="canceled"}')).toBe(job.canceled);
    expect(ERROR_KINDS.reduce((n, k) => n + counter(`job_retry_total{error_kind="${k}"}`), 0)).toBe(job.retries);
    expect(counter(`optimizer_jobs_total{status="${job.status}"}`)).toBe(1);
  } else expect(d1.counters.size).toBe(0);
}

describe("the job core under random event sequences", () => {
  it(`keeps its invariants over ${RUNS} sequences (restarts, D1 and Queue faults, stale and duplicate reports)`, () => {
    const seed = Number(env.FC_SEED) || undefined;
    const path = typeof env.FC_PATH === "string" && env.FC_PATH !== "" ? env.FC_PATH : undefined;
    fc.assert(
      fc.property(setupArb, fc.array(cmdArb, { maxLength: 80 }), (setup, cmds) => run(setup, cmds)),
      { numRuns: RUNS, ...(seed !== undefined ? { seed } : {}), ...(path !== undefined ? { path } : {}) },
    );
  });
});
