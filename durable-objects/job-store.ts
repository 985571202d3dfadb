import type { ErrorKind, JobSpec, JobStatus, StopReason, TaskStatus, TopNEntry } from "../schema";
import type { MetricOutbox } from "./metric-outbox";
import type { Sketch } from "./sketch";

/** The job's row in the DO's SQLite; counts are kept exact, `queued` is derived from them. */
export interface JobRow {
  id: string;
  tenant: string;
  spec: JobSpec;
  total: number;
  status: JobStatus;
  /**
   * The next accepted grid index to dispatch. Accepted indexes below it have a task row; those at or
   * above it were never dispatched and have none: queued while the job runs, canceled once it ended.
   */
  nextIndex: number;
  /** Tasks dispatched at least once; `total - dispatched` are still waiting in the grid. */
  dispatched: number;
  /** Never-dispatched tasks from this index on still need their canceled row in D1. */
  d1CanceledFrom: number;
  succeeded: number;
  failed: number;
  canceled: number;
  running: number;
  retries: number;
  topN: TopNEntry[];
  stopReason: StopReason | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  avgExecMs: number | null;
  /** Lease of a chunk not yet started: doubles each time the queue outwaits it, back to the base on a start. */
  dispatchLeaseMs: number;
  /** Per-attempt timings (ms) behind the status response's stats. */
  timings: { queueWait: Sketch; exec: Sketch };
  /** Metric increments not yet in D1. */
  metrics: MetricOutbox;
  chunkSeq: number;
  /** Monotonic change counter: rows carry the value of their last change until D1 has it. */
  changeSeq: number;
  /** changeSeq of the job row's latest change not yet in D1; 0 when D1 is current. */
  jobDirty: number;
}

export interface TaskRow {
  idx: number;
  status: TaskStatus;
  attempt: number;
  retries: number;
  chunkId: string | null;
  retryAt: number | null;
  score: number | null;
  metrics: Record<string, number> | null;
  /** Whether a success met the job's result constraints; null without constraints or a success. */
  constraintsMet: boolean | null;
  resultSummaryId: string | null;
  errorKind: ErrorKind | null;
  errorMessage: string | null;
  queueWaitMs: number | null;
  execMs: number | null;
  dirty: number;
  updatedAt: string;
}

export interface ChunkRow {
  id: string;
  leaseUntil: number;
  /** Whether its consumer has checked in: until then the chunk may only be waiting in the queue. */
  started: boolean;
}

const SCHEMA_VERSION = 1;

