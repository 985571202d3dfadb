import { z } from "zod";
import { BacktestOptions, ErrorKind, type JobSpec } from "./job";

/**
 * A Queue message of a chunk of tasks of one job, run one after another by the consumer: a range of
 * grid indexes dispatched for the first time, then tasks dispatched again (retries, requeues) by
 * index. It names tasks, never their params: the consumer enumerates those from the job's grid (sent
 * with the chunk's first check-in), so a message stays small however many tasks it holds. Its `kind`
 * may be left out (messages sent before there was another kind have none).
 */
export const TaskChunkMessage = z.object({
  v: z.literal(1),
  kind: z.literal("chunk").optional(),
  jobId: z.string(),
  tenant: z.string(),
  chunkId: z.string(),
  strategy: z.string(),
  dataset: z.string(),
  options: BacktestOptions,
  enqueuedAt: z.number(),
  /**
   * Every accepted grid index in [from, to), each at attempt 1; absent: none. Under constraints the
   * span may far exceed the tasks it holds: the consumer jumps over rejected runs (grid.nextAccepted).
   */
  range: z
    .object({ from: z.number().int().nonnegative(), to: z.number().int().nonnegative() })
    .refine((r) => r.from <= r.to, "range: from <= to")
    .optional(),
  /** Tasks dispatched again, each at its own attempt; run after the range. */
  tasks: z.array(z.object({ index: z.number().int().nonnegative(), attempt: z.number().int().positive() })),
});
export type TaskChunkMessage = z.infer<typeof TaskChunkMessage>;

/** Most tasks one materialize message names (a Top-N is at most 100). */
export const MAX_MATERIALIZE_INDEXES = 100;

/**
 * A Queue message asking the consumer to compute and store the result details of some succeeded
 * tasks of a job (its Top-N when it ends), so that they open without a backtest's wait.
 */
export const MaterializeMessage = z.object({
  v: z.literal(1),
  kind: z.literal("materialize"),
  jobId: z.string().min(1),
  tenant: z.string().min(1),
  indexes: z.array(z.number().int().nonnegative()).min(1).max(MAX_MATERIALIZE_INDEXES),
});
export type MaterializeMessage = z.infer<typeof MaterializeMessage>;

/** What the task queue carries. */
export type QueueMessage = TaskChunkMessage | MaterializeMessage;

/** Whether a message body asks to materialize; anything else is read as a chunk (no `kind` is one). */
export const isMaterializeMessage = (body: unknown): boolean =>
  typeof body === "object" && body !== null && (body as { kind?: unknown }).kind === "materialize";

export const TaskOutcome = z.discriminatedUnion("ok", [
  z.object({
    ok: z.literal(true),
    index: z.number().int(),
    attempt: z.number().int(),
    metrics: z.record(z.string(), z.number()),
    resultSummaryId: z.string().nullable(),
    queueWaitMs: z.number(),
    execMs: z.number(),
  }),
  z.object({
    ok: z.literal(false),
    index: z.number().int(),
    attempt: z.number().int(),
    errorKind: ErrorKind,
    errorMessage: z.string(),
    queueWaitMs: z.number(),
    execMs: z.number(),
  }),
]);
export type TaskOutcome = z.infer<typeof TaskOutcome>;

/** What the consumer sends the job's DO every ~100 ms of work and at the end of a chunk. */
export interface ChunkReport {
  chunkId: string;
  outcomes: TaskOutcome[];
  /** True on the last report of the chunk: the consumer holds no more of its tasks. */
  done: boolean;
  /** Asks for the job's grid in the answer (a consumer that has not cached it yet). */
  wantGrid?: boolean;
}

/** What a consumer needs to enumerate a job's combinations by index. */
export type GridSpec = Pick<JobSpec, "params" | "constraints">;

export interface ReportAck {
  /** False once the job has ended or the chunk is no longer current: the consumer stops. */
  continue: boolean;
  accepted: number;
  /** How long the consumer should work before its next report: longer as the job's concurrency grows. */
  checkinMs: number;
  /** The job's grid, when the report asked for it and the chunk is current. */
  grid?: GridSpec;
}
