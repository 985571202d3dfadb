import { z } from "zod";
import { BacktestOptions, ErrorKind, ParamValue } from "./job";

/** One Queue message: a chunk of tasks of one job, run one after another by the consumer. */
export const TaskChunkMessage = z.object({
  v: z.literal(1),
  jobId: z.string(),
  tenant: z.string(),
  chunkId: z.string(),
  strategy: z.string(),
  dataset: z.string(),
  options: BacktestOptions,
  enqueuedAt: z.number(),
  tasks: z.array(
    z.object({ index: z.number().int().nonnegative(), attempt: z.number().int().positive(), params: z.record(z.string(), ParamValue) }),
  ),
});
export type TaskChunkMessage = z.infer<typeof TaskChunkMessage>;

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
}

export interface ReportAck {
  /** False once the job has ended or the chunk is no longer current: the consumer stops. */
  continue: boolean;
  accepted: number;
  /** How long the consumer should work before its next report: longer as the job's concurrency grows. */
  checkinMs: number;
}
