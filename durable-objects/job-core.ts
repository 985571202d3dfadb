import { TERMINAL_JOB_STATUSES, taskIdOf, type ChunkReport, type ErrorKind, type JobSpec, type JobStatus, type ReportAck, type StopReason, type TaskChunkMessage, type TaskOutcome } from "../schema";
import type { Config } from "../lib/config";
import { compare, createAdmittedGrid } from "../lib/grid";
import type { LogFields, LogLevel } from "../lib/log";
import { JOB_EXEC, JOB_RETRY, JOBS_ENDED, QUEUE_WAIT, TASKS_ENDED, histogramSeries, labelString } from "../lib/metrics/definitions";
import { retryDelayMs } from "./backoff";
import { nextChunkSize, updateAvgExecMs } from "./chunking";
import { freshTask, queuedOf, type Chunk, type ChunkRow, type JobRow, type JobState, type TaskRow } from "./job-state";
import { addMetric, cutBatch, confirmSent, emptyOutbox, type MetricBatch } from "./metric-outbox";
import { addToSketch, emptySketch } from "./sketch";
import { insertTopN, meetsThreshold } from "./top-n";

/**
 * The job's decisions as a pure step: (state, event) -> effects, with the changed rows for the shell
 * to persist. No I/O, no clock, no randomness but what the event carries: every event is stamped
 * with `now` and a `seed` for the retry jitter. The state object is the shell's in-memory copy and
 * is updated in place (copying a job's open tasks on every report would cost more than the report);
 * the shell saves `changes` with the job row in one transaction before it carries out `effects`.
 */

export type CoreConfig = Pick<
  Config,
  | "RETRY_BASE_MS"
  | "RETRY_CAP_MS"
  | "DISPATCH_LEASE_MS"
  | "RUN_LEASE_MS"
  | "TARGET_CHUNK_MS"
  | "MIN_CHUNK_MS"
  | "MAX_CHUNK_TASKS"
  | "CHECKIN_MS"
  | "D1_FLUSH_MS"
  | "METRICS_ENABLED"
  | "MAX_REQUEUES"
>;

export interface Stamp {
  now: number;
  seed: number;
}

export interface FlushPlan {
  /** Highest change number among the dirty task rows the shell read for this flush (0: none). */
  taskSeq: number;
  /** The job row's pending change number when planned, and the number D1 stores with it. */
  jobSeq: number;
  changeSeq: number;
  /** Never-dispatched tasks written as canceled rows: accepted indexes in [canceledFrom, canceledTo). */
  canceledFrom: number;
  canceledTo: number;
  canceled: number[];
  metrics: MetricBatch | null;
}

export type JobEvent =
  | { type: "dispatch" }
  | { type: "sent"; chunkIds: string[] }
  | { type: "materializeSent" }
  | { type: "sendFailed"; chunkIds: string[]; message: string }
  | { type: "report"; report: ChunkReport }
  | { type: "alarm" }
  | { type: "cancel"; reason: string | null; requestId?: string }
  | { type: "abandoned"; chunkId: string; reason: string }
  | { type: "flushBegin"; taskSeq: number; room: number; token: string }
  | { type: "flushed"; plan: FlushPlan }
  | { type: "flushFailed"; rows: number; message: string };

export type Effect =
  | { type: "send"; messages: TaskChunkMessage[] }
  | { type: "log"; level: LogLevel; event: string; fields: LogFields }
  | { type: "point"; point: { indexes: string[]; blobs: string[]; doubles: number[] } };

export interface Changes {
  tasks: Map<number, TaskRow>;
  /** Chunk rows to write (`created`: the whole row, else its lease and start), or null to delete. */
  chunks: Map<string, { row: ChunkRow; created: boolean } | null>;
  /** Whether the job row changed in a way D1 shows (else only bookkeeping changed). */
  jobVisible: boolean;
}

export interface StepResult {
  effects: Effect[];
  changes: Changes;
  ack?: ReportAck;
  cancel?: "canceled" | "already-canceled" | "conflict";
  flush?: FlushPlan;
}

export interface StartInput {
  jobId: string;
  tenant: string;
  spec: JobSpec;
  /** Accepted combinations, as the API counted them when it validated the spec. */
  total: number;
  createdAt: string;
  /** The HTTP request that submitted the job, for the logs. */
  requestId?: string;
}

