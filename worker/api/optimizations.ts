import { Hono } from "hono";
import { z } from "zod";
import { CancelRequest, IdempotencyKey, JobId, ListJobsQuery, ListTasksQuery } from "../../schema";
import { cancelJob, getJob, listJobs, listTasks, submitJob } from "../jobs/service";
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
  });
