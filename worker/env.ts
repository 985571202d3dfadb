import type { OptimizationJob } from "../durable-objects/optimization-job";
import type { TaskChunkMessage } from "../schema";

/** Bindings from wrangler.toml plus the vars and secrets that worker/config.ts validates. */
export interface Env {
  OPTIMIZATION_JOB: DurableObjectNamespace<OptimizationJob>;
  TASK_QUEUE: Queue<TaskChunkMessage>;
  DB: D1Database;
  RESULTS: R2Bucket;
  /** Workers Analytics Engine: one data point per task attempt. */
  ANALYTICS?: AnalyticsEngineDataset;
  [name: string]: unknown;
}