/** A Queue message stays under 128 KB: a chunk's range is a few bytes, its re-dispatched tasks about 40 each. */
export const MAX_CHUNK_BYTES = 100_000;
const BYTES_PER_LISTED_TASK = 40;
/** Running tasks have a row in memory each: this bounds them whatever the chunk size and concurrency. */
export const MAX_RUNNING_TASKS = 16_384;

/**
 * Whether the running-task bound leaves room for a whole chunk: below it dispatch waits for reports
 * rather than send chunks cut to whatever one report freed (often a single task). Dispatch and the
 * alarm ask the same question, so a due retry never wakes a job that could not send it.
 */
const hasRoom = (job: JobRow, cfg: CoreConfig): boolean => MAX_RUNNING_TASKS - job.running >= Math.min(cfg.MAX_CHUNK_TASKS, MAX_RUNNING_TASKS / 4);
/** Lines of one per-task event a step logs in full (about 250 bytes each). */
export const TASK_LINES_PER_STEP = 20;
/** Backoff of D1 writes and Queue sends after failures. */
export const IO_BACKOFF = { baseMs: 1_000, capMs: 60_000 };

export const isTerminal = (status: JobStatus): boolean => TERMINAL_JOB_STATUSES.includes(status);

/** Deterministic jitter from the event's seed (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export function initialState(input: StartInput, cfg: CoreConfig): JobState {
  const grid = createAdmittedGrid(input.spec.params, input.spec.constraints);
  const job: JobRow = {
    id: input.jobId,
    tenant: input.tenant,
    spec: input.spec,
    total: input.total,
    status: "queued",
    nextIndex: grid.nextAccepted(0),
    dispatched: 0,
    d1CanceledFrom: grid.size,
    succeeded: 0,
    failed: 0,
    canceled: 0,
    running: 0,
    retries: 0,
    topN: [],
    stopReason: null,
    createdAt: input.createdAt,
    startedAt: null,
    finishedAt: null,
    avgExecMs: null,
    dispatchLeaseMs: cfg.DISPATCH_LEASE_MS,
    timings: { queueWait: emptySketch(), exec: emptySketch() },
    metrics: emptyOutbox(),
    chunkSeq: 0,
    changeSeq: 1,
    jobDirty: 1,
    taskChangeSeq: 0,
    d1TaskSeq: 0,
    d1Inserted: false,
    d1Failures: 0,
    d1RetryAt: 0,
    sendFailures: 0,
    sendPausedUntil: 0,
    materialize: null,
  };
  return { job, grid, open: new Map(), waiting: new Set(), chunks: new Map() };
}

/**
 * Rebuilds the in-memory state from persisted rows (a restart). Claiming writes no task row, so a
 * chunk's running tasks are what its row named less those with a row written since: an index of its
 * range with any row (an outcome, a retry charged), a listed retry whose row moved past the attempt
 * before the claim. `rowsInRanges`: the indexes in the chunks' ranges that have a task row. A store
 * before version 4 wrote running rows: those join their chunk as they are.
 */
export function restoreState(job: JobRow, open: TaskRow[], chunks: ChunkRow[], rowsInRanges: ReadonlySet<number>): JobState {
  const state: JobState = { job, grid: createAdmittedGrid(job.spec.params, job.spec.constraints), open: new Map(), waiting: new Set(), chunks: new Map() };
  for (const c of chunks) state.chunks.set(c.id, { ...c, tasks: new Set() });
  for (const t of open) {
    state.open.set(t.idx, t);
    if (t.status === "running" && t.chunkId !== null) state.chunks.get(t.chunkId)?.tasks.add(t.idx);
  }
  const run = (task: TaskRow, chunk: Chunk, attempt: number) => {
    task.status = "running";
    task.attempt = attempt;
    task.chunkId = chunk.id;
    task.retryAt = null;
    task.updatedAt = chunk.dispatchedAt;
    state.open.set(task.idx, task);
    chunk.tasks.add(task.idx);
  };
  for (const chunk of state.chunks.values()) {
    for (const { index, attempt } of chunk.listed) {
      const row = state.open.get(index);
      if (row?.status === "queued" && row.attempt === attempt - 1) run(row, chunk, attempt);
    }
    if (!chunk.range) continue;
    for (let idx = state.grid.nextAccepted(chunk.range.from); idx < chunk.range.to; idx = state.grid.nextAccepted(idx + 1)) {
      if (!rowsInRanges.has(idx)) run(freshTask(idx, "queued", chunk.dispatchedAt), chunk, 1);
    }
  }
  for (const t of state.open.values()) if (t.status === "queued") state.waiting.add(t.idx);
  return state;
}

