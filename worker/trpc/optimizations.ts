import { z } from "zod";
import { CancelRequest, JobId, ListJobsQuery, ListTasksQuery, SubmitInput } from "../../schema";
import { cancelJob, getJob, listJobs, listTasks, submitJob } from "../jobs/service";
import { router, tenantProcedure } from "./init";

const byId = z.object({ id: JobId });

/** The optimizations domain: the same operations as REST /api/v1/optimizations. */
export const optimizationsRouter = router({
  submit: tenantProcedure.input(SubmitInput).mutation(async ({ ctx, input: { idempotencyKey, ...spec } }) => (await submitJob(ctx.job, spec, idempotencyKey)).job),
  status: tenantProcedure.input(byId).query(({ ctx, input }) => getJob(ctx.job, input.id)),
  cancel: tenantProcedure.input(byId.extend(CancelRequest.shape)).mutation(({ ctx, input }) => cancelJob(ctx.job, input.id, input.reason)),
  list: tenantProcedure.input(ListJobsQuery.default({ limit: 50 })).query(({ ctx, input }) => listJobs(ctx.job, input)),
  tasks: tenantProcedure.input(byId.extend(ListTasksQuery.shape)).query(({ ctx, input: { id, ...query } }) => listTasks(ctx.job, id, query)),
});
