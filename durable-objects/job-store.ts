import type { ErrorKind, JobSpec, TaskStatus } from "../schema";
import type { Changes } from "./job-core";
import type { ChunkRow, JobRow, TaskRow } from "./job-state";

const SCHEMA_VERSION = 7;

const DDL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS job (id TEXT PRIMARY KEY, spec TEXT NOT NULL, data TEXT NOT NULL, top_n TEXT);
CREATE TABLE IF NOT EXISTS tasks (
  idx INTEGER PRIMARY KEY,
  status TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  retries INTEGER NOT NULL,
  requeues INTEGER NOT NULL DEFAULT 0,
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
CREATE INDEX IF NOT EXISTS tasks_change ON tasks (dirty);
CREATE TABLE IF NOT EXISTS outcomes (
  seq INTEGER PRIMARY KEY,
  min_idx INTEGER NOT NULL,
  max_idx INTEGER NOT NULL,
  max_dirty INTEGER NOT NULL,
  rows TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS outcomes_span ON outcomes (min_idx, max_idx);
CREATE INDEX IF NOT EXISTS outcomes_change ON outcomes (max_dirty);
CREATE TABLE IF NOT EXISTS chunks (
  id TEXT PRIMARY KEY,
  lease_until INTEGER NOT NULL,
  started INTEGER NOT NULL DEFAULT 0,
  range_from INTEGER,
  range_to INTEGER,
  listed TEXT NOT NULL DEFAULT '[]',
  dispatched_at TEXT NOT NULL DEFAULT ''
);
`;

type SqlRow = Record<string, SqlStorageValue>;

const toTask = (r: SqlRow): TaskRow => ({
  idx: r.idx as number,
  status: r.status as TaskStatus,
  attempt: r.attempt as number,
  retries: r.retries as number,
  requeues: r.requeues as number,
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

const TASK_COLUMNS = [
  "idx", "status", "attempt", "retries", "requeues", "chunk_id", "retry_at", "score", "metrics", "constraints_met",
  "result_summary_id", "error_kind", "error_message", "queue_wait_ms", "exec_ms", "dirty", "updated_at",
];

/**
 * Upserts one task row. One statement a row: measured in workerd, 20,000 upserts took 350-390 ms
 * this way and 405-430 ms as 200 `INSERT ... SELECT FROM json_each(?)` statements of 100 rows, so
 * what a report costs is its rows, not its statements.
 */
const UPSERT_TASK = `INSERT INTO tasks (${TASK_COLUMNS.join(", ")}) VALUES (${TASK_COLUMNS.map(() => "?").join(", ")})
  ON CONFLICT (idx) DO UPDATE SET ${TASK_COLUMNS.slice(1).map((c) => `${c} = excluded.${c}`).join(", ")}`;

/**
 * A succeeded task never changes again, so the rows one step finished (first attempts) are stored
 * together as one JSON array in the outcome log rather than a row each: in wrangler dev's SQLite a task row cost
 * ~55 µs a report, a log row of hundreds of outcomes well under a millisecond. Tasks that are not
 * (yet) succeeded keep their own row in `tasks`.
 */
type LoggedTask = [
  idx: number, attempt: number, retries: number, requeues: number, score: number | null, metrics: Record<string, number> | null,
  constraintsMet: boolean | null, resultSummaryId: string | null, queueWaitMs: number | null, execMs: number | null, dirty: number, updatedAt: string,
];
/** Log entries' bounds one listTasks read takes. */
const ENTRY_BOUNDS_PER_READ = 64;
/** Rows a log entry holds at most, so an entry stays far below SQLite's row size limit. */
const LOG_ROWS_PER_ENTRY = 1_000;

const toLogged = (t: TaskRow): LoggedTask => [
  t.idx, t.attempt, t.retries, t.requeues, t.score, t.metrics, t.constraintsMet, t.resultSummaryId, t.queueWaitMs, t.execMs, t.dirty, t.updatedAt,
];

const fromLogged = ([idx, attempt, retries, requeues, score, metrics, constraintsMet, resultSummaryId, queueWaitMs, execMs, dirty, updatedAt]: LoggedTask): TaskRow => ({
  idx, status: "succeeded", attempt, retries, requeues, chunkId: null, retryAt: null, score, metrics, constraintsMet, resultSummaryId,
  errorKind: null, errorMessage: null, queueWaitMs, execMs, dirty, updatedAt,
});

const logRowsOf = (entry: SqlRow): TaskRow[] => (JSON.parse(entry.rows as string) as LoggedTask[]).map(fromLogged);

/**
 * The `limit` rows of smallest index above `after` from log entries read in ascending order of
 * their smallest index: reading stops once an entry cannot hold a smaller one than those kept.
 */
function firstLogged(entries: Iterable<{ seq: number; minIdx: number }>, rowsOf: (seq: number) => TaskRow[], after: number, limit: number): TaskRow[] {
  let kept: TaskRow[] = [];
  for (const entry of entries) {
    if (kept.length >= limit && entry.minIdx > kept[limit - 1]!.idx) break;
    for (const t of rowsOf(entry.seq)) if (t.idx > after) kept.push(t);
    if (kept.length >= limit) kept = kept.sort((a, b) => a.idx - b.idx).slice(0, limit);
  }
  return kept.sort((a, b) => a.idx - b.idx);
}

const mergeBy = (key: (t: TaskRow) => number, limit: number, ...lists: TaskRow[][]): TaskRow[] =>
  lists.flat().sort((a, b) => key(a) - key(b)).slice(0, limit);

const toChunk = (r: SqlRow): ChunkRow => ({
  id: r.id as string,
  leaseUntil: r.lease_until as number,
  started: r.started === 1,
  range: r.range_from === null ? null : { from: r.range_from as number, to: r.range_to as number },
  listed: JSON.parse(r.listed as string) as ChunkRow["listed"],
  dispatchedAt: r.dispatched_at as string,
});

/**
 * Typed access to one job's SQLite tables. Every method is synchronous so callers can group
 * them in `transactionSync`; cursors are read fully before returning.
 */
export class JobStore {
  /**
   * The job state JSON last written, so that a step changing nothing writes nothing. A rolled-back
   * transaction may leave it ahead of the disk: the shell then reloads the job, which resets it.
   */
  private savedData: string | null = null;
  /**
   * The Top-N last written. It is most of the job's state (a result's params and metrics each) but
   * changes only when a result makes the cut, which then replaces the array: compared by identity.
   */
  private savedTopN: JobRow["topN"] | null = null;

  private readonly logRowsPerEntry: number;
  private readonly boundsPerRead: number;
  private readonly atomically: (fn: () => void) => void;

  /** `atomically` runs a migration as one transaction (the DO's `transactionSync`); tests shrink the sizes. */
  constructor(
    private readonly sql: SqlStorage,
    options: { atomically?: (fn: () => void) => void; logRowsPerEntry?: number; boundsPerRead?: number } = {},
  ) {
    this.logRowsPerEntry = options.logRowsPerEntry ?? LOG_ROWS_PER_ENTRY;
    this.boundsPerRead = options.boundsPerRead ?? ENTRY_BOUNDS_PER_READ;
    this.atomically = options.atomically ?? ((fn) => fn());
  }

  /** Creates the tables on a job's first start only, so looking up an unknown id writes nothing. */
  createSchema(): void {
    this.sql.exec(DDL);
    this.sql.exec("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", String(SCHEMA_VERSION));
  }

  loadJob(): JobRow | null {
    const exists = this.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'job'").toArray().length > 0;
    if (!exists) return null;
    // All of a migration or none: a half-applied one (columns added, version not) would fail every load.
    this.atomically(() => this.migrate());
    const row = this.sql.exec("SELECT spec, data, top_n FROM job LIMIT 1").toArray()[0];
    if (!row) return null;
    this.savedData = row.data as string;
    // Before version 6 the Top-N was part of the state.
    const data = JSON.parse(row.data as string) as Omit<JobRow, "spec" | "topN"> & { topN?: JobRow["topN"] };
    const topN = row.top_n === null ? (data.topN ?? []) : (JSON.parse(row.top_n as string) as JobRow["topN"]);
    delete data.topN;
    this.savedTopN = row.top_n === null ? null : topN;
    return { ...V1_DEFAULTS(data), ...data, topN, spec: JSON.parse(row.spec as string) as JobSpec };
  }

  /** A job written by an older schema version gains what the later versions added. */
  private migrate(): void {
    const version = Number(this.sql.exec("SELECT value FROM meta WHERE key = 'schema_version'").toArray()[0]?.value ?? 1);
    if (version >= SCHEMA_VERSION) return;
    if (version < 2) this.sql.exec("ALTER TABLE tasks ADD COLUMN requeues INTEGER NOT NULL DEFAULT 0");
    if (version < 3) {
      // Rows keep their change number; D1 owes those above the job's d1TaskSeq (no reset to 0).
      this.sql.exec("DROP INDEX IF EXISTS tasks_dirty");
      this.sql.exec("CREATE INDEX IF NOT EXISTS tasks_change ON tasks (dirty)");
    }
    if (version < 4) {
      // Chunk rows name their tasks, claims write no task row. Older chunks keep their running rows.
      for (const column of ["range_from INTEGER", "range_to INTEGER", "listed TEXT NOT NULL DEFAULT '[]'", "dispatched_at TEXT NOT NULL DEFAULT ''"]) {
        this.sql.exec(`ALTER TABLE chunks ADD COLUMN ${column}`);
      }
      this.sql.exec("DROP INDEX IF EXISTS tasks_retry");
      this.sql.exec("DROP INDEX IF EXISTS tasks_chunk");
    }
    if (version < 6) this.sql.exec("ALTER TABLE job ADD COLUMN top_n TEXT");
    // Version 7 reads entries in index order from a covering index of their span.
    if (version < 7) this.sql.exec("DROP INDEX IF EXISTS outcomes_idx");
    // Version 5 added the outcome log; the DDL creates what is missing, and rows in `tasks` stay valid.
    // Version 6 keeps the Top-N in its own column (the state of older ones holds it until the next save).
    this.sql.exec(DDL);
    this.sql.exec("UPDATE meta SET value = ? WHERE key = 'schema_version'", String(SCHEMA_VERSION));
  }

  /** The spec (up to 1 MiB) is written once; every later save rewrites only the state. */
  insertJob(job: JobRow): void {
    const { spec, topN, ...state } = job;
    const data = JSON.stringify(state);
    this.sql.exec("INSERT INTO job (id, spec, data, top_n) VALUES (?, ?, ?, ?)", job.id, JSON.stringify(spec), data, JSON.stringify(topN));
    this.savedData = data;
    this.savedTopN = topN;
  }

  /** Open tasks (running or waiting for a retry) and chunks in flight: what the job's decisions read. */
  loadOpenTasks(): TaskRow[] {
    return this.sql.exec("SELECT * FROM tasks WHERE status IN ('running', 'queued')").toArray().map(toTask);
  }

  loadChunks(): ChunkRow[] {
    return this.sql.exec("SELECT * FROM chunks").toArray().map(toChunk);
  }

  /** Indexes in [from, to) that have a task row. */
  rowIndexesIn(from: number, to: number): number[] {
    const own = this.sql.exec("SELECT idx FROM tasks WHERE idx >= ? AND idx < ?", from, to).toArray().map((r) => r.idx as number);
    const logged = this.sql
      .exec("SELECT rows FROM outcomes WHERE min_idx < ? AND max_idx >= ?", to, from)
      .toArray()
      .flatMap((e) => (JSON.parse(e.rows as string) as LoggedTask[]).map((t) => t[0]).filter((idx) => idx >= from && idx < to));
    return [...own, ...logged];
  }

  /**
   * Writes one step's changes and the job's state, the latter only when it differs from what was
   * last written; the caller runs it inside `transactionSync`.
   */
  save(job: JobRow, changes: Changes): void {
    const rows: TaskRow[] = [];
    const succeeded: TaskRow[] = [];
    for (const t of changes.tasks.values()) (t.status === "succeeded" ? succeeded : rows).push(t);
    // A success goes to the log only for a task with no row yet: one never dispatched again, so
    // every entry holds tasks of one chunk's range. A task with a row (a retry, a requeue, one put
    // back after a refused send) was listed among far-off indexes: its row is updated instead.
    const withRow = succeeded.length === 0 ? new Set<number>() : this.rowIndexesOf(succeeded);
    for (const t of succeeded) if (withRow.has(t.idx)) rows.push(t);
    for (const t of rows) this.upsertTask(t);
    const logged = succeeded.filter((t) => !withRow.has(t.idx));
    if (logged.length > 0) this.logSucceeded(logged);
    for (const [id, change] of changes.chunks) {
      if (change === null) this.sql.exec("DELETE FROM chunks WHERE id = ?", id);
      else if (change.created) {
        const { row } = change;
        this.sql.exec(
          "INSERT INTO chunks (id, lease_until, started, range_from, range_to, listed, dispatched_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
          id,
          row.leaseUntil,
          row.started ? 1 : 0,
          row.range?.from ?? null,
          row.range?.to ?? null,
          JSON.stringify(row.listed),
          row.dispatchedAt,
        );
      } else this.sql.exec("UPDATE chunks SET lease_until = ?, started = ? WHERE id = ?", change.row.leaseUntil, change.row.started ? 1 : 0, id);
    }
    const { spec: _spec, topN, ...state } = job;
    if (topN !== this.savedTopN) {
      this.sql.exec("UPDATE job SET top_n = ? WHERE id = ?", JSON.stringify(topN), job.id);
      this.savedTopN = topN;
    }
    const data = JSON.stringify(state);
    if (data === this.savedData) return;
    this.sql.exec("UPDATE job SET data = ? WHERE id = ?", data, job.id);
    this.savedData = data;
  }

  private upsertTask(t: TaskRow): void {
    this.sql.exec(
      UPSERT_TASK,
      t.idx,
      t.status,
      t.attempt,
      t.retries,
      t.requeues,
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

  /** Which of these tasks have a row in `tasks`, in one statement. */
  private rowIndexesOf(tasks: TaskRow[]): Set<number> {
    const found = this.sql.exec("SELECT idx FROM tasks WHERE idx IN (SELECT value FROM json_each(?))", JSON.stringify(tasks.map((t) => t.idx)));
    return new Set(found.toArray().map((r) => r.idx as number));
  }

  /** Appends succeeded rows of tasks that have no row to the outcome log. */
  private logSucceeded(rows: TaskRow[]): void {
    // In change order, so that entries (split at LOG_ROWS_PER_ENTRY) hold ascending changes in seq order.
    rows.sort((a, b) => a.dirty - b.dirty);
    for (let i = 0; i < rows.length; i += this.logRowsPerEntry) {
      const entry = rows.slice(i, i + this.logRowsPerEntry);
      let minIdx = Infinity;
      let maxIdx = -Infinity;
      let maxDirty = 0;
      for (const t of entry) {
        if (t.idx < minIdx) minIdx = t.idx;
        if (t.idx > maxIdx) maxIdx = t.idx;
        if (t.dirty > maxDirty) maxDirty = t.dirty;
      }
      this.sql.exec("INSERT INTO outcomes (min_idx, max_idx, max_dirty, rows) VALUES (?, ?, ?, ?)", minIdx, maxIdx, maxDirty, JSON.stringify(entry.map(toLogged)));
    }
  }

  /** Task rows in index order after `afterIdx`, optionally of one status, from the tasks table and the outcome log. */
  listTasks(afterIdx: number, limit: number, status?: TaskStatus): TaskRow[] {
    // Succeeded rows of a store before version 5 are in `tasks` too.
    const own = (
      status
        ? this.sql.exec("SELECT * FROM tasks WHERE idx > ? AND status = ? ORDER BY idx LIMIT ?", afterIdx, status, limit)
        : this.sql.exec("SELECT * FROM tasks WHERE idx > ? ORDER BY idx LIMIT ?", afterIdx, limit)
    )
      .toArray()
      .map(toTask);
    if (status !== undefined && status !== "succeeded") return own;
    const rowsOf = (seq: number) => logRowsOf(this.sql.exec("SELECT rows FROM outcomes WHERE seq = ?", seq).one());
    return mergeBy((t) => t.idx, limit, own, firstLogged(this.entriesAfter(afterIdx), rowsOf, afterIdx, limit));
  }

  /**
   * Log entries holding an index above `afterIdx`, in order of their smallest, read a batch of
   * bounds at a time: a page reads only the entries it needs, however long the log (an entry's
   * smallest index is one of its tasks', so no two entries share it).
   */
  private *entriesAfter(afterIdx: number): Generator<{ seq: number; minIdx: number }> {
    for (let from = -1; ; ) {
      const batch = this.sql
        .exec("SELECT seq, min_idx FROM outcomes WHERE max_idx > ? AND min_idx > ? ORDER BY min_idx LIMIT ?", afterIdx, from, this.boundsPerRead)
        .toArray();
      for (const e of batch) yield { seq: e.seq as number, minIdx: e.min_idx as number };
      if (batch.length < this.boundsPerRead) return;
      from = batch.at(-1)!.min_idx as number;
    }
  }

  /**
   * (index, score, change) of the succeeded tasks whose row changed after `since`, from both tables:
   * a succeeded task never changes again, so a reader that keeps the highest change seen adds each once.
   */
  succeededSince(since: number): [idx: number, score: number, dirty: number][] {
    const own = this.sql
      .exec("SELECT idx, score, dirty FROM tasks WHERE dirty > ? AND status = 'succeeded' AND score IS NOT NULL", since)
      .toArray()
      .map((r): [number, number, number] => [r.idx as number, r.score as number, r.dirty as number]);
    const logged = this.sql
      .exec(
        `SELECT j.value ->> '$[0]' AS idx, j.value ->> '$[4]' AS score, j.value ->> '$[10]' AS dirty
         FROM outcomes, json_each(outcomes.rows) AS j WHERE outcomes.max_dirty > ?1 AND (j.value ->> '$[10]') > ?1 AND (j.value ->> '$[4]') IS NOT NULL`,
        since,
      )
      .toArray()
      .map((r): [number, number, number] => [r.idx as number, r.score as number, r.dirty as number]);
    return [...own, ...logged];
  }

  /** Rows changed since D1 confirmed change number `confirmed`, oldest change first. */
  dirtyTasks(confirmed: number, limit: number): TaskRow[] {
    const own = this.sql.exec("SELECT * FROM tasks WHERE dirty > ? ORDER BY dirty LIMIT ?", confirmed, limit).toArray().map(toTask);
    // Log entries hold ascending changes in seq order: once `limit` rows are read, later ones are all newer.
    const logged: TaskRow[] = [];
    // Each entry holds a row at least: `limit` entries hold enough, however far D1 has fallen behind.
    const entries = this.sql.exec("SELECT seq FROM outcomes WHERE max_dirty > ? ORDER BY seq LIMIT ?", confirmed, limit).toArray();
    for (const { seq } of entries) {
      if (logged.length >= limit) break;
      for (const t of logRowsOf(this.sql.exec("SELECT rows FROM outcomes WHERE seq = ?", seq).one())) if (t.dirty > confirmed) logged.push(t);
    }
    return mergeBy((t) => t.dirty, limit, own, logged);
  }
}

/** Fields a version-1 job row lacks: D1 had its row; its task rows may be owed (the next flush finds out). */
const V1_DEFAULTS = (data: Pick<JobRow, "changeSeq">) => ({
  taskChangeSeq: data.changeSeq,
  d1TaskSeq: 0,
  d1Inserted: true,
  d1Failures: 0,
  d1RetryAt: 0,
  sendFailures: 0,
  sendPausedUntil: 0,
  materialize: null,
});