/** Whether D1 is behind the job: its row, task rows, never-dispatched canceled rows or metric increments. */
export function d1Owed(state: JobState): boolean {
  const { job, grid } = state;
  const metricsPending = job.metrics.inflight !== null || Object.keys(job.metrics.pending).length > 0;
  return job.jobDirty > 0 || metricsPending || job.d1CanceledFrom < grid.size || job.taskChangeSeq > job.d1TaskSeq;
}

/** The one alarm: the earliest of a lease to check, a retry coming due with a free slot, a D1 write. */
export function nextAlarmAt(state: JobState, cfg: CoreConfig, now: number): number | null {
  const { job } = state;
  const times: number[] = [];
  if (!isTerminal(job.status)) {
    for (const c of state.chunks.values()) times.push(c.leaseUntil);
    // A retry coming due wakes the job only if dispatch could send it then (a free slot, room for rows).
    if (state.chunks.size < job.spec.concurrencyLimit && hasRoom(job, cfg)) {
      let retry = Infinity;
      for (const idx of state.waiting) {
        const t = state.open.get(idx)!;
        if (t.retryAt !== null && t.retryAt < retry) retry = t.retryAt;
      }
      if (retry < Infinity) times.push(Math.max(retry, job.sendPausedUntil));
    }
  }
  if (job.materialize !== null) times.push(Math.max(job.sendPausedUntil, now));
  if (d1Owed(state)) times.push(Math.max(job.d1RetryAt, now + (isTerminal(job.status) ? 0 : cfg.D1_FLUSH_MS)));
  return times.length === 0 ? null : Math.min(...times);
}

/** How long a consumer works before its next report: one DO takes about a thousand requests a second, so keep a job's to ~200. */
export const checkinMsFor = (spec: JobSpec, cfg: CoreConfig): number => Math.max(cfg.CHECKIN_MS, spec.concurrencyLimit * 5);

interface AttemptGroup {
  ok: boolean;
  kind: ErrorKind | "";
  count: number;
  queueWaitS: number;
  execS: number;
  best: number | null;
  maxAttempt: number;
}

export function step(state: JobState, event: JobEvent & Stamp, cfg: CoreConfig): StepResult {
  return new Transition(state, cfg, event).run(event);
}

class Transition {
  private readonly job: JobRow;
  private readonly result: StepResult;
  private readonly random: () => number;
  private readonly now: number;
  private isoNow: string | undefined;
  /** Per-task lines logged in this step, by event. */
  private readonly taskLines = new Map<string, { level: LogLevel; count: number }>();
  /** The step's reported attempts by error kind ("" for successes), for its Analytics Engine points. */
  private readonly attempts = new Map<ErrorKind | "", AttemptGroup>();

  constructor(
    private readonly state: JobState,
    private readonly cfg: CoreConfig,
    stamp: Stamp,
  ) {
    this.job = state.job;
    this.now = stamp.now;
    this.random = seededRandom(stamp.seed);
    this.result = { effects: [], changes: { tasks: new Map(), chunks: new Map(), jobVisible: false } };
  }

  run(event: JobEvent): StepResult {
    switch (event.type) {
      case "dispatch":
        this.dispatch();
        break;
      case "sent":
        if (this.job.sendFailures > 0) this.job.sendFailures = 0;
        break;
      case "materializeSent":
        this.job.materialize = null;
        this.job.sendFailures = 0;
        break;
      case "sendFailed":
        this.sendFailed(event.chunkIds, event.message);
        break;
      case "report":
        // What the report freed is dispatched in the same step: one transaction per report.
        this.report(event.report);
        this.dispatch();
        break;
      case "alarm":
        this.expireLeases();
        break;
      case "cancel":
        this.cancel(event.reason, event.requestId);
        break;
      case "abandoned":
        this.abandoned(event.chunkId, event.reason);
        break;
      case "flushBegin":
        this.flushBegin(event.taskSeq, event.room, event.token);
        break;
      case "flushed":
        this.flushed(event.plan);
        break;
      case "flushFailed":
        this.job.d1Failures++;
        this.job.d1RetryAt = this.now + retryDelayMs(this.job.d1Failures, IO_BACKOFF, this.random);
        this.log("error", "d1.flush_failed", { rows: event.rows, failures: this.job.d1Failures, message: event.message });
        break;
    }
    this.pointsOfAttempts();
    this.omittedTaskLines();
    if (this.result.changes.jobVisible) this.job.jobDirty = ++this.job.changeSeq;
    return this.result;
  }

