import { z } from "zod";
import { CancelRequest, JobId, JobSpec, ListJobsQuery, ListTasksQuery } from "../../schema";
import { cancelJob, getJob, listJobs, listTasks, submitJob } from "../jobs/service";
import { router, tenantProcedure } from "./init";

const byId = z.object({ id: JobId });

/** The optimizations domain: the same operations as REST /api/v1/optimizations. */
export const optimizationsRouter = router({
  submit: tenantProcedure.input(JobSpec).mutation(({ ctx, input }) => submitJob(ctx.job, input)),
  status: tenantProcedure.input(byId).query(({ ctx, input }) => getJob(ctx.job, input.id)),
  cancel: tenantProcedure.input(byId.extend(CancelRequest.shape)).mutation(({ ctx, input }) => cancelJob(ctx.job, input.id, input.reason)),
  list: tenantProcedure.input(ListJobsQuery.default({ limit: 50 })).query(({ ctx, input }) => listJobs(ctx.job, input)),
  tasks: tenantProcedure.input(byId.extend(ListTasksQuery.shape)).query(({ ctx, input: { id, ...query } }) => listTasks(ctx.job, id, query)),
});
