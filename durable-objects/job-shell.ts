import type { ChunkReport, Heatmap, HeatmapAgg, Job, ListTasksQuery, Page, QueueMessage, ReportAck, Task } from "../schema";
import { LIVE_TICKET_TTL_S } from "../schema";
import { HeatmapCells, planHeatmap, type HeatmapQueryError } from "../lib/heatmap";
import { newTicketSecret, ticketHash } from "../lib/live-ticket";
import type { Logger } from "../lib/log";
import { packSendBatches } from "./chunking";
import { jobUpsert, metricUpserts, STATEMENTS_PER_BATCH, TASK_ROWS_PER_STATEMENT, taskUpserts } from "./d1-projection";
import {
  checkinMsFor,
  d1Owed,
  initialState,
  isTerminal,
  nextAlarmAt,
  restoreState,
  step,
  type CoreConfig,
  type JobEvent,
  type StartInput,
  type StepResult,
} from "./job-core";
import { freshTask, type JobState, type TaskRow } from "./job-state";
import { JobStore } from "./job-store";
import { jobView, taskView } from "./job-view";

/** The job's I/O, and its clock and randomness: production binds them to the Worker's env, tests to fakes. */
export interface JobPorts {
  now(): number;
  seed(): number;
  token(): string;
  send(messages: QueueMessage[]): Promise<void>;
  /** Runs a batch of statements prepared on `db` atomically. */
  writeD1(statements: D1PreparedStatement[]): Promise<unknown>;
  writePoint(point: AnalyticsEngineDataPoint): void;
  db: D1Database;
  /** A logger for this job (the shell adds jobId and tenant). */
  logger: Logger;
  /** Told after every step that changed what a client sees (the live stream coalesces these). */
  changed?: (ended: boolean) => void;
}

/** A heatmap the shell keeps up to date from the succeeded tasks, and the highest row change it has read. */
interface KeptHeatmap {
  cells: HeatmapCells;
  watermark: number;
  /** Tells a rebuilt heatmap from the one a version was handed out by. */
  generation: number;
}

/** `since` of a later call: the cells changed after it. A different generation means the heatmap was rebuilt. */
export interface HeatmapVersion {
  generation: number;
  version: number;
}

export type HeatmapAnswer = { ok: true; heatmap: Heatmap; at: HeatmapVersion } | ({ ok: false } & HeatmapQueryError);

/** Heatmaps kept in memory at once (by query); the least recently used is dropped, and rebuilt by one scan if asked again. */
const KEPT_HEATMAPS = 8;
const TICKET_PREFIX = "live-ticket:";
/** Unspent tickets a job keeps at once. */
const MAX_OPEN_TICKETS = 64;

export type CancelResult =
  | { outcome: "canceled" | "already-canceled"; job: Job }
  | { outcome: "conflict"; job: Job }
  | { outcome: "not-found" };

/** D1 writes one alarm makes before it leaves the rest to the next one, so leases never wait long behind D1. */
const FLUSHES_PER_ALARM = 4;

/**
 * The imperative shell around the job's decisions (job-core.ts): it turns each call and alarm into
 * an event, saves the step's changes with the job row in one SQLite transaction, then carries out
 * the effects (Queue sends, logs, Analytics Engine points), writes D1 and arms the one alarm.
 */
