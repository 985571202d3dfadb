import type { ErrorKind, JobSpec, JobStatus, StopReason, TaskStatus, TopNEntry } from "../schema";
import type { Grid } from "../lib/grid";
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
   * The next accepted grid index to dispatch. Accepted indexes below it were dispatched: a task in
   * flight is named by its chunk's row, every other one has a task row. Those at or above it were
   * never dispatched and have none: queued while the job runs, canceled once it ended.
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
  /** Monotonic change counter: rows carry the value of their last change; D1 keeps the newest. */
  changeSeq: number;
  /** changeSeq of the job row's latest change not yet in D1; 0 when D1 is current. */
  jobDirty: number;
  /** changeSeq of the latest task row change, and the highest one D1 confirmed: rows are owed while they differ. */
  taskChangeSeq: number;
  d1TaskSeq: number;
  /** Whether D1 has the job's row (the first write carries the spec, later ones only the state). */
  d1Inserted: boolean;
  /** D1 writes failed in a row, and when the next may be tried. */
  d1Failures: number;
  d1RetryAt: number;
  /** Queue sends refused in a row, and until when dispatch pauses. */
  sendFailures: number;
  sendPausedUntil: number;
  /** An outbox: the Top-N whose details the consumer should store now the job ended; null once sent. */
  materialize: number[] | null;
}

export interface TaskRow {
  idx: number;
  status: TaskStatus;
  attempt: number;
  retries: number;
  /** Times a chunk holding this task outwaited its dispatch lease unstarted; bounded by MAX_REQUEUES. */
  requeues: number;
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
  /** changeSeq of its last change (0: never changed); D1 owes the row while this exceeds the job's d1TaskSeq. */
  dirty: number;
  updatedAt: string;
}

export interface ChunkRow {
  id: string;
  leaseUntil: number;
  /** Whether its consumer has checked in: until then the chunk may only be waiting in the queue. */
  started: boolean;
  /**
   * What its message named: accepted indexes in [from, to) at attempt 1, and re-dispatched tasks.
   * Claiming writes no task row (a task's first row is its outcome): on a restart, a task named
   * here is still running unless a row written after the claim says otherwise.
   */
  range: { from: number; to: number } | null;
  listed: { index: number; attempt: number }[];
  /** When it was dispatched (ISO): its running tasks' updatedAt. */
  dispatchedAt: string;
}

/** A chunk in flight and the grid indexes of its running tasks (derived from its row and the task rows on load). */
export interface Chunk extends ChunkRow {
  tasks: Set<number>;
}

/**
 * Everything the job's decisions read: the job row, its open tasks (running or waiting for a retry:
 * bounded by what is in flight, never the whole grid) and its chunks in flight. Terminal task rows
 * live only in storage.
 */
export interface JobState {
  job: JobRow;
  grid: Grid;
  open: Map<number, TaskRow>;
  /**
   * The open tasks waiting for a retry (or back in line after a requeue): what dispatch and the
   * alarm look through on every report, so they never walk the running tasks.
   */
  waiting: Set<number>;
  chunks: Map<string, Chunk>;
}

/** Tasks neither terminal nor running: waiting in the grid or for a retry. */
export const queuedOf = (job: Pick<JobRow, "total" | "succeeded" | "failed" | "canceled" | "running">): number =>
  job.total - job.succeeded - job.failed - job.canceled - job.running;

export const freshTask = (idx: number, status: "queued" | "canceled", updatedAt: string): TaskRow => ({
  idx,
  status,
  attempt: 0,
  retries: 0,
  requeues: 0,
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
  updatedAt,
});