  private report(report: ChunkReport): void {
    const job = this.job;
    const chunk = this.state.chunks.get(report.chunkId) ?? null;
    let accepted = 0;
    for (const outcome of report.outcomes) {
      const task = this.state.open.get(outcome.index);
      if (!task || task.status !== "running" || task.attempt !== outcome.attempt || task.chunkId !== report.chunkId) continue;
      accepted++;
      this.applyOutcome(task, outcome);
    }
    if (chunk && !isTerminal(job.status)) {
      if (report.done) {
        for (const idx of [...chunk.tasks]) this.failTask(this.state.open.get(idx)!, "InternalError", "the consumer ended the chunk without a result");
        this.deleteChunk(chunk);
      } else {
        if (!chunk.started) job.dispatchLeaseMs = this.cfg.DISPATCH_LEASE_MS;
        chunk.started = true;
        chunk.leaseUntil = this.now + this.cfg.RUN_LEASE_MS;
        this.putChunk(chunk);
      }
    }
    if (accepted > 0 || report.done) this.visible();
    this.completeIfDone();
    const current = chunk !== null && !isTerminal(job.status);
    this.result.ack = { continue: current, accepted, checkinMs: checkinMsFor(job.spec, this.cfg) };
    if (current && report.wantGrid) this.result.ack.grid = { params: job.spec.params, constraints: job.spec.constraints };
  }

  private applyOutcome(task: TaskRow, outcome: TaskOutcome): void {
    const job = this.job;
    task.queueWaitMs = outcome.queueWaitMs;
    task.execMs = outcome.execMs;
    job.avgExecMs = updateAvgExecMs(job.avgExecMs, outcome.execMs);
    this.recordAttempt(task, outcome);
    if (!outcome.ok) {
      this.failTask(task, outcome.errorKind, outcome.errorMessage);
      return;
    }
    const { objective, earlyStopPolicy, topN, resultConstraints } = job.spec;
    const score = outcome.metrics[objective.metric];
    const met = resultConstraints.every((c) => {
      const value = outcome.metrics[c.metric];
      return value !== undefined && Number.isFinite(value) && compare(value, c.op, c.value);
    });
    this.leaveChunk(task);
    task.status = "succeeded";
    task.metrics = outcome.metrics;
    task.resultSummaryId = outcome.resultSummaryId;
    task.score = Number.isFinite(score) ? score! : null;
    task.constraintsMet = resultConstraints.length > 0 ? met : null;
    task.errorKind = null;
    task.errorMessage = null;
    this.touch(task);
    job.running--;
    job.succeeded++;
    this.count(TASKS_ENDED.name, { status: "succeeded" });
    this.taskLog("debug", "task.succeeded", { taskId: taskIdOf(job.id, task.idx), attempt: task.attempt, execMs: outcome.execMs, score: task.score });
    // A result breaking a result constraint is kept, but neither ranks nor stops the job.
    if (!met) return;
    if (task.score !== null) {
      const entry = {
        taskId: taskIdOf(job.id, task.idx),
        index: task.idx,
        params: this.state.grid.paramsAt(task.idx),
        score: task.score,
        metrics: outcome.metrics,
        resultSummaryId: outcome.resultSummaryId,
      };
      const next = insertTopN(job.topN, entry, topN, objective.mode);
      if (next) job.topN = next;
    }
    const value = earlyStopPolicy ? outcome.metrics[earlyStopPolicy.metric] : undefined;
    if (earlyStopPolicy && value !== undefined && Number.isFinite(value) && meetsThreshold(value, earlyStopPolicy.threshold, earlyStopPolicy.mode)) {
      this.stop("early-stopped", { kind: "early-stop", ...earlyStopPolicy, value, taskId: taskIdOf(job.id, task.idx), at: this.iso() });
    }
  }

