import { DurableObject } from "cloudflare:workers";
import {
  TERMINAL_JOB_STATUSES,
  taskIdOf,
  type ChunkReport,
  type ErrorKind,
  type Job,
  type JobSpec,
  type JobStatus,
  type ListTasksQuery,
  type Page,
  type ReportAck,
  type StopReason,
  type Task,
  type TaskChunkMessage,
  type TaskOutcome,
} from "../schema";
import { loadConfig, type Config } from "../lib/config";
import type { SharedEnv } from "../lib/env";
import { createLogger, type Logger } from "../lib/log";
import { retryDelayMs } from "./backoff";
import { nextChunkSize, packSendBatches, updateAvgExecMs } from "./chunking";
import { jobUpsert, metricUpserts, STATEMENTS_PER_BATCH, TASK_ROWS_PER_STATEMENT, taskUpserts } from "./d1-projection";
import { compare, createGrid, type Grid } from "../lib/grid";
import { jobView, taskView } from "./job-view";
import { JobStore, queuedOf, type ChunkRow, type JobRow, type TaskRow } from "./job-store";
import { JOB_EXEC, JOB_RETRY, JOBS_ENDED, QUEUE_WAIT, TASKS_ENDED, histogramSeries, labelString, type SeriesKey } from "../lib/metrics/definitions";
import { addMetric, batchToSend, confirmSent, emptyOutbox } from "./metric-outbox";
import { addToSketch, emptySketch } from "./sketch";
import { insertTopN, meetsThreshold } from "./top-n";

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

export type CancelResult =
  | { outcome: "canceled" | "already-canceled"; job: Job }
  | { outcome: "conflict"; job: Job }
  | { outcome: "not-found" };

/** A Queue message stays under 128 KB; params are the bulk of it. */
const MAX_CHUNK_BYTES = 100_000;
/** Backoff of D1 writes after failures. */
const D1_RETRY = { baseMs: 1_000, capMs: 60_000 };
/** Grid indexes one page of the task list may scan for never-dispatched tasks. */
const MAX_SCAN_PER_PAGE = 100_000;
/** Flush passes one call makes before leaving the rest to the next alarm. */
const MAX_FLUSH_PASSES = 40;

export const isTerminal = (status: JobStatus): boolean => TERMINAL_JOB_STATUSES.includes(status);

/**
 * One optimization job, its single writer: task state in SQLite, the concurrency semaphore
 * (chunks in flight), dispatch with leases, retries with backoff, Top-N, early stop, cancel,
 * and the D1 projection. One alarm covers the earliest lease, due retry and pending D1 flush.
 */
export class OptimizationJob extends DurableObject<SharedEnv> {
  /** Seams for fault-injection tests: the clock, jitter, the Queue producer and D1 writes. */
  now: () => number = () => Date.now();
  random: () => number = () => Math.random();
  sendChunks: (messages: TaskChunkMessage[]) => Promise<void> = (messages) => this.sendToQueue(messages);
  /** Where Analytics Engine points go (absent binding: nowhere). */
  writeDataPoint: (point: AnalyticsEngineDataPoint) => void = (point) => this.env.ANALYTICS?.writeDataPoint(point);
  /** Seam for fault-injection tests: how the D1 projection's batches are written. */
  writeD1: (statements: D1PreparedStatement[]) => Promise<unknown> = (statements) => this.env.DB.batch(statements);

  private readonly config: Config;
  private readonly store: JobStore;
  private job: JobRow | null;
  private grid: Grid | null;
  private log: Logger;
  private flushChain: Promise<void> = Promise.resolve();
  /** D1 writes failed in a row, and when the next may be tried. In memory: a restart tries at once. */
  private d1Failures = 0;
  private d1RetryAt = 0;

  constructor(ctx: DurableObjectState, env: SharedEnv) {
    super(ctx, env);
    this.config = loadConfig(env);
    this.store = new JobStore(ctx.storage.sql);
    this.job = this.store.loadJob();
    this.grid = this.job ? createGrid(this.job.spec.params, this.job.spec.constraints) : null;
    this.log = this.jobLogger();
  }

