/**
 * A job's statuses as plain values, without zod: what clients (the page, the CLI) need at run time
 * without bundling the schemas. schema/job.ts builds `JobStatus` from them.
 */
export const JOB_STATUSES = ["queued", "running", "succeeded", "failed", "early-stopped", "canceled"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const TERMINAL_JOB_STATUSES: readonly JobStatus[] = ["succeeded", "failed", "early-stopped", "canceled"];
/** Whether a job has ended: its status changes no more. */
export const isTerminalStatus = (status: JobStatus): boolean => TERMINAL_JOB_STATUSES.includes(status);