const DDL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS job (id TEXT PRIMARY KEY, spec TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
  idx INTEGER PRIMARY KEY,
  status TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  retries INTEGER NOT NULL,
  chunk_id TEXT,
  retry_at INTEGER,
  score REAL,
  metrics TEXT,
  constraints_met INTEGER,
  result_summary_id TEXT,
  error_kind TEXT,
  error_message TEXT,
  queue_wait_ms REAL,
  exec_ms REAL,
  dirty INTEGER NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_retry ON tasks (retry_at) WHERE status = 'queued';
CREATE INDEX IF NOT EXISTS tasks_chunk ON tasks (chunk_id) WHERE status = 'running';
CREATE INDEX IF NOT EXISTS tasks_dirty ON tasks (dirty) WHERE dirty > 0;
CREATE TABLE IF NOT EXISTS chunks (id TEXT PRIMARY KEY, lease_until INTEGER NOT NULL, started INTEGER NOT NULL DEFAULT 0);
`;

type SqlRow = Record<string, SqlStorageValue>;

const toTask = (r: SqlRow): TaskRow => ({
  idx: r.idx as number,
  status: r.status as TaskStatus,
  attempt: r.attempt as number,
  retries: r.retries as number,
  chunkId: r.chunk_id as string | null,
  retryAt: r.retry_at as number | null,
  score: r.score as number | null,
  metrics: r.metrics === null ? null : (JSON.parse(r.metrics as string) as Record<string, number>),
  constraintsMet: r.constraints_met === null ? null : r.constraints_met === 1,
  resultSummaryId: r.result_summary_id as string | null,
  errorKind: r.error_kind as ErrorKind | null,
  errorMessage: r.error_message as string | null,
  queueWaitMs: r.queue_wait_ms as number | null,
  execMs: r.exec_ms as number | null,
  dirty: r.dirty as number,
  updatedAt: r.updated_at as string,
});

const toChunk = (r: SqlRow): ChunkRow => ({ id: r.id as string, leaseUntil: r.lease_until as number, started: r.started === 1 });

/** Tasks neither terminal nor running: waiting in the grid or for a retry. */
export const queuedOf = (job: Pick<JobRow, "total" | "succeeded" | "failed" | "canceled" | "running">): number =>
  job.total - job.succeeded - job.failed - job.canceled - job.running;

/**
 * Typed access to one job's SQLite tables. Every method is synchronous so callers can group
 * them in `transactionSync`; cursors are read fully before returning.
 */
export class JobStore {
  constructor(private readonly sql: SqlStorage) {}

  /** Creates the tables on a job's first start only, so looking up an unknown id writes nothing. */
  createSchema(): void {
    this.sql.exec(DDL);
    this.sql.exec("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", String(SCHEMA_VERSION));
  }

  loadJob(): JobRow | null {
    const exists = this.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'job'").toArray().length > 0;
    if (!exists) return null;
    const row = this.sql.exec("SELECT spec, data FROM job LIMIT 1").toArray()[0];
    return row ? { ...(JSON.parse(row.data as string) as Omit<JobRow, "spec">), spec: JSON.parse(row.spec as string) as JobSpec } : null;
  }

  /** The spec (up to 1 MiB) is written once; every later save rewrites only the state. */
  insertJob(job: JobRow): void {
    const { spec, ...state } = job;
    this.sql.exec("INSERT INTO job (id, spec, data) VALUES (?, ?, ?)", job.id, JSON.stringify(spec), JSON.stringify(state));
  }

  saveJob(job: JobRow): void {
    const { spec: _spec, ...state } = job;
    this.sql.exec("UPDATE job SET data = ? WHERE id = ?", JSON.stringify(state), job.id);
  }

  getTask(idx: number): TaskRow | null {
    const row = this.sql.exec("SELECT * FROM tasks WHERE idx = ?", idx).toArray()[0];
    return row ? toTask(row) : null;
  }

  putTask(t: TaskRow): void {
    this.sql.exec(
      `INSERT INTO tasks (idx, status, attempt, retries, chunk_id, retry_at, score, metrics, constraints_met, result_summary_id,
         error_kind, error_message, queue_wait_ms, exec_ms, dirty, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (idx) DO UPDATE SET status = excluded.status, attempt = excluded.attempt, retries = excluded.retries,
         chunk_id = excluded.chunk_id, retry_at = excluded.retry_at, score = excluded.score, metrics = excluded.metrics,
         constraints_met = excluded.constraints_met, result_summary_id = excluded.result_summary_id, error_kind = excluded.error_kind, error_message = excluded.error_message,
         queue_wait_ms = excluded.queue_wait_ms, exec_ms = excluded.exec_ms, dirty = excluded.dirty, updated_at = excluded.updated_at`,
      t.idx,
      t.status,
      t.attempt,
      t.retries,
      t.chunkId,
      t.retryAt,
      t.score,
      t.metrics === null ? null : JSON.stringify(t.metrics),
      t.constraintsMet === null ? null : t.constraintsMet ? 1 : 0,
      t.resultSummaryId,
      t.errorKind,
      t.errorMessage,
      t.queueWaitMs,
      t.execMs,
      t.dirty,
      t.updatedAt,
    );
  }

  /** Queued retries whose backoff has passed, earliest first. */
  dueRetries(now: number, limit: number): TaskRow[] {
    return this.sql
      .exec("SELECT * FROM tasks WHERE status = 'queued' AND retry_at <= ? ORDER BY retry_at, idx LIMIT ?", now, limit)
      .toArray()
      .map(toTask);
  }

  nextRetryAt(): number | null {
    const row = this.sql.exec("SELECT MIN(retry_at) AS at FROM tasks WHERE status = 'queued'").toArray()[0];
    return (row?.at as number | null) ?? null;
  }

  /** Tasks still open (running or waiting for a retry), for ending the job. */
  openTasks(): TaskRow[] {
    return this.sql.exec("SELECT * FROM tasks WHERE status IN ('running', 'queued')").toArray().map(toTask);
  }

  runningInChunk(chunkId: string): TaskRow[] {
    return this.sql.exec("SELECT * FROM tasks WHERE status = 'running' AND chunk_id = ?", chunkId).toArray().map(toTask);
  }

  insertChunk(chunk: ChunkRow): void {
    this.sql.exec("INSERT INTO chunks (id, lease_until, started) VALUES (?, ?, ?)", chunk.id, chunk.leaseUntil, chunk.started ? 1 : 0);
  }

  getChunk(id: string): ChunkRow | null {
    const row = this.sql.exec("SELECT id, lease_until, started FROM chunks WHERE id = ?", id).toArray()[0];
    return row ? toChunk(row) : null;
  }

  /** A check-in: the consumer is alive and has started the chunk. */
  renewChunk(id: string, leaseUntil: number): void {
    this.sql.exec("UPDATE chunks SET lease_until = ?, started = 1 WHERE id = ?", leaseUntil, id);
  }

  deleteChunk(id: string): void {
    this.sql.exec("DELETE FROM chunks WHERE id = ?", id);
  }

  deleteAllChunks(): void {
    this.sql.exec("DELETE FROM chunks");
  }

  chunksInFlight(): number {
    return this.sql.exec("SELECT COUNT(*) AS n FROM chunks").one().n as number;
  }

  expiredChunks(now: number): ChunkRow[] {
    return this.sql
      .exec("SELECT id, lease_until, started FROM chunks WHERE lease_until <= ?", now)
      .toArray()
      .map(toChunk);
  }

  nextLeaseUntil(): number | null {
    const row = this.sql.exec("SELECT MIN(lease_until) AS at FROM chunks").toArray()[0];
    return (row?.at as number | null) ?? null;
  }

  /** Task rows in index order after `afterIdx`, optionally of one status. */
  listTasks(afterIdx: number, limit: number, status?: TaskStatus): TaskRow[] {
    const rows = status
      ? this.sql.exec("SELECT * FROM tasks WHERE idx > ? AND status = ? ORDER BY idx LIMIT ?", afterIdx, status, limit)
      : this.sql.exec("SELECT * FROM tasks WHERE idx > ? ORDER BY idx LIMIT ?", afterIdx, limit);
    return rows.toArray().map(toTask);
  }

  /** Rows changed since D1 last had them, oldest change first. */
  dirtyTasks(limit: number): TaskRow[] {
    return this.sql.exec("SELECT * FROM tasks WHERE dirty > 0 ORDER BY dirty LIMIT ?", limit).toArray().map(toTask);
  }

  markClean(upToSeq: number): void {
    this.sql.exec("UPDATE tasks SET dirty = 0 WHERE dirty > 0 AND dirty <= ?", upToSeq);
  }

  hasDirtyTasks(): boolean {
    return this.sql.exec("SELECT EXISTS (SELECT 1 FROM tasks WHERE dirty > 0) AS d").one().d === 1;
  }
}
