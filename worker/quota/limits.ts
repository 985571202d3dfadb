import type { Config } from "../../lib/config";
import { ApiError, QuotaExceeded } from "../../lib/errors";

/** Retry-After for the running-jobs and chunk quotas: jobs end in seconds to minutes, so look again soon. */
export const RUNNING_RETRY_AFTER_SECONDS = 30;

/** The UTC day a daily quota charges, `YYYY-MM-DD`. */
export const utcDay = (now: number): string => new Date(now).toISOString().slice(0, 10);

/** Whole seconds until the next UTC midnight, when the daily quotas start afresh (at least 1). */
export function secondsToUtcMidnight(now: number): number {
  const d = new Date(now);
  return Math.max(1, Math.ceil((Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1) - now) / 1000));
}

/** What a tenant holds when it submits: D1's queued/running jobs and today's charged tasks. */
export interface TenantLoad {
  runningJobs: number;
  chunksInFlight: number;
  tasksToday: number;
}

export type QuotaLimits = Pick<Config, "QUOTA_RUNNING_JOBS" | "QUOTA_CHUNKS_IN_FLIGHT" | "QUOTA_TASKS_PER_DAY" | "QUOTA_UPLOAD_BYTES_PER_DAY">;

/**
 * A job that alone passes a quota can never be admitted, however long it waits: a 422, not a 429
 * whose Retry-After would send the client round in circles.
 */
export function jobBeyondQuota(job: { total: number; concurrencyLimit: number }, limits: QuotaLimits): ApiError | null {
  if (job.concurrencyLimit > limits.QUOTA_CHUNKS_IN_FLIGHT) {
    return new ApiError("unprocessable", `concurrencyLimit ${job.concurrencyLimit} is over the tenant's quota of ${limits.QUOTA_CHUNKS_IN_FLIGHT} chunks in flight`, [
      { path: "concurrencyLimit", message: `at most ${limits.QUOTA_CHUNKS_IN_FLIGHT}` },
    ]);
  }
  if (job.total > limits.QUOTA_TASKS_PER_DAY) {
    return new ApiError("unprocessable", `the grid has ${job.total} tasks, over the tenant's quota of ${limits.QUOTA_TASKS_PER_DAY} a day`, [
      { path: "params", message: `at most ${limits.QUOTA_TASKS_PER_DAY} tasks` },
    ]);
  }
  return null;
}

/**
 * The quota a new job would break, as a 429 to throw, or null when it fits. The admission statement
 * (worker/jobs/admission.ts) enforces the same rules atomically in D1; this names the one that failed.
 */
export function submitQuotaError(load: TenantLoad, job: { total: number; concurrencyLimit: number }, limits: QuotaLimits, now: number): QuotaExceeded | null {
  if (load.runningJobs + 1 > limits.QUOTA_RUNNING_JOBS) {
    return new QuotaExceeded(`${load.runningJobs} jobs are queued or running; the quota is ${limits.QUOTA_RUNNING_JOBS} at once`, RUNNING_RETRY_AFTER_SECONDS);
  }
  if (load.chunksInFlight + job.concurrencyLimit > limits.QUOTA_CHUNKS_IN_FLIGHT) {
    return new QuotaExceeded(
      `running jobs hold ${load.chunksInFlight} chunks in flight and this one asks for ${job.concurrencyLimit}; the quota is ${limits.QUOTA_CHUNKS_IN_FLIGHT}`,
      RUNNING_RETRY_AFTER_SECONDS,
    );
  }
  if (load.tasksToday + job.total > limits.QUOTA_TASKS_PER_DAY) {
    return new QuotaExceeded(
      `${load.tasksToday} tasks were submitted today (UTC) and this job has ${job.total}; the quota is ${limits.QUOTA_TASKS_PER_DAY} a day`,
      secondsToUtcMidnight(now),
    );
  }
  return null;
}

export const uploadQuotaError = (bytes: number, limits: QuotaLimits, now: number): QuotaExceeded =>
  new QuotaExceeded(`an upload of ${bytes} bytes would pass today's (UTC) quota of ${limits.QUOTA_UPLOAD_BYTES_PER_DAY} bytes`, secondsToUtcMidnight(now));
