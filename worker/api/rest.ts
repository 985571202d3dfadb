import { Hono } from "hono";
import { z } from "zod";
import { CancelRequest, JobId, ListJobsQuery, ListTasksQuery } from "../../schema";
import { ApiError } from "../errors";
import { cancelJob, getJob, listJobs, listTasks, submitJob } from "../jobs/service";
import { zodIssues } from "../jobs/validate-spec";
import { jobContext, type AppEnv } from "./context";

function parse<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ApiError("validation_failed", "invalid request", zodIssues(parsed.error));
  return parsed.data;
}

async function jsonBody(req: Request, optional = false): Promise<unknown> {
  const text = await req.text();
  if (optional && text.trim() === "") return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError("bad_request", "the request body is not valid JSON");
  }
}

const JobIdParam = z.object({ id: JobId });
const jobIdParam = (id: string) => parse(JobIdParam, { id }).id;

/** REST under /api/v1: the same operations as tRPC, on the same service and schemas. */
export const restRoutes = new Hono<AppEnv>()
  .post("/optimizations", async (c) => {
    const ctx = jobContext(c);
    const job = await submitJob(ctx, await jsonBody(c.req.raw));
    c.header("Location", `/api/v1/optimizations/${job.id}`);
    return c.json(job, 201);
  })
  .get("/optimizations", async (c) => {
    const ctx = jobContext(c);
    return c.json(await listJobs(ctx, parse(ListJobsQuery, c.req.query())));
  })
  .get("/optimizations/:id", async (c) => c.json(await getJob(jobContext(c), jobIdParam(c.req.param("id")))))
  .get("/optimizations/:id/status", async (c) => c.json(await getJob(jobContext(c), jobIdParam(c.req.param("id")))))
  .get("/optimizations/:id/tasks", async (c) => {
    const ctx = jobContext(c);
    return c.json(await listTasks(ctx, jobIdParam(c.req.param("id")), parse(ListTasksQuery, c.req.query())));
  })
  .post("/optimizations/:id/cancel", async (c) => {
    const ctx = jobContext(c);
    const id = jobIdParam(c.req.param("id"));
    const { reason } = parse(CancelRequest, await jsonBody(c.req.raw, true));
    return c.json(await cancelJob(ctx, id, reason), 202);
  });
