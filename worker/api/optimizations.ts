import { Hono } from "hono";
import { z } from "zod";
import { CancelRequest, ExportQuery, HeatmapQuery, IdempotencyKey, JobId, ListJobsQuery, ListTasksQuery } from "../../schema";
import { loadConfig } from "../../lib/config";
import { ApiError } from "../../lib/errors";
import { decodeTicket } from "../../lib/live-ticket";
import { exportTasks } from "../jobs/export";
import { jobStub } from "../job-ref";
import { cancelJob, getHeatmap, getJob, listJobs, listTasks, liveTicket, submitJob } from "../jobs/service";
import { jsonBody, parseInput } from "./parse";
import { jobContext, type AppEnv } from "./context";

const JobIdParam = z.object({ id: JobId });
const IdempotencyKeyHeader = z.object({ "Idempotency-Key": IdempotencyKey });
const jobIdParam = (id: string) => parseInput(JobIdParam, { id }).id;

/** REST under /api/v1: the same operations as tRPC, on the same service and schemas. */
export const optimizationRoutes = new Hono<AppEnv>()
  .post("/optimizations", async (c) => {
    const ctx = await jobContext(c);
    const header = c.req.header("idempotency-key");
    const key = header === undefined ? undefined : parseInput(IdempotencyKeyHeader, { "Idempotency-Key": header })["Idempotency-Key"];
    const { job, replayed } = await submitJob(ctx, await jsonBody(c.req.raw), key);
    c.header("Location", `/api/v1/optimizations/${job.id}`);
    // A replay of an Idempotency-Key answers 200: the job exists already, nothing was created.
    return c.json(job, replayed ? 200 : 201);
  })
  .get("/optimizations", async (c) => {
    const ctx = await jobContext(c);
    return c.json(await listJobs(ctx, parseInput(ListJobsQuery, c.req.query())));
  })
  .get("/optimizations/:id", async (c) => c.json(await getJob(await jobContext(c), jobIdParam(c.req.param("id")))))
  .get("/optimizations/:id/status", async (c) => c.json(await getJob(await jobContext(c), jobIdParam(c.req.param("id")))))
  .get("/optimizations/:id/tasks", async (c) => {
    const ctx = await jobContext(c);
    return c.json(await listTasks(ctx, jobIdParam(c.req.param("id")), parseInput(ListTasksQuery, c.req.query())));
  })
  .post("/optimizations/:id/cancel", async (c) => {
    const ctx = await jobContext(c);
    const id = jobIdParam(c.req.param("id"));
    const { reason } = parseInput(CancelRequest, await jsonBody(c.req.raw, true));
    return c.json(await cancelJob(ctx, id, reason), 202);
  })
  .get("/optimizations/:id/heatmap", async (c) => {
    const ctx = await jobContext(c);
    return c.json(await getHeatmap(ctx, jobIdParam(c.req.param("id")), parseInput(HeatmapQuery, c.req.query())));
  })
  .get("/optimizations/:id/export", async (c) => {
    const ctx = await jobContext(c);
    const { format } = parseInput(ExportQuery, c.req.query());
    const { body, contentType, filename } = await exportTasks(ctx, jobIdParam(c.req.param("id")), format);
    return new Response(body, { headers: { "content-type": contentType, "content-disposition": `attachment; filename="${filename}"`, "cache-control": "no-store" } });
  })
  .post("/optimizations/:id/live", async (c) => {
    const ctx = await jobContext(c);
    return c.json(await liveTicket(ctx, jobIdParam(c.req.param("id")), new URL(c.req.url).origin), 201);
  })
  // The WebSocket itself: no key (browsers cannot send one), a single-use ticket instead, checked by the job's DO.
  .get("/optimizations/:id/live", async (c) => {
    const id = jobIdParam(c.req.param("id"));
    const ticket = decodeTicket(c.req.query("ticket") ?? "");
    // A tenant no key belongs to never reaches a Durable Object: nobody can make objects up by name here.
    if (!ticket || !loadConfig(c.env).API_KEYS.hasTenant(ticket.tenant)) {
      throw new ApiError("unauthorized", "a live ticket is required: POST /api/v1/optimizations/:id/live answers a URL with one");
    }
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") throw new ApiError("bad_request", "expected a WebSocket upgrade");
    const url = new URL(c.req.url);
    url.search = "";
    url.searchParams.set("secret", ticket.secret);
    return jobStub(c.env, ticket.tenant, id).fetch(new Request(url, c.req.raw));
  });
