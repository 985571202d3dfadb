import type { Env } from "./env";

/** A job's Durable Object is named from tenant and job id, so another tenant's id never reaches it. */
export const jobObjectName = (tenant: string, jobId: string): string => `${tenant}:${jobId}`;

export const jobStub = (env: Env, tenant: string, jobId: string) =>
  env.OPTIMIZATION_JOB.get(env.OPTIMIZATION_JOB.idFromName(jobObjectName(tenant, jobId)));
