import { z } from "zod";
import { JOB_STATUSES } from "./status";

export const JobStatus = z.enum(JOB_STATUSES);
export type JobStatus = z.infer<typeof JobStatus>;
export { TERMINAL_JOB_STATUSES, isTerminalStatus } from "./status";

export const TaskStatus = z.enum(["queued", "running", "succeeded", "failed", "canceled"]);
export type TaskStatus = z.infer<typeof TaskStatus>;

export const ErrorKind = z.enum(["ParamInvalid", "UpstreamError", "InternalError"]);
export type ErrorKind = z.infer<typeof ErrorKind>;

export const ParamValue = z.union([z.number().finite(), z.string().max(200), z.boolean()]);
export type ParamValue = z.infer<typeof ParamValue>;
export type ParamSet = Record<string, ParamValue>;

const paramName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, "a letter or _ then letters, digits or _")
  .refine((name) => !(name in Object.prototype) && name !== "prototype", { message: "a reserved name" });

export const ValuesAxis = z.strictObject({ values: z.array(ParamValue).min(1).max(100_000) });
export const RangeAxis = z
  .strictObject({ min: z.number().finite(), max: z.number().finite(), step: z.number().finite().positive() })
  .refine((r) => r.max >= r.min, { message: "max must be >= min", path: ["max"] });
export const ParamAxis = z.union([ValuesAxis, RangeAxis]);
export type ParamAxis = z.infer<typeof ParamAxis>;

export const Mode = z.enum(["min", "max"]);
export type Mode = z.infer<typeof Mode>;

export const Objective = z.strictObject({ metric: z.string().min(1).max(64), mode: Mode });
export type Objective = z.infer<typeof Objective>;

export const EarlyStopPolicy = z.strictObject({
  metric: z.string().min(1).max(64),
  threshold: z.number().finite(),
  mode: Mode,
});
export type EarlyStopPolicy = z.infer<typeof EarlyStopPolicy>;

export const CompareOp = z.enum(["<", "<=", ">", ">=", "==", "!="]);
export type CompareOp = z.infer<typeof CompareOp>;

/** A rule between two parameters, or a parameter and a number: combinations breaking it are never run. */
export const ParamConstraint = z.strictObject({
  left: z.string().min(1).max(64),
  op: CompareOp,
  right: z.union([z.string().min(1).max(64), z.number().finite()]),
});
export type ParamConstraint = z.infer<typeof ParamConstraint>;

/** A rule on a result: results breaking it are kept but left out of Top-N and early stop. */
export const ResultConstraint = z.strictObject({ metric: z.string().min(1).max(64), op: CompareOp, value: z.number().finite() });
export type ResultConstraint = z.infer<typeof ResultConstraint>;

/** How a backtest fills orders: at the close that made the signal's bar, or at the next bar's open. */
export const ExecutionModel = z.enum(["close", "next-open"]);
export type ExecutionModel = z.infer<typeof ExecutionModel>;

/** What the consumer needs besides params to run a task; travels in every queue message. */
export const BacktestOptions = z.strictObject({
  feeBps: z.number().finite().min(0).max(1_000).default(0),
  slippageBps: z.number().finite().min(0).max(1_000).default(0),
  execution: ExecutionModel.default("close"),
});
export type BacktestOptions = z.output<typeof BacktestOptions>;

export const JobSpec = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  strategy: z.string().min(1).max(64),
  dataset: z.string().min(1).max(128),
  params: z
    .record(paramName, ParamAxis)
    .refine((p) => Object.keys(p).length >= 1, { message: "at least one parameter" })
    .refine((p) => Object.keys(p).length <= 16, { message: "at most 16 parameters" }),
  objective: Objective,
  topN: z.number().int().min(1).max(100).default(10),
  concurrencyLimit: z.number().int().min(1).max(256).default(4),
  earlyStopPolicy: EarlyStopPolicy.optional(),
  maxRetries: z.number().int().min(0).max(20).default(3),
  feeBps: BacktestOptions.shape.feeBps,
  slippageBps: BacktestOptions.shape.slippageBps,
  execution: BacktestOptions.shape.execution,
  constraints: z.array(ParamConstraint).max(32).default([]),
  resultConstraints: z.array(ResultConstraint).max(32).default([]),
});
/** What a client sends (defaults optional). */
export type JobSpecInput = z.input<typeof JobSpec>;
/** The spec after validation, defaults filled in. */
export type JobSpec = z.output<typeof JobSpec>;

