import { Hono } from "hono";
import { z } from "zod";
import { CancelRequest, JobId, ListJobsQuery, ListTasksQuery } from "../../schema";
import { cancelJob, getJob, listJobs, listTasks, submitJob } from "../jobs/service";
import { jsonBody, parseInput } from "./parse";
import { jobContext, type AppEnv } from "./context";

const JobIdParam = z.object({ id: JobId });
const jobIdParam = (id: string) => parseInput(JobIdParam, { id }).id;

/** REST under /api/v1: the same operations as tRPC, on the same service and schemas. */
export const optimizationRoutes = new Hono<AppEnv>()
  .post("/optimizations", async (c) => {
    const ctx = await jobContext(c);
    const job = await submitJob(ctx, await jsonBody(c.req.raw));
    c.header("Location", `/api/v1/optimizations/${job.id}`);
    return c.json(job, 201);
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