  /** Records the job and starts dispatching. Idempotent: a repeated start returns the job as it is. */
  async start(input: StartInput): Promise<Job> {
    if (!this.job) {
      const grid = createGrid(input.spec.params, input.spec.constraints);
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
        dispatchLeaseMs: this.config.DISPATCH_LEASE_MS,
        timings: { queueWait: emptySketch(), exec: emptySketch() },
        metrics: emptyOutbox(),
        chunkSeq: 0,
        changeSeq: 1,
        jobDirty: 1,
      };
      this.store.createSchema();
      this.store.insertJob(job);
      this.job = job;
      this.grid = grid;
      this.log = this.jobLogger();
      this.log.info("job.submitted", { total: job.total, strategy: job.spec.strategy, dataset: job.spec.dataset, requestId: input.requestId });
      await this.flushD1();
      await this.dispatch();
      await this.scheduleAlarm();
    }
    return jobView(this.job!, this.now());
  }

  async status(): Promise<Job | null> {
    return this.job ? jobView(this.job!, this.now()) : null;
  }

  async cancel(reason?: string, requestId?: string): Promise<CancelResult> {
    const job = this.job;
    if (!job) return { outcome: "not-found" };
    if (job.status === "canceled") return { outcome: "already-canceled", job: jobView(this.job!, this.now()) };
    if (isTerminal(job.status)) return { outcome: "conflict", job: jobView(this.job!, this.now()) };
    const at = new Date(this.now()).toISOString();
    this.log.info("job.cancel_requested", { requestId, reason: reason ?? null });
    this.mutate(() => this.stop("canceled", { kind: "cancel", reason: reason ?? null, at }));
    await this.scheduleAlarm();
    return { outcome: "canceled", job: jobView(this.job!, this.now()) };
  }

  /** Tasks in grid order; those never dispatched are listed from the grid. */
  async listTasks(query: ListTasksQuery): Promise<Page<Task> | null> {
    const job = this.job;
    if (!job) return null;
    const after = query.cursor === undefined ? -1 : Number(query.cursor);
    const items = this.store.listTasks(after, query.limit, query.status).map((t) => taskView(this.job!, this.grid!, t));
    const undispatched = this.undispatchedStatus();
    let scannedTo: number | null = null;
    if (items.length < query.limit && (query.status === undefined || query.status === undispatched)) {
      // Constraints can leave long runs of rejected indexes: a page scans a bounded stretch of grid.
      const grid = this.grid!;
      const from = Math.max(after + 1, job.nextIndex);
      const end = Math.min(grid.size, from + MAX_SCAN_PER_PAGE);
      let idx = from;
      for (; idx < end && items.length < query.limit; idx++) {
        if (grid.accepts(idx)) items.push(taskView(this.job!, this.grid!, this.freshTask(idx, undispatched)));
      }
      if (idx < grid.size && items.length < query.limit) scannedTo = idx - 1;
    }
    const last = items.at(-1);
    const cursor = scannedTo ?? (last !== undefined && items.length === query.limit ? last.index : null);
    return { items, nextCursor: cursor === null ? null : String(cursor) };
  }

  /** Results of a chunk (a partial report every ~100 ms of work, and a last one with `done`). */
  async report(report: ChunkReport): Promise<ReportAck> {
    if (!this.job) return { continue: false, accepted: 0, checkinMs: this.config.CHECKIN_MS };
    const { accepted, current } = this.mutate(() => this.applyReport(report), report.outcomes.length > 0 || report.done);
    await this.dispatch();
    await this.scheduleAlarm();
    // One DO takes on the order of a thousand requests a second: keep a job's reports to about 200.
    const checkinMs = Math.max(this.config.CHECKIN_MS, this.job.spec.concurrencyLimit * 5);
    return { continue: current && !isTerminal(this.job.status), accepted, checkinMs };
  }

  override async alarm(): Promise<void> {
    if (!this.job) return;
    try {
      const expired = this.store.expiredChunks(this.now());
      if (expired.length > 0) this.mutate(() => this.expireLeases(expired));
      await this.dispatch();
      if (this.now() >= this.d1RetryAt) await this.flushD1();
    } finally {
      // Whatever failed above, the job keeps an alarm for its leases, retries and D1 writes.
      await this.scheduleAlarm();
    }
  }

  private applyReport(report: ChunkReport): { accepted: number; current: boolean } {
    const job = this.job!;
    const chunk = this.store.getChunk(report.chunkId);
    let accepted = 0;
    for (const outcome of report.outcomes) {
      const task = this.store.getTask(outcome.index);
      if (!task || task.status !== "running" || task.attempt !== outcome.attempt || task.chunkId !== report.chunkId) continue;
      accepted++;
      this.applyOutcome(task, outcome);
    }
    if (chunk && !isTerminal(job.status)) {
      if (report.done) {
        for (const task of this.store.runningInChunk(chunk.id)) this.failTask(task, "InternalError", "the consumer ended the chunk without a result");
        this.store.deleteChunk(chunk.id);
      } else {
        if (!chunk.started) job.dispatchLeaseMs = this.config.DISPATCH_LEASE_MS;
        this.store.renewChunk(chunk.id, this.now() + this.config.RUN_LEASE_MS);
      }
    }
    this.completeIfDone();
    return { accepted, current: chunk !== null };
  }

  private applyOutcome(task: TaskRow, outcome: TaskOutcome): void {
    const job = this.job!;
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
    task.status = "succeeded";
    task.chunkId = null;
    task.metrics = outcome.metrics;
    task.resultSummaryId = outcome.resultSummaryId;
    task.score = Number.isFinite(score) ? score! : null;
    task.constraintsMet = resultConstraints.length > 0 ? met : null;
    task.errorKind = null;
    task.errorMessage = null;
    this.touch(task);
    job.running--;
    job.succeeded++;
    this.count(TASKS_ENDED, { status: "succeeded" });
    this.log.debug("task.succeeded", { taskId: taskIdOf(job.id, task.idx), attempt: task.attempt, execMs: outcome.execMs, score: task.score });
    // A result breaking a result constraint is kept, but neither ranks nor stops the job.
    if (!met) return;
    if (task.score !== null) {
      const entry = {
        taskId: taskIdOf(job.id, task.idx),
        index: task.idx,
        params: this.grid!.paramsAt(task.idx),
        score: task.score,
        metrics: outcome.metrics,
        resultSummaryId: outcome.resultSummaryId,
      };
      const next = insertTopN(job.topN, entry, topN, objective.mode);
      if (next) job.topN = next;
    }
    const value = earlyStopPolicy ? outcome.metrics[earlyStopPolicy.metric] : undefined;
    if (earlyStopPolicy && value !== undefined && Number.isFinite(value) && meetsThreshold(value, earlyStopPolicy.threshold, earlyStopPolicy.mode)) {
      this.stop("early-stopped", {
        kind: "early-stop",
        ...earlyStopPolicy,
        value,
        taskId: taskIdOf(job.id, task.idx),
        at: new Date(this.now()).toISOString(),
      });
    }
  }

  /** A failed attempt: ParamInvalid or an exhausted budget fails the task, anything else waits for a retry. */
  private failTask(task: TaskRow, kind: ErrorKind, message: string): void {
    const job = this.job!;
    const wasRunning = task.status === "running";
    task.errorKind = kind;
    task.errorMessage = message.slice(0, 1_000);
    task.chunkId = null;
    if (wasRunning) job.running--;
    const fields = { taskId: taskIdOf(job.id, task.idx), attempt: task.attempt, errorKind: kind };
    if (kind === "ParamInvalid" || task.retries >= job.spec.maxRetries) {
      task.status = "failed";
      task.retryAt = null;
      job.failed++;
      this.count(TASKS_ENDED, { status: "failed" });
      this.log.warn("task.failed", { ...fields, retries: task.retries, message: task.errorMessage });
    } else {
      task.retries++;
      job.retries++;
      this.count(JOB_RETRY, { error_kind: kind });
      task.status = "queued";
      task.retryAt = this.now() + retryDelayMs(task.retries, { baseMs: this.config.RETRY_BASE_MS, capMs: this.config.RETRY_CAP_MS }, this.random);
      this.log.info("task.retried", { ...fields, retries: task.retries, retryInMs: task.retryAt - this.now() });
    }
    this.touch(task);
  }

  /**
   * Ends the job now: nothing more is dispatched, every unfinished task is canceled, the summary
   * freezes. Never-dispatched tasks have no row to change, so a stop costs the open tasks only; D1
   * gets their canceled rows in the following flushes.
   */
  private stop(status: "early-stopped" | "canceled", stopReason: StopReason): void {
    const job = this.job!;
    for (const task of this.store.openTasks()) {
      task.status = "canceled";
      task.chunkId = null;
      task.retryAt = null;
      this.touch(task);
    }
    this.store.deleteAllChunks();
    job.d1CanceledFrom = job.nextIndex;
    job.running = 0;
    this.count(TASKS_ENDED, { status: "canceled" }, job.total - job.succeeded - job.failed - job.canceled);
    job.canceled = job.total - job.succeeded - job.failed;
    this.finish(status, stopReason);
  }

  private completeIfDone(): void {
    const job = this.job!;
    if (isTerminal(job.status) || job.dispatched < job.total || job.running > 0 || queuedOf(this.job!) > 0) return;
    this.finish(job.succeeded > 0 ? "succeeded" : "failed", null);
  }

  private finish(status: JobStatus, stopReason: StopReason | null): void {
    const job = this.job!;
    job.status = status;
    job.stopReason = stopReason;
    job.finishedAt = new Date(this.now()).toISOString();
    this.count(JOBS_ENDED, { status });
    this.log.info(status === "early-stopped" ? "job.early_stopped" : status === "canceled" ? "job.canceled" : "job.ended", {
      status,
      succeeded: job.succeeded,
      failed: job.failed,
      canceled: job.canceled,
      retries: job.retries,
    });
  }

  /**
   * A started chunk past its lease had a consumer that went silent: its tasks fail that attempt. A
   * chunk never started was only waiting in the queue: it goes back in line without a retry charged
   * (its message, if it is ever delivered, finds the chunk gone and is skipped).
   */
  private expireLeases(expired: ChunkRow[]): void {
    const job = this.job!;
    if (isTerminal(job.status)) return;
    for (const chunk of expired) {
      const tasks = this.store.runningInChunk(chunk.id);
      this.log.warn("chunk.lease_expired", { chunkId: chunk.id, tasks: tasks.length, started: chunk.started });
      if (!chunk.started) {
        // The queue is backed up: wait longer for the next chunks rather than resend them at the same pace.
        job.dispatchLeaseMs = Math.min(job.dispatchLeaseMs * 2, this.config.DISPATCH_LEASE_MS * 16);
        this.releaseChunk(chunk.id);
        continue;
      }
      for (const task of tasks) this.failTask(task, "InternalError", "lease expired: the consumer did not report in time");
      this.store.deleteChunk(chunk.id);
    }
    this.completeIfDone();
  }

  /** Claims chunks under the concurrency limit (due retries first) and sends them; a failed send releases its chunks. */
  private async dispatch(): Promise<void> {
    const job = this.job!;
    if (isTerminal(job.status) || this.store.chunksInFlight() >= job.spec.concurrencyLimit) return;
    const messages = this.mutate(() => this.claimChunks(), (claimed) => claimed.length > 0);
    if (messages.length === 0) return;
    for (const batch of packSendBatches(messages, (m) => JSON.stringify(m).length)) {
      try {
        await this.sendChunks(batch);
      } catch (err) {
        this.log.error("queue.send_failed", { chunks: batch.length, message: err instanceof Error ? err.message : String(err) });
        this.mutate(() => batch.forEach((m) => this.releaseChunk(m.chunkId)));
      }
    }
  }

  private claimChunks(): TaskChunkMessage[] {
    const job = this.job!;
    if (isTerminal(job.status)) return [];
    const now = this.now();
    let freeSlots = job.spec.concurrencyLimit - this.store.chunksInFlight();
    const messages: TaskChunkMessage[] = [];
    while (freeSlots > 0) {
      const due = this.store.dueRetries(now, this.config.MAX_CHUNK_TASKS);
      const remaining = due.length + (job.total - job.dispatched);
      if (remaining === 0) break;
      const size = nextChunkSize({
        avgExecMs: job.avgExecMs,
        targetChunkMs: this.config.TARGET_CHUNK_MS,
        maxChunkTasks: this.config.MAX_CHUNK_TASKS,
        remaining,
        freeSlots,
      });
      const chunkId = `c${++job.chunkSeq}`;
      const message: TaskChunkMessage = {
        v: 1,
        jobId: job.id,
        tenant: job.tenant,
        chunkId,
        strategy: job.spec.strategy,
        dataset: job.spec.dataset,
        options: { feeBps: job.spec.feeBps, slippageBps: job.spec.slippageBps, execution: job.spec.execution },
        enqueuedAt: Date.now(),
        tasks: [],
      };
      let bytes = 0;
      const claim = (task: TaskRow) => {
        task.status = "running";
        task.attempt++;
        task.chunkId = chunkId;
        task.retryAt = null;
        this.touch(task);
        job.running++;
        const params = this.grid!.paramsAt(task.idx);
        bytes += JSON.stringify(params).length + 40;
        message.tasks.push({ index: task.idx, attempt: task.attempt, params });
      };
      for (const task of due) {
        if (message.tasks.length >= size || bytes >= MAX_CHUNK_BYTES) break;
        claim(task);
      }
      while (message.tasks.length < size && bytes < MAX_CHUNK_BYTES && job.dispatched < job.total) {
        claim(this.freshTask(job.nextIndex, "queued"));
        job.dispatched++;
        job.nextIndex = this.grid!.nextAccepted(job.nextIndex + 1);
      }
      this.store.insertChunk({ id: chunkId, leaseUntil: now + job.dispatchLeaseMs, started: false });
      messages.push(message);
      freeSlots--;
    }
    if (messages.length > 0 && job.status === "queued") {
      job.status = "running";
      job.startedAt = new Date(now).toISOString();
      this.log.info("job.started", { concurrencyLimit: job.spec.concurrencyLimit });
    }
    for (const m of messages) this.log.debug("chunk.dispatched", { chunkId: m.chunkId, tasks: m.tasks.length });
    return messages;
  }

  /** Puts a chunk that never reached a consumer back in line, without charging its tasks a retry. */
  private releaseChunk(chunkId: string): void {
    const job = this.job!;
    if (isTerminal(job.status)) return;
    for (const task of this.store.runningInChunk(chunkId)) {
      task.status = "queued";
      task.attempt--;
      task.chunkId = null;
      task.retryAt = this.now() + this.config.RETRY_BASE_MS;
      job.running--;
      this.touch(task);
    }
    this.store.deleteChunk(chunkId);
  }

  private async sendToQueue(messages: TaskChunkMessage[]): Promise<void> {
    await this.env.TASK_QUEUE.sendBatch(messages.map((body) => ({ body, contentType: "json" as const })));
  }

  /** Writes changed rows to D1 in batches; serialised so an older snapshot never lands after a newer one. */
  private flushD1(): Promise<void> {
    this.flushChain = this.flushChain.catch(() => undefined).then(() => this.flushPasses());
    return this.flushChain;
  }

  private async flushPasses(): Promise<void> {
    const capacity = TASK_ROWS_PER_STATEMENT * STATEMENTS_PER_BATCH;
    for (let pass = 0; pass < MAX_FLUSH_PASSES; pass++) {
      const job = this.job!;
      const dirty = this.store.dirtyTasks(capacity);
      const grid = this.grid!;
      const canceled: TaskRow[] = [];
      // A stop during the D1 write below moves d1CanceledFrom: only a pass that saw it unchanged advances it.
      const canceledFrom = job.d1CanceledFrom;
      let canceledTo = grid.nextAccepted(canceledFrom);
      for (; canceledTo < grid.size && dirty.length + canceled.length < capacity; canceledTo = grid.nextAccepted(canceledTo + 1)) {
        canceled.push(this.freshTask(canceledTo, "canceled"));
      }
      const tasks = [...dirty, ...canceled];
      const metrics = batchToSend(job.metrics, () => crypto.randomUUID());
      if (tasks.length === 0 && job.jobDirty === 0 && !metrics) return;
      // Rows come oldest change first with unique numbers: every dirty row up to the last one sent is in this batch.
      const taskSeq = dirty.at(-1)?.dirty ?? 0;
      const jobSeq = job.jobDirty;
      const statements = [
        jobUpsert(this.env.DB, job, new Date(this.now()).toISOString()),
        ...taskUpserts(this.env.DB, job, tasks, (idx) => this.grid!.paramsAt(idx)),
        ...(metrics ? metricUpserts(this.env.DB, job.id, metrics) : []),
      ];
      try {
        await this.writeD1(statements);
      } catch (err) {
        // Rows stay dirty; an alarm tries again after a growing pause.
        this.d1Failures++;
        this.d1RetryAt = this.now() + retryDelayMs(this.d1Failures, D1_RETRY, this.random);
        this.log.error("d1.flush_failed", { rows: tasks.length, failures: this.d1Failures, message: err instanceof Error ? err.message : String(err) });
        return;
      }
      this.d1Failures = 0;
      this.mutate(() => {
        if (taskSeq > 0) this.store.markClean(taskSeq);
        // A change to the job during the write has a newer number and stays owed.
        if (job.jobDirty === jobSeq) job.jobDirty = 0;
        if (job.d1CanceledFrom === canceledFrom) job.d1CanceledFrom = canceledTo;
        if (metrics) confirmSent(job.metrics, metrics.seq);
      }, false);
    }
  }

  /** One alarm for the earliest of: a lease to check, a retry coming due with a free slot, a D1 flush. */
  private async scheduleAlarm(): Promise<void> {
    const job = this.job!;
    const now = this.now();
    const times: number[] = [];
    if (!isTerminal(job.status)) {
      const lease = this.store.nextLeaseUntil();
      if (lease !== null) times.push(lease);
      const retry = this.store.nextRetryAt();
      if (retry !== null && this.store.chunksInFlight() < job.spec.concurrencyLimit) times.push(retry);
    }
    const metricsPending = job.metrics.inflight !== null || Object.keys(job.metrics.pending).length > 0;
    if (job.jobDirty > 0 || metricsPending || job.d1CanceledFrom < this.grid!.size || this.store.hasDirtyTasks()) {
      times.push(Math.max(this.d1RetryAt, now + (isTerminal(job.status) ? 0 : this.config.D1_FLUSH_MS)));
    }
    const current = await this.ctx.storage.getAlarm();
    if (times.length === 0) {
      if (current !== null) await this.ctx.storage.deleteAlarm();
      return;
    }
    // A time in the past fires at once; locally an alarm set to "now" from inside alarm() is dropped.
    const at = Math.max(Math.min(...times), now + 1);
    if (current === null || at < current) await this.ctx.storage.setAlarm(at);
  }

  /**
   * Runs `fn` and saves the job row in one SQLite transaction (marking it for D1 unless told the job
   * itself did not change); on a throw, memory is reloaded from storage.
   */
  private mutate<T>(fn: () => T, jobChanged: boolean | ((result: T) => boolean) = true): T {
    try {
      return this.ctx.storage.transactionSync(() => {
        const result = fn();
        if (typeof jobChanged === "function" ? jobChanged(result) : jobChanged) this.job!.jobDirty = ++this.job!.changeSeq;
        this.store.saveJob(this.job!);
        return result;
      });
    } catch (err) {
      this.job = this.store.loadJob();
      throw err;
    }
  }

  private touch(task: TaskRow): void {
    task.dirty = ++this.job!.changeSeq;
    task.updatedAt = new Date(this.now()).toISOString();
    this.store.putTask(task);
  }

  private freshTask(idx: number, status: "queued" | "canceled"): TaskRow {
    return {
      idx,
      status,
      attempt: 0,
      retries: 0,
      chunkId: null,
      retryAt: null,
      score: null,
      metrics: null,
      constraintsMet: null,
      resultSummaryId: null,
      errorKind: null,
      errorMessage: null,
      queueWaitMs: null,
      execMs: null,
      dirty: 0,
      updatedAt: new Date(this.now()).toISOString(),
    };
  }

  /** Never-dispatched tasks wait in the grid while the job runs; its end cancels them. */
  private undispatchedStatus(): "queued" | "canceled" {
    return isTerminal(this.job!.status) ? "canceled" : "queued";
  }

  /** Timings for the job's stats, histograms for /metrics, and one Analytics Engine point per attempt. */
  private recordAttempt(task: TaskRow, outcome: TaskOutcome): void {
    const job = this.job!;
    addToSketch(job.timings.queueWait, outcome.queueWaitMs);
    addToSketch(job.timings.exec, outcome.execMs);
    if (!this.config.METRICS_ENABLED) return;
    for (const def of [QUEUE_WAIT, JOB_EXEC]) {
      const ms = def === QUEUE_WAIT ? outcome.queueWaitMs : outcome.execMs;
      for (const { key, add } of histogramSeries(def, ms / 1000)) addMetric(job.metrics, key, add);
    }
    const score = outcome.ok ? outcome.metrics[job.spec.objective.metric] : undefined;
    this.writeDataPoint({
      indexes: [job.id],
      blobs: [outcome.ok ? "task.succeeded" : "task.failed", outcome.ok ? "succeeded" : "failed", job.spec.strategy, job.tenant, outcome.ok ? "" : outcome.errorKind],
      doubles: [outcome.queueWaitMs / 1000, outcome.execMs / 1000, score !== undefined && Number.isFinite(score) ? score : 0, task.attempt],
    });
  }

  private count(def: { name: string }, labels: Record<string, string>, add = 1): void {
    if (!this.config.METRICS_ENABLED || add === 0) return;
    const key: SeriesKey = { name: def.name, labels: labelString(labels) };
    addMetric(this.job!.metrics, key, add);
  }

  private jobLogger(): Logger {
    return createLogger({ level: this.config.LOG_LEVEL }).with({ jobId: this.job?.id, tenant: this.job?.tenant });
  }
}