  /** A failed attempt: ParamInvalid or an exhausted budget fails the task, anything else waits for a retry. */
  private failTask(task: TaskRow, kind: ErrorKind, message: string, final = false): void {
    const job = this.job;
    if (task.status === "running") job.running--;
    this.leaveChunk(task);
    task.errorKind = kind;
    task.errorMessage = message.slice(0, 1_000);
    const fields = { taskId: taskIdOf(job.id, task.idx), attempt: task.attempt, errorKind: kind };
    if (final || kind === "ParamInvalid" || task.retries >= job.spec.maxRetries) {
      task.status = "failed";
      task.retryAt = null;
      job.failed++;
      this.count(TASKS_ENDED.name, { status: "failed" });
      this.taskLog("warn", "task.failed", { ...fields, retries: task.retries, message: task.errorMessage });
    } else {
      task.retries++;
      job.retries++;
      this.count(JOB_RETRY.name, { error_kind: kind });
      task.status = "queued";
      task.retryAt = this.now + retryDelayMs(task.retries, { baseMs: this.cfg.RETRY_BASE_MS, capMs: this.cfg.RETRY_CAP_MS }, this.random);
      this.taskLog("info", "task.retried", { ...fields, retries: task.retries, retryInMs: task.retryAt - this.now });
    }
    this.touch(task);
  }

  /**
   * Ends the job now: nothing more is dispatched, every unfinished task is canceled, the summary
   * freezes. Never-dispatched tasks have no row to change, so a stop costs the open tasks only; D1
   * gets their canceled rows in the following flushes.
   */
  private stop(status: "early-stopped" | "canceled", stopReason: StopReason): void {
    const job = this.job;
    for (const task of [...this.state.open.values()]) {
      task.status = "canceled";
      task.chunkId = null;
      task.retryAt = null;
      this.touch(task);
    }
    for (const chunk of [...this.state.chunks.values()]) this.deleteChunk(chunk);
    job.d1CanceledFrom = job.nextIndex;
    job.running = 0;
    this.count(TASKS_ENDED.name, { status: "canceled" }, job.total - job.succeeded - job.failed - job.canceled);
    job.canceled = job.total - job.succeeded - job.failed;
    this.finish(status, stopReason);
  }

  private cancel(reason: string | null, requestId?: string): void {
    const job = this.job;
    if (job.status === "canceled") this.result.cancel = "already-canceled";
    else if (isTerminal(job.status)) this.result.cancel = "conflict";
    else {
      this.log("info", "job.cancel_requested", { requestId, reason });
      this.stop("canceled", { kind: "cancel", reason, at: this.iso() });
      this.result.cancel = "canceled";
    }
  }

  private completeIfDone(): void {
    const job = this.job;
    if (isTerminal(job.status) || job.dispatched < job.total || job.running > 0 || queuedOf(job) > 0) return;
    this.finish(job.succeeded > 0 ? "succeeded" : "failed", null);
  }

  private finish(status: JobStatus, stopReason: StopReason | null): void {
    const job = this.job;
    job.status = status;
    job.stopReason = stopReason;
    job.finishedAt = this.iso();
    // The best results should open at once: the shell asks the consumer to store their details.
    if (job.topN.length > 0) job.materialize = job.topN.map((e) => e.index);
    this.visible();
    this.count(JOBS_ENDED.name, { status });
    const event = status === "early-stopped" ? "job.early_stopped" : status === "canceled" ? "job.canceled" : "job.ended";
    this.log("info", event, { status, succeeded: job.succeeded, failed: job.failed, canceled: job.canceled, retries: job.retries });
  }

  /**
   * A started chunk past its lease had a consumer that went silent: its tasks fail that attempt. A
   * chunk never started was only waiting in the queue: it goes back in line without a retry charged
   * (its message, if it is ever delivered, finds the chunk gone and is skipped), up to MAX_REQUEUES
   * times: a message that never starts (one the consumer cannot read) must not hold the job forever.
   */
  private expireLeases(): void {
    const job = this.job;
    if (isTerminal(job.status)) return;
    for (const chunk of [...this.state.chunks.values()]) {
      if (chunk.leaseUntil > this.now) continue;
      this.visible();
      this.log("warn", "chunk.lease_expired", { chunkId: chunk.id, tasks: chunk.tasks.size, started: chunk.started });
      if (chunk.started) {
        for (const idx of [...chunk.tasks]) this.failTask(this.state.open.get(idx)!, "InternalError", "lease expired: the consumer did not report in time");
        this.deleteChunk(chunk);
        continue;
      }
      // The queue is backed up: wait longer for the next chunks rather than resend them at the same pace.
      job.dispatchLeaseMs = Math.min(job.dispatchLeaseMs * 2, this.cfg.DISPATCH_LEASE_MS * 16);
      for (const idx of [...chunk.tasks]) {
        const task = this.state.open.get(idx)!;
        if (task.requeues >= this.cfg.MAX_REQUEUES) {
          const message = `dispatched ${task.requeues + 1} times and never started by a consumer: its message may be unreadable by the consumer (a deploy that changed the message format, or a consumer that drops it)`;
          this.failTask(task, "InternalError", message, true);
        } else {
          task.requeues++;
          this.release(task);
        }
      }
      this.deleteChunk(chunk);
    }
    this.completeIfDone();
  }

