import { z } from "zod";
import { CancelRequest, HeatmapQuery, JobId, ListJobsQuery, ListTasksQuery, SubmitInput } from "../../schema";
import { cancelJob, getHeatmap, getJob, listJobs, listTasks, liveTicket, submitJob } from "../jobs/service";
import { router, tenantProcedure } from "./init";

const byId = z.object({ id: JobId });

/** The optimizations domain: the same operations as REST /api/v1/optimizations. */
export const optimizationsRouter = router({
  submit: tenantProcedure.input(SubmitInput).mutation(async ({ ctx, input: { idempotencyKey, ...spec } }) => (await submitJob(ctx.job, spec, idempotencyKey)).job),
  status: tenantProcedure.input(byId).query(({ ctx, input }) => getJob(ctx.job, input.id)),
  cancel: tenantProcedure.input(byId.extend(CancelRequest.shape)).mutation(({ ctx, input }) => cancelJob(ctx.job, input.id, input.reason)),
  list: tenantProcedure.input(ListJobsQuery.default({ limit: 50 })).query(({ ctx, input }) => listJobs(ctx.job, input)),
  tasks: tenantProcedure.input(byId.extend(ListTasksQuery.shape)).query(({ ctx, input: { id, ...query } }) => listTasks(ctx.job, id, query)),
  heatmap: tenantProcedure.input(byId.extend(HeatmapQuery.shape)).query(({ ctx, input: { id, ...query } }) => getHeatmap(ctx.job, id, query)),
  /** A single-use WebSocket URL for the job's live stream (see LiveServerMessage). */
  live: tenantProcedure.input(byId).mutation(({ ctx, input }) => liveTicket(ctx.job, input.id, ctx.origin)),
});
