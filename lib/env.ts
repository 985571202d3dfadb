import type { QueueMessage } from "../schema";

/**
 * The bindings the Worker and the job's Durable Object both use (wrangler.toml), plus the vars and
 * secrets that lib/config.ts validates. The job namespace is the Worker's alone (worker/env.ts), so
 * nothing here depends on the Durable Object's class.
 */
export interface SharedEnv {
  TASK_QUEUE: Queue<QueueMessage>;
  DB: D1Database;
  RESULTS: R2Bucket;
  /** Workers Analytics Engine: one data point per task attempt. */
  ANALYTICS?: AnalyticsEngineDataset;
  [name: string]: unknown;
}
