import { and, desc, eq, lt, or } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { optimizationJobs } from "../../schema/tables";
import { HeatmapQuery, type Heatmap, type Job, type JobListItem, type JobStatus, type ListJobsQuery, type ListTasksQuery, type LiveTicket, type Page, type StopReason, type Task } from "../../schema";
import { encodeTicket } from "../../lib/live-ticket";
import type { Config } from "../../lib/config";
import type { Env } from "../env";
import { ApiError } from "../../lib/errors";
import { resolveDataset } from "../datasets/service";
import { jobStub } from "../job-ref";
import type { Logger } from "../../lib/log";
import { checkFeasible, parseSpec } from "./validate-spec";
import { admitJob, releaseJob, type Admission } from "./admission";
import { specHash } from "./idempotency";
import { jobBeyondQuota } from "../quota/limits";

/** Who is asking: every operation is scoped to one tenant. */
export interface JobContext {
  env: Env;
  config: Config;
  tenant: string;
  requestId?: string;
  log: Logger;
}

const notFound = (id: string) => new ApiError("not_found", `no optimization ${id}`);

/**
 * Validates, admits the job against the tenant's quotas (and its Idempotency-Key), then hands it to
 * its Durable Object; answers once the DO and D1 hold it. `replayed`: the key had already made this
 * job from the same spec, within 24 h, and it is answered again (nothing new is charged or created).
 */
export async function submitJob(ctx: JobContext, input: unknown, idempotencyKey?: string): Promise<{ job: Job; replayed: boolean }> {
  const parsed = parseSpec(input);
  // An upload is pinned to its current version (u-<name> -> u-<name>@<version>): the job keeps its data.
  const dataset = await resolveDataset(ctx.env, ctx.tenant, parsed.dataset);
  const spec = dataset ? { ...parsed, dataset: dataset.id } : parsed;
  const total = checkFeasible(spec, ctx.config, dataset !== null);
  const beyond = jobBeyondQuota({ total, concurrencyLimit: spec.concurrencyLimit }, ctx.config);
  if (beyond) throw beyond;
  const now = Date.now();
  const admission: Admission = {
    jobId: crypto.randomUUID(),
    tenant: ctx.tenant,
    spec,
    total,
    createdAt: new Date(now).toISOString(),
    ...(idempotencyKey === undefined ? {} : { idempotency: { key: idempotencyKey, bodyHash: await specHash(parsed) } }),
  };
  const outcome = await admitJob(ctx.env.DB, admission, ctx.config, now);
  if (outcome.kind === "over-quota") throw outcome.error;
  if (outcome.kind === "key-conflict") {
    throw new ApiError("idempotency_conflict", "this Idempotency-Key was used with another spec in the last 24 h", [
      { path: "Idempotency-Key", message: "already used with another spec" },
    ]);
  }
  // A replay starts the job it found: start() is idempotent, and this covers a first submit that
  // admitted the job but has not reached its DO yet.
  const { jobId, ...start } = outcome.kind === "replay" ? outcome.job : admission;
  let job: Job;
  try {
    job = await jobStub(ctx.env, ctx.tenant, jobId).start({ jobId, tenant: ctx.tenant, spec: start.spec, total: start.total, createdAt: start.createdAt, requestId: ctx.requestId });
  } catch (err) {
    if (outcome.kind === "admitted") await releaseJob(ctx.env.DB, admission, now);
    throw err;
  }
  ctx.log.info(outcome.kind === "replay" ? "api.job_replayed" : "api.job_submitted", { jobId, total: job.summary.total });
  return { job, replayed: outcome.kind === "replay" };
}

export async function getJob(ctx: JobContext, id: string): Promise<Job> {
  const job = await jobStub(ctx.env, ctx.tenant, id).status();
  if (!job) throw notFound(id);
  return job;
}

/** Cancel answers with the job as it now stands; a second cancel is harmless, a job ended otherwise is a 409. */
export async function cancelJob(ctx: JobContext, id: string, reason?: string): Promise<Job> {
  const result = await jobStub(ctx.env, ctx.tenant, id).cancel(reason, ctx.requestId);
  if (result.outcome === "not-found") throw notFound(id);
  if (result.outcome === "conflict") throw new ApiError("conflict", `optimization ${id} already ended as ${result.job.status}`);
  ctx.log.info("api.job_canceled", { jobId: id, outcome: result.outcome });
  return result.job;
}

