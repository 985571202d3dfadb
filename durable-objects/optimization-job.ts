import { DurableObject } from "cloudflare:workers";
import type { ChunkReport, Job, ListTasksQuery, Page, ReportAck, Task } from "../schema";
import { loadConfig } from "../lib/config";
import type { SharedEnv } from "../lib/env";
import { createLogger } from "../lib/log";
import type { StartInput } from "./job-core";
import { JobShell, type CancelResult, type JobPorts } from "./job-shell";

export type { StartInput } from "./job-core";
export type { CancelResult } from "./job-shell";

/** The job's ports in production: the Worker's bindings, the platform clock, crypto randomness. */
export const envPorts = (env: SharedEnv): JobPorts => ({
  now: () => Date.now(),
  seed: () => crypto.getRandomValues(new Uint32Array(1))[0]!,
  token: () => crypto.randomUUID(),
  send: async (messages) => void (await env.TASK_QUEUE.sendBatch(messages.map((body) => ({ body, contentType: "json" as const })))),
  writeD1: (statements) => env.DB.batch(statements),
  writePoint: (point) => env.ANALYTICS?.writeDataPoint(point),
  db: env.DB,
  logger: createLogger({ level: loadConfig(env).LOG_LEVEL }),
});

/**
 * One optimization job, its single writer: task state in SQLite, the concurrency semaphore, dispatch
 * with leases, retries with backoff, Top-N, early stop, cancel and the D1 projection. The decisions
 * live in job-core.ts, the I/O in job-shell.ts; this class only binds them to the platform.
 */
export class OptimizationJob extends DurableObject<SharedEnv> {
  private readonly shell: JobShell;

  constructor(ctx: DurableObjectState, env: SharedEnv) {
    super(ctx, env);
    this.shell = new JobShell(ctx.storage, loadConfig(env), envPorts(env));
  }

  start(input: StartInput): Promise<Job> {
    return this.shell.start(input);
  }

  async status(): Promise<Job | null> {
    return this.shell.status();
  }

  cancel(reason?: string, requestId?: string): Promise<CancelResult> {
    return this.shell.cancel(reason, requestId);
  }

  async listTasks(query: ListTasksQuery): Promise<Page<Task> | null> {
    return this.shell.listTasks(query);
  }

  report(report: ChunkReport): Promise<ReportAck> {
    return this.shell.report(report);
  }

  abandonChunk(chunkId: string, reason: string): Promise<void> {
    return this.shell.abandonChunk(chunkId, reason);
  }

  override alarm(): Promise<void> {
    return this.shell.alarm();
  }
}