  /**
   * A chunk whose message will never run (the dead-letter queue got it, or the consumer could not
   * read it): its running tasks fail that attempt, and are retried as usual.
   */
  private abandoned(chunkId: string, reason: string): void {
    const chunk = this.state.chunks.get(chunkId);
    if (!chunk || isTerminal(this.job.status)) return;
    this.log("error", "chunk.abandoned", { chunkId, tasks: chunk.tasks.size, reason });
    for (const idx of [...chunk.tasks]) this.failTask(this.state.open.get(idx)!, "InternalError", reason);
    this.deleteChunk(chunk);
    this.visible();
    this.completeIfDone();
  }

  /** A refused send puts its chunks back in line without a retry charged, and pauses dispatch for a growing while. */
  private sendFailed(chunkIds: string[], message: string): void {
    const job = this.job;
    job.sendFailures++;
    job.sendPausedUntil = this.now + retryDelayMs(job.sendFailures, IO_BACKOFF, this.random);
    this.log("error", "queue.send_failed", { chunks: chunkIds.length, failures: job.sendFailures, message });
    if (isTerminal(job.status)) return;
    for (const id of chunkIds) {
      const chunk = this.state.chunks.get(id);
      if (!chunk) continue;
      for (const idx of [...chunk.tasks]) this.release(this.state.open.get(idx)!);
      this.deleteChunk(chunk);
    }
    this.visible();
  }

  /** A running task back in line without a retry charged: its attempt number is given back. */
  private release(task: TaskRow): void {
    this.leaveChunk(task);
    task.status = "queued";
    task.attempt--;
    task.retryAt = Math.max(this.now + this.cfg.RETRY_BASE_MS, this.job.sendPausedUntil);
    this.job.running--;
    this.touch(task);
  }