export async function listTasks(ctx: JobContext, id: string, query: ListTasksQuery): Promise<Page<Task>> {
  const page = await jobStub(ctx.env, ctx.tenant, id).listTasks(query);
  if (!page) throw notFound(id);
  return page;
}

const encodeCursor = (createdAt: string, id: string) => btoa(JSON.stringify([createdAt, id])).replaceAll("=", "");
function decodeCursor(cursor: string): [string, string] {
  try {
    const value = JSON.parse(atob(cursor)) as unknown;
    if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === "string")) return value as [string, string];
  } catch {
    // fall through to the typed error
  }
  throw new ApiError("validation_failed", "invalid cursor", [{ path: "cursor", message: "not a cursor this API returned" }]);
}

/** The tenant's jobs from the D1 projection, newest first, keyset-paginated. */
export async function listJobs(ctx: JobContext, query: ListJobsQuery): Promise<Page<JobListItem>> {
  const db = drizzle(ctx.env.DB);
  const t = optimizationJobs;
  const after = query.cursor ? decodeCursor(query.cursor) : null;
  // Only what a list item shows: the spec (up to 1 MiB) and Top-N stay in D1.
  const rows = await db
    .select({
      id: t.id,
      name: t.name,
      status: t.status,
      strategy: t.strategy,
      dataset: t.dataset,
      createdAt: t.createdAt,
      startedAt: t.startedAt,
      finishedAt: t.finishedAt,
      stopReason: t.stopReason,
      total: t.total,
      succeeded: t.succeeded,
      failed: t.failed,
      canceled: t.canceled,
      running: t.running,
      queued: t.queued,
      retries: t.retries,
    })
    .from(t)
    .where(and(eq(t.tenant, ctx.tenant), after ? or(lt(t.createdAt, after[0]), and(eq(t.createdAt, after[0]), lt(t.id, after[1]))) : undefined))
    .orderBy(desc(t.createdAt), desc(t.id))
    .limit(query.limit + 1);
  const items = rows.slice(0, query.limit).map(
    (r): JobListItem => ({
      id: r.id,
      name: r.name,
      status: r.status as JobStatus,
      strategy: r.strategy,
      dataset: r.dataset,
      createdAt: r.createdAt,
      startedAt: r.startedAt,
      finishedAt: r.finishedAt,
      stopReason: r.stopReason ? (JSON.parse(r.stopReason) as StopReason) : null,
      summary: {
        total: r.total,
        finished: r.succeeded + r.failed,
        succeeded: r.succeeded,
        failed: r.failed,
        canceled: r.canceled,
        running: r.running,
        queued: r.queued,
        retries: r.retries,
      },
    }),
  );
  const last = items.at(-1);
  return { items, nextCursor: rows.length > query.limit && last ? encodeCursor(last.createdAt, last.id) : null };
}


/**
 * A single-use WebSocket URL for the job's live stream. The ticket names the tenant (so the socket's
 * request, which carries no key, reaches this tenant's DO) and a secret only that DO holds the hash of.
 */
export async function liveTicket(ctx: JobContext, id: string, origin: string): Promise<LiveTicket> {
  const issued = await jobStub(ctx.env, ctx.tenant, id).liveTicket();
  if (!issued) throw notFound(id);
  const url = new URL(`/api/v1/optimizations/${id}/live`, origin);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("ticket", encodeTicket(ctx.tenant, issued.secret));
  return { url: url.toString(), expiresAt: issued.expiresAt };
}

/** The heatmap of the objective over two params, aggregated by the job's DO. */
export async function getHeatmap(ctx: JobContext, id: string, query: HeatmapQuery): Promise<Heatmap> {
  const answer = await jobStub(ctx.env, ctx.tenant, id).heatmap(HeatmapQuery.parse(query));
  if (!answer) throw notFound(id);
  if (!answer.ok) throw new ApiError("validation_failed", answer.message, [{ path: answer.path, message: answer.message }]);
  // RPC's types widen the cells' tuples to arrays; the values are the DO's Heatmap as it built it.
  return answer.heatmap as Heatmap;
}
