import { DurableObject } from "cloudflare:workers";
import type { ChunkReport, HeatmapAgg, Job, ListTasksQuery, Page, ReportAck, Task } from "../schema";
import { loadConfig } from "../lib/config";
import { ApiError } from "../lib/errors";
import type { SharedEnv } from "../lib/env";
import { createLogger } from "../lib/log";
import type { StartInput } from "./job-core";
import { JobShell, type CancelResult, type HeatmapAnswer, type JobPorts } from "./job-shell";
import { LiveHub } from "./live-hub";

export type { StartInput } from "./job-core";
export type { CancelResult, HeatmapAnswer } from "./job-shell";

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
  private readonly live: LiveHub;

  constructor(ctx: DurableObjectState, env: SharedEnv) {
    super(ctx, env);
    const ports = envPorts(env);
    this.live = new LiveHub(ctx, () => this.shell, ports.now);
    this.shell = new JobShell(ctx.storage, loadConfig(env), { ...ports, changed: (ended) => this.live.changed(ended) });
  }

  /**
   * The live stream's WebSocket upgrade, forwarded by the Worker with the ticket in the URL (the
   * Worker routed it here by the tenant the ticket names): the ticket is spent whatever the outcome.
   */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") return new ApiError("bad_request", "expected a WebSocket upgrade").getResponse();
    const secret = new URL(request.url).searchParams.get("secret");
    if (!secret || !(await this.shell.redeemTicket(secret))) {
      return new ApiError("unauthorized", "invalid, used or expired live ticket: ask POST /api/v1/optimizations/:id/live for a new one").getResponse();
    }
    return this.live.accept();
  }

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    this.live.message(ws, message);
  }

  override webSocketClose(ws: WebSocket, code: number): void {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, "closing");
    } catch {
      // Already closed.
    }
  }

  liveTicket(): Promise<{ secret: string; expiresAt: string } | null> {
    return this.shell.issueTicket();
  }

  heatmap(query: { x: string; y: string; agg: HeatmapAgg; at?: string | undefined }): HeatmapAnswer | null {
    return this.shell.heatmap(query);
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