  /**
   * Claims chunks under the concurrency limit (due retries first, then a range of never-dispatched
   * indexes); the shell sends them. A message names its tasks by index only.
   */
  private dispatch(): void {
    const job = this.job;
    if (isTerminal(job.status) || this.now < job.sendPausedUntil) return;
    const cfg = this.cfg;
    let freeSlots = job.spec.concurrencyLimit - this.state.chunks.size;
    if (freeSlots <= 0) return;
    const messages: TaskChunkMessage[] = [];
    const due = Array.from(this.state.waiting, (idx) => this.state.open.get(idx)!)
      .filter((t) => t.retryAt !== null && t.retryAt <= this.now)
      .sort((a, b) => a.retryAt! - b.retryAt! || a.idx - b.idx);
    let nextDue = 0;
    while (freeSlots > 0 && hasRoom(job, cfg)) {
      const remaining = due.length - nextDue + (job.total - job.dispatched);
      if (remaining === 0) break;
      const sized = nextChunkSize({
        avgExecMs: job.avgExecMs,
        targetChunkMs: cfg.TARGET_CHUNK_MS,
        minChunkMs: cfg.MIN_CHUNK_MS,
        maxChunkTasks: cfg.MAX_CHUNK_TASKS,
        remaining,
        freeSlots,
      });
      const size = Math.min(sized, MAX_RUNNING_TASKS - job.running);
      const chunk: Chunk = {
        id: `c${++job.chunkSeq}`,
        leaseUntil: this.now + job.dispatchLeaseMs,
        started: false,
        range: null,
        listed: [],
        dispatchedAt: this.iso(),
        tasks: new Set(),
      };
      // A task the queue outwaited before waits longer each time, whatever other chunks did meanwhile:
      // a backlog delays it, and only a message that never starts exhausts MAX_REQUEUES.
      const leaseFor = (task: TaskRow) => {
        const lease = this.now + Math.max(job.dispatchLeaseMs, cfg.DISPATCH_LEASE_MS * 2 ** Math.min(task.requeues, 4));
        if (lease > chunk.leaseUntil) chunk.leaseUntil = lease;
      };
      const message: TaskChunkMessage = {
        v: 1,
        jobId: job.id,
        tenant: job.tenant,
        chunkId: chunk.id,
        strategy: job.spec.strategy,
        dataset: job.spec.dataset,
        options: { feeBps: job.spec.feeBps, slippageBps: job.spec.slippageBps, execution: job.spec.execution },
        enqueuedAt: this.now,
        tasks: [],
      };
      // No row is written: the chunk's row names its tasks (see restoreState), a task's first row is its outcome.
      const claim = (task: TaskRow) => {
        task.status = "running";
        task.attempt++;
        task.chunkId = chunk.id;
        task.retryAt = null;
        task.updatedAt = chunk.dispatchedAt;
        chunk.tasks.add(task.idx);
        leaseFor(task);
        this.state.open.set(task.idx, task);
        this.state.waiting.delete(task.idx);
        job.running++;
      };
      let claimed = 0;
      while (nextDue < due.length && claimed < size && message.tasks.length * BYTES_PER_LISTED_TASK < MAX_CHUNK_BYTES) {
        const task = due[nextDue++]!;
        claim(task);
        claimed++;
        message.tasks.push({ index: task.idx, attempt: task.attempt });
      }
      if (claimed < size && job.dispatched < job.total) {
        const from = job.nextIndex;
        let last = from;
        while (claimed < size && job.dispatched < job.total) {
          last = job.nextIndex;
          claim(freshTask(last, "queued", this.iso()));
          claimed++;
          job.dispatched++;
          job.nextIndex = this.state.grid.nextAccepted(last + 1);
        }
        message.range = { from, to: last + 1 };
      }
      chunk.range = message.range ?? null;
      chunk.listed = message.tasks;
      this.state.chunks.set(chunk.id, chunk);
      this.putChunk(chunk, true);
      messages.push(message);
      freeSlots--;
    }
    if (messages.length === 0) return;
    if (job.status === "queued") {
      job.status = "running";
      job.startedAt = this.iso();
      this.log("info", "job.started", { concurrencyLimit: job.spec.concurrencyLimit });
    }
    for (const m of messages) this.log("debug", "chunk.dispatched", { chunkId: m.chunkId, from: m.range?.from ?? null, to: m.range?.to ?? null, listed: m.tasks.length });
    this.visible();
    this.result.effects.push({ type: "send", messages });
  }

  /**
   * Plans one D1 write: the dirty task rows the shell read (up to `taskSeq`), canceled rows for
   * never-dispatched tasks in the room left, and the metric batch, cut here so that the shell saves
   * the cut with the job before D1 sees it: a restart then resends the same numbered batch.
   */
  private flushBegin(taskSeq: number, room: number, token: string): void {
    const { job, grid } = this.state;
    const canceledFrom = job.d1CanceledFrom;
    const canceled: number[] = [];
    let canceledTo = grid.nextAccepted(canceledFrom);
    for (; canceledTo < grid.size && canceled.length < room; canceledTo = grid.nextAccepted(canceledTo + 1)) canceled.push(canceledTo);
    const metrics = cutBatch(job.metrics, token);
    if (taskSeq === 0 && canceled.length === 0 && job.jobDirty === 0 && !metrics && job.d1Inserted) return;
    this.result.flush = { taskSeq, jobSeq: job.jobDirty, changeSeq: job.changeSeq, canceledFrom, canceledTo, canceled, metrics };
  }

  private flushed(plan: FlushPlan): void {
    const job = this.job;
    job.d1Failures = 0;
    job.d1RetryAt = 0;
    job.d1Inserted = true;
    // A change to the job during the write has a newer number and stays owed.
    if (job.jobDirty === plan.jobSeq) job.jobDirty = 0;
    // A stop during the write moves d1CanceledFrom: only a plan that saw it unchanged advances it.
    if (job.d1CanceledFrom === plan.canceledFrom) job.d1CanceledFrom = plan.canceledTo;
    if (plan.metrics) confirmSent(job.metrics, plan.metrics.seq);
    if (plan.taskSeq > job.d1TaskSeq) job.d1TaskSeq = plan.taskSeq;
  }