export class JobShell {
  private readonly store: JobStore;
  private state: JobState | null;
  private log: Logger;
  private flushing = false;
  private readonly heatmaps = new Map<string, KeptHeatmap>();
  private heatmapGenerations = 0;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly cfg: CoreConfig,
    private readonly ports: JobPorts,
  ) {
    this.store = new JobStore(storage.sql, { atomically: (fn) => storage.transactionSync(fn) });
    this.state = this.load();
    this.log = this.jobLogger();
  }

  /** Records the job and starts it. Idempotent: a repeated start returns the job as it is. */
  async start(input: StartInput): Promise<Job> {
    if (!this.state) {
      const state = initialState(input, this.cfg);
      this.storage.transactionSync(() => {
        this.store.createSchema();
        this.store.insertJob(state.job);
      });
      this.state = state;
      this.log = this.jobLogger();
      this.log.info("job.submitted", { total: input.total, strategy: input.spec.strategy, dataset: input.spec.dataset, requestId: input.requestId });
      // Armed before any I/O: an object reset during the send or the D1 write below still wakes the job.
      await this.arm();
      try {
        await this.dispatch();
        await this.flushD1();
      } catch (err) {
        // The job is recorded: the alarm below carries on with whatever failed here.
        this.log.error("job.start_incomplete", { message: err instanceof Error ? err.message : String(err) });
      } finally {
        await this.arm(true);
      }
    }
    return jobView(this.state.job, this.ports.now());
  }

  status(): Job | null {
    return this.state ? jobView(this.state.job, this.ports.now()) : null;
  }

  async cancel(reason?: string, requestId?: string): Promise<CancelResult> {
    if (!this.state) return { outcome: "not-found" };
    const result = this.apply({ type: "cancel", reason: reason ?? null, ...(requestId ? { requestId } : {}) });
    if (result.cancel === "canceled") {
      await this.arm();
      await this.sendMaterialize();
    }
    const job = jobView(this.state.job, this.ports.now());
    return result.cancel === "conflict" ? { outcome: "conflict", job } : { outcome: result.cancel ?? "canceled", job };
  }

  /** Results of a chunk (a partial report at each check-in, and a last one with `done`). */
  async report(report: ChunkReport): Promise<ReportAck> {
    if (!this.state) return { continue: false, accepted: 0, checkinMs: this.cfg.CHECKIN_MS };
    const result = this.apply({ type: "report", report });
    await this.send(result);
    await this.arm();
    await this.sendMaterialize();
    return result.ack ?? { continue: false, accepted: 0, checkinMs: checkinMsFor(this.state.job.spec, this.cfg) };
  }

  /** Word from the queue's side that a chunk's message will never run (dead-lettered, or unreadable). */
  async abandonChunk(chunkId: string, reason: string): Promise<void> {
    if (!this.state) return;
    this.apply({ type: "abandoned", chunkId, reason: reason.slice(0, 500) });
    await this.dispatch();
    await this.arm();
    await this.sendMaterialize();
  }

  /** Leases and retries first, with the next alarm armed before D1 is written: they never wait behind it. */
  async alarm(): Promise<void> {
    if (!this.state) return;
    try {
      this.apply({ type: "alarm" });
      await this.dispatch();
      await this.sendMaterialize();
    } finally {
      await this.arm();
    }
    if (this.ports.now() < this.state.job.d1RetryAt) return;
    for (let i = 0; i < FLUSHES_PER_ALARM && (await this.flushD1()); i++);
    await this.arm(true);
  }

  /**
   * Tasks in grid order: running ones from memory (they have no row, or a retry's stale one), the
   * others from their rows; those never dispatched are listed from the grid.
   */
  listTasks(query: ListTasksQuery): Page<Task> | null {
    const state = this.state;
    if (!state) return null;
    const { job, grid } = state;
    const after = query.cursor === undefined ? -1 : Number(query.cursor);
    const isRunning = (idx: number) => state.open.get(idx)?.status === "running";
    const running =
      query.status === undefined || query.status === "running"
        ? [...state.open.values()].filter((t) => t.status === "running" && t.idx > after).sort((a, b) => a.idx - b.idx).slice(0, query.limit)
        : [];
    const stored: TaskRow[] = [];
    if (query.status !== "running") {
      for (let from = after; stored.length < query.limit; ) {
        const rows = this.store.listTasks(from, query.limit, query.status);
        stored.push(...rows.filter((t) => !isRunning(t.idx)));
        if (rows.length < query.limit) break;
        from = rows.at(-1)!.idx;
      }
    }
    const items = [...stored, ...running]
      .sort((a, b) => a.idx - b.idx)
      .slice(0, query.limit)
      .map((t) => taskView(job, grid, t));
    const undispatched = isTerminal(job.status) ? "canceled" : "queued";
    if (items.length < query.limit && (query.status === undefined || query.status === undispatched)) {
      // Never-dispatched tasks come from the grid; nextAccepted jumps over rejected runs in bounded work.
      const updatedAt = new Date(this.ports.now()).toISOString();
      for (let idx = grid.nextAccepted(Math.max(after + 1, job.nextIndex)); idx < grid.size && items.length < query.limit; idx = grid.nextAccepted(idx + 1)) {
        items.push(taskView(job, grid, freshTask(idx, undispatched, updatedAt)));
      }
    }
    const last = items.at(-1);
    const cursor = last !== undefined && items.length === query.limit ? last.index : null;
    return { items, nextCursor: cursor === null ? null : String(cursor) };
  }

  /**
   * The heatmap of a query, brought up to date with the tasks that succeeded since it was last read
   * (one indexed scan of the new rows), and only the cells changed after `since` (what this answered
   * before; all of them without it, or when the heatmap was rebuilt since). Null when there is no job.
   */
  heatmap(query: { x: string; y: string; agg: HeatmapAgg; at?: string | undefined }, since?: HeatmapVersion): HeatmapAnswer | null {
    const state = this.state;
    if (!state) return null;
    const key = JSON.stringify([query.x, query.y, query.agg, query.at ?? null]);
    let kept = this.heatmaps.get(key);
    if (kept) this.heatmaps.delete(key);
    else {
      const planned = planHeatmap(state.grid, query);
      if (!planned.ok) return planned;
      kept = { cells: new HeatmapCells(planned.plan), watermark: 0, generation: ++this.heatmapGenerations };
    }
    this.heatmaps.set(key, kept);
    while (this.heatmaps.size > KEPT_HEATMAPS) this.heatmaps.delete(this.heatmaps.keys().next().value!);
    const fresh = this.store.succeededSince(kept.watermark);
    if (fresh.length > 0) {
      for (const [, , dirty] of fresh) if (dirty > kept.watermark) kept.watermark = dirty;
      kept.cells.add(fresh.map(([idx, score]) => [idx, score] as const));
    }
    const { plan } = kept.cells;
    const { objective } = state.job.spec;
    const from = since?.generation === kept.generation ? since.version : 0;
    return {
      ok: true,
      at: { generation: kept.generation, version: kept.cells.version },
      heatmap: { x: plan.x, y: plan.y, agg: plan.agg, at: plan.at, metric: objective.metric, mode: objective.mode, finished: kept.cells.finished, cells: kept.cells.cells(from) },
    };
  }

  /** Issues a live ticket: its secret goes to the caller, only its hash is stored, for LIVE_TICKET_TTL_S. Null when there is no job. */
  async issueTicket(): Promise<{ secret: string; expiresAt: string } | null> {
    if (!this.state) return null;
    const now = this.ports.now();
    const stored = await this.storage.list<number>({ prefix: TICKET_PREFIX });
    // Expired tickets go, and past MAX_OPEN_TICKETS the ones closest to expiry: a key cannot grow storage.
    const live = [...stored].filter(([, until]) => until > now).sort((a, b) => a[1] - b[1]);
    const drop = [...[...stored].filter(([, until]) => until <= now), ...live.slice(0, Math.max(0, live.length - MAX_OPEN_TICKETS + 1))].map(([key]) => key);
    if (drop.length > 0) await this.storage.delete(drop);
    const secret = newTicketSecret();
    const until = now + LIVE_TICKET_TTL_S * 1000;
    await this.storage.put(TICKET_PREFIX + (await ticketHash(secret)), until);
    return { secret, expiresAt: new Date(until).toISOString() };
  }

  /** Whether `secret` is a ticket this job issued that is still valid; it is spent either way. */
  async redeemTicket(secret: string): Promise<boolean> {
    if (!this.state) return false;
    const key = TICKET_PREFIX + (await ticketHash(secret));
    const until = await this.storage.get<number>(key);
    if (until === undefined) return false;
    await this.storage.delete(key);
    return this.ports.now() < until;
  }

  /** Feeds one event through the core and saves what it changed in one transaction; on a throw, memory is reloaded. */
  private apply(event: JobEvent): StepResult {
    const state = this.state!;
    let result: StepResult;
    try {
      result = this.storage.transactionSync(() => {
        const r = step(state, { ...event, now: this.ports.now(), seed: this.ports.seed() }, this.cfg);
        this.store.save(state.job, r.changes);
        return r;
      });
    } catch (err) {
      this.state = this.load();
      throw err;
    }
    for (const effect of result.effects) {
      if (effect.type === "log") this.log[effect.level](effect.event, effect.fields);
      else if (effect.type === "point") {
        // The step is saved: a refused analytics write (over the per-invocation limit) must not fail the call.
        try {
          this.ports.writePoint(effect.point);
        } catch (err) {
          this.log.warn("analytics.write_failed", { message: err instanceof Error ? err.message : String(err) });
        }
      }
    }
    if (result.changes.jobVisible) this.ports.changed?.(isTerminal(state.job.status));
    return result;
  }

  /** Claims chunks and sends them. */
  private async dispatch(): Promise<void> {
    await this.send(this.apply({ type: "dispatch" }));
  }

  /** Sends the chunks a step claimed; a refused send puts them back in line and pauses dispatch. */
  private async send(result: StepResult): Promise<void> {
    for (const effect of result.effects) {
      if (effect.type !== "send") continue;
      // The claimed chunks' leases are saved: arm for them before the send, which may never return.
      await this.arm();
      for (const batch of packSendBatches(effect.messages, (m) => JSON.stringify(m).length)) {
        const chunkIds = batch.map((m) => m.chunkId);
        let sent = true;
        try {
          await this.ports.send(batch);
        } catch (err) {
          sent = false;
          this.apply({ type: "sendFailed", chunkIds, message: err instanceof Error ? err.message : String(err) });
        }
        if (sent) this.apply({ type: "sent", chunkIds });
      }
    }
  }

  /** Sends the job's materialize outbox, if it holds the ended job's Top-N; a refusal waits like a chunk's. */
  private async sendMaterialize(): Promise<void> {
    const job = this.state!.job;
    if (job.materialize === null || this.ports.now() < job.sendPausedUntil) return;
    try {
      await this.ports.send([{ v: 1, kind: "materialize", jobId: job.id, tenant: job.tenant, indexes: job.materialize }]);
    } catch (err) {
      this.apply({ type: "sendFailed", chunkIds: [], message: err instanceof Error ? err.message : String(err) });
      return;
    }
    this.apply({ type: "materializeSent" });
  }

  /**
   * One D1 write of what changed: the job row, dirty task rows oldest change first, canceled rows of
   * never-dispatched tasks, metric increments. Returns whether more is owed. Rows carry change
   * numbers, so writes may land in any order; one at a time keeps them from doing the same work.
   */
  private async flushD1(): Promise<boolean> {
    const state = this.state!;
    if (this.flushing) return false;
    this.flushing = true;
    try {
      const capacity = TASK_ROWS_PER_STATEMENT * STATEMENTS_PER_BATCH;
      const dirty = this.store.dirtyTasks(state.job.d1TaskSeq, capacity);
      const plan = this.apply({ type: "flushBegin", taskSeq: dirty.at(-1)?.dirty ?? 0, room: capacity - dirty.length, token: this.ports.token() }).flush;
      if (!plan) return false;
      const { job, grid } = state;
      const updatedAt = new Date(this.ports.now()).toISOString();
      const rows = [
        ...dirty.map((t) => ({ ...t, change: t.dirty })),
        ...plan.canceled.map((idx) => ({ ...freshTask(idx, "canceled", updatedAt), change: plan.changeSeq })),
      ];
      const statements = [
        ...(job.jobDirty > 0 || !job.d1Inserted ? [jobUpsert(this.ports.db, job, plan.changeSeq, updatedAt)] : []),
        ...taskUpserts(this.ports.db, job, rows, (idx) => grid.paramsAt(idx)),
        ...(plan.metrics ? metricUpserts(this.ports.db, job.id, plan.metrics) : []),
      ];
      try {
        await this.ports.writeD1(statements);
      } catch (err) {
        // Rows stay dirty; the alarm tries again after a growing pause.
        this.apply({ type: "flushFailed", rows: rows.length, message: err instanceof Error ? err.message : String(err) });
        return false;
      }
      this.apply({ type: "flushed", plan });
      return d1Owed(this.state!);
    } finally {
      this.flushing = false;
    }
  }

  /**
   * Arms the one alarm at the core's next deadline (never "now": locally that is dropped inside
   * alarm()). Outside the alarm it only moves the alarm earlier, so that reports arriving faster
   * than the D1 debounce never keep pushing the flush back; `exact` sets the deadline as it is.
   */
  private async arm(exact = false): Promise<void> {
    const now = this.ports.now();
    const at = nextAlarmAt(this.state!, this.cfg, now);
    const current = await this.storage.getAlarm();
    if (at === null) {
      if (current !== null) await this.storage.deleteAlarm();
      return;
    }
    const when = Math.max(at, now + 1);
    if (current === null || when < current || (exact && when !== current)) await this.storage.setAlarm(when);
  }

  private load(): JobState | null {
    const job = this.store.loadJob();
    if (!job) return null;
    const chunks = this.store.loadChunks();
    const rowsInRanges = new Set(chunks.flatMap((c) => (c.range ? this.store.rowIndexesIn(c.range.from, c.range.to) : [])));
    return restoreState(job, this.store.loadOpenTasks(), chunks, rowsInRanges);
  }

  private jobLogger(): Logger {
    return this.ports.logger.with({ jobId: this.state?.job.id, tenant: this.state?.job.tenant });
  }
}