export const TopNEntry = z.object({
  taskId: z.string(),
  index: z.number().int(),
  params: z.record(z.string(), ParamValue),
  score: z.number(),
  metrics: z.record(z.string(), z.number()),
  resultSummaryId: z.string().nullable(),
});
export type TopNEntry = z.infer<typeof TopNEntry>;

export const Summary = z.object({
  total: z.number().int(),
  finished: z.number().int(),
  succeeded: z.number().int(),
  failed: z.number().int(),
  canceled: z.number().int(),
  running: z.number().int(),
  queued: z.number().int(),
  retries: z.number().int(),
  topN: z.array(TopNEntry),
});
export type Summary = z.infer<typeof Summary>;

export const StopReason = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("early-stop"),
    metric: z.string(),
    threshold: z.number(),
    mode: Mode,
    value: z.number(),
    taskId: z.string(),
    at: z.string(),
  }),
  z.object({ kind: z.literal("cancel"), reason: z.string().nullable(), at: z.string() }),
]);
export type StopReason = z.infer<typeof StopReason>;

/** Milliseconds; null until the job has a measurement. p50/p95 come from a sketch (~2% relative error). */
export const TimingStats = z.object({ mean: z.number().nullable(), p50: z.number().nullable(), p95: z.number().nullable() });
export type TimingStats = z.infer<typeof TimingStats>;

export const JobStats = z.object({
  /** Enqueue to the consumer starting a task, per attempt. */
  queueWait: TimingStats,
  /** One backtest attempt. */
  exec: TimingStats,
  retries: z.number().int(),
  /** Finished tasks a second since the job started; null before any finished. */
  throughputPerSec: z.number().nullable(),
  /** Remaining tasks x mean exec time / concurrencyLimit; 0 once ended, null before a measurement. */
  etaSeconds: z.number().nullable(),
});
export type JobStats = z.infer<typeof JobStats>;

export const Job = z.object({
  id: z.string(),
  name: z.string().nullable(),
  status: JobStatus,
  strategy: z.string(),
  dataset: z.string(),
  spec: JobSpec,
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  summary: Summary,
  stats: JobStats,
  stopReason: StopReason.nullable(),
});
export type Job = z.infer<typeof Job>;

export const JobListItem = Job.omit({ spec: true, summary: true, stats: true }).extend({
  summary: Summary.omit({ topN: true }),
});
export type JobListItem = z.infer<typeof JobListItem>;

export const Task = z.object({
  taskId: z.string(),
  index: z.number().int(),
  params: z.record(z.string(), ParamValue),
  status: TaskStatus,
  attempt: z.number().int(),
  retries: z.number().int(),
  score: z.number().nullable(),
  metrics: z.record(z.string(), z.number()).nullable(),
  /** Whether the result met the job's result constraints (null without any, or before a success). */
  resultConstraintsMet: z.boolean().nullable(),
  resultSummaryId: z.string().nullable(),
  errorKind: ErrorKind.nullable(),
  errorMessage: z.string().nullable(),
  queueWaitMs: z.number().nullable(),
  execMs: z.number().nullable(),
});
export type Task = z.infer<typeof Task>;

const limit = z.coerce.number().int().min(1).max(500).default(50);

export const ListJobsQuery = z.strictObject({ limit, cursor: z.string().max(200).optional() });
export type ListJobsQuery = z.infer<typeof ListJobsQuery>;
export const ListTasksQuery = z.strictObject({
  status: TaskStatus.optional(),
  limit,
  cursor: z.string().regex(/^\d+$/, "a task index").max(12).optional(),
});
export type ListTasksQuery = z.infer<typeof ListTasksQuery>;
export const CancelRequest = z.strictObject({ reason: z.string().max(500).optional() });
export type CancelRequest = z.infer<typeof CancelRequest>;

/** A client's key for retrying a submit safely: printable ASCII, 1 to 255 characters. */
export const IdempotencyKey = z.string().min(1).max(255).regex(/^[\x20-\x7e]*$/, "printable ASCII");
export type IdempotencyKey = z.infer<typeof IdempotencyKey>;
/** tRPC `optimizations.submit`: the spec, plus the key REST takes as the `Idempotency-Key` header. */
export const SubmitInput = JobSpec.extend({ idempotencyKey: IdempotencyKey.optional() });
export type SubmitInput = z.input<typeof SubmitInput>;

export const Page = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });
export type Page<T> = { items: T[]; nextCursor: string | null };

export const JobId = z.string().regex(/^[A-Za-z0-9-]{1,64}$/, "a job id");

export const taskIdOf = (jobId: string, index: number): string => `${jobId}.${index}`;