  /** Timings for the job's stats, histograms for /metrics, and one Analytics Engine point per attempt. */
  private recordAttempt(task: TaskRow, outcome: TaskOutcome): void {
    const job = this.job;
    addToSketch(job.timings.queueWait, outcome.queueWaitMs);
    addToSketch(job.timings.exec, outcome.execMs);
    if (!this.cfg.METRICS_ENABLED) return;
    for (const [def, ms] of [[QUEUE_WAIT, outcome.queueWaitMs], [JOB_EXEC, outcome.execMs]] as const) {
      for (const { key, add } of histogramSeries(def, ms / 1000)) addMetric(job.metrics, key, add);
    }
    const score = outcome.ok ? outcome.metrics[job.spec.objective.metric] : undefined;
    const kind = outcome.ok ? "" : outcome.errorKind;
    let group = this.attempts.get(kind);
    if (!group) {
      group = { ok: outcome.ok, kind, count: 0, queueWaitS: 0, execS: 0, best: null, maxAttempt: 0 };
      this.attempts.set(kind, group);
    }
    group.count++;
    group.queueWaitS += outcome.queueWaitMs / 1000;
    group.execS += outcome.execMs / 1000;
    if (score !== undefined && Number.isFinite(score) && (group.best === null || (job.spec.objective.mode === "max" ? score > group.best : score < group.best))) group.best = score;
    if (task.attempt > group.maxAttempt) group.maxAttempt = task.attempt;
  }

  /**
   * One Analytics Engine point per kind of outcome in the step, not one per attempt: a Worker
   * invocation may write 250 points (one more throws), and a report carries up to thousands.
   */
  private pointsOfAttempts(): void {
    const job = this.job;
    for (const g of this.attempts.values()) {
      this.result.effects.push({
        type: "point",
        point: {
          indexes: [job.id],
          blobs: [g.ok ? "tasks.succeeded" : "tasks.failed", g.ok ? "succeeded" : "failed", job.spec.strategy, job.tenant, g.kind],
          doubles: [g.count, g.queueWaitS, g.execS, g.best ?? 0, g.maxAttempt],
        },
      });
    }
  }

  private count(name: string, labels: Record<string, string>, add = 1): void {
    if (!this.cfg.METRICS_ENABLED || add === 0) return;
    addMetric(this.job.metrics, { name, labels: labelString(labels) }, add);
  }

  private leaveChunk(task: TaskRow): void {
    if (task.chunkId !== null) this.state.chunks.get(task.chunkId)?.tasks.delete(task.idx);
    task.chunkId = null;
  }

  /** A new chunk's row is written whole; later changes are its lease and start only. */
  private putChunk(chunk: Chunk, created = false): void {
    const { tasks: _tasks, ...row } = chunk;
    const pending = this.result.changes.chunks.get(chunk.id);
    this.result.changes.chunks.set(chunk.id, { row, created: created || (pending?.created ?? false) });
  }

  private deleteChunk(chunk: Chunk): void {
    this.state.chunks.delete(chunk.id);
    this.result.changes.chunks.set(chunk.id, null);
  }

  /** Records a task row's change; a row that reached a terminal status leaves the open set. */
  private touch(task: TaskRow): void {
    task.dirty = this.job.taskChangeSeq = ++this.job.changeSeq;
    task.updatedAt = this.iso();
    if (task.status === "running" || task.status === "queued") this.state.open.set(task.idx, task);
    else this.state.open.delete(task.idx);
    if (task.status === "queued") this.state.waiting.add(task.idx);
    else this.state.waiting.delete(task.idx);
    this.result.changes.tasks.set(task.idx, task);
  }

  private visible(): void {
    this.result.changes.jobVisible = true;
  }

  private log(level: LogLevel, event: string, fields: LogFields): void {
    this.result.effects.push({ type: "log", level, event, fields });
  }

  /**
   * A line about one task, up to TASK_LINES_PER_STEP of an event a step, then one line counting the
   * rest: Workers Logs keep 256 KB an invocation, and a report may fail thousands of tasks.
   */
  private taskLog(level: LogLevel, event: string, fields: LogFields): void {
    const seen = this.taskLines.get(event) ?? { level, count: 0 };
    seen.count++;
    this.taskLines.set(event, seen);
    if (seen.count <= TASK_LINES_PER_STEP) this.log(level, event, fields);
  }

  private omittedTaskLines(): void {
    for (const [event, { level, count }] of this.taskLines) {
      if (count > TASK_LINES_PER_STEP) this.log(level, "task.lines_omitted", { event, omitted: count - TASK_LINES_PER_STEP });
    }
  }

  /** The step's time as an ISO string, formatted once: a report stamps every row it changes. */
  private iso(): string {
    return (this.isoNow ??= new Date(this.now).toISOString());
  }
}
