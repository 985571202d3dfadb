import { TERMINAL_JOB_STATUSES, taskIdOf, type Job, type JobStats, type Task } from "../schema";
import type { Grid } from "../lib/grid";
import { queuedOf, type JobRow, type TaskRow } from "./job-state";
import { quantile, type Sketch } from "./sketch";

/** What the API shows of a job's state: the status response, a task row, the stats. Pure. */

const timing = (s: Sketch) => ({ mean: s.count ? s.sum / s.count : null, p50: quantile(s, 0.5), p95: quantile(s, 0.95) });

export function jobStats(job: JobRow, now: number): JobStats {
  const finished = job.succeeded + job.failed;
  const end = job.finishedAt ? Date.parse(job.finishedAt) : now;
  const elapsedSec = job.startedAt ? (end - Date.parse(job.startedAt)) / 1000 : 0;
  const exec = timing(job.timings.exec);
  const remaining = TERMINAL_JOB_STATUSES.includes(job.status) ? 0 : job.total - finished - job.canceled;
  return {
    queueWait: timing(job.timings.queueWait),
    exec,
    retries: job.retries,
    throughputPerSec: finished > 0 && elapsedSec > 0 ? finished / elapsedSec : null,
    etaSeconds: remaining === 0 ? 0 : exec.mean === null ? null : (remaining * exec.mean) / Math.min(job.spec.concurrencyLimit, remaining) / 1000,
  };
}

export function jobView(job: JobRow, now: number): Job {
  return {
    id: job.id,
    name: job.spec.name ?? null,
    status: job.status,
    strategy: job.spec.strategy,
    dataset: job.spec.dataset,
    spec: job.spec,
    createdAt: job.createdAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
    summary: {
      total: job.total,
      finished: job.succeeded + job.failed,
      succeeded: job.succeeded,
      failed: job.failed,
      canceled: job.canceled,
      running: job.running,
      queued: queuedOf(job),
      retries: job.retries,
      topN: job.topN,
    },
    stats: jobStats(job, now),
    stopReason: job.stopReason,
  };
}

export function taskView(job: JobRow, grid: Grid, t: TaskRow): Task {
  return {
    taskId: taskIdOf(job.id, t.idx),
    index: t.idx,
    params: grid.paramsAt(t.idx),
    status: t.status,
    attempt: t.attempt,
    retries: t.retries,
    score: t.score,
    metrics: t.metrics,
    resultConstraintsMet: t.constraintsMet,
    resultSummaryId: t.resultSummaryId,
    errorKind: t.errorKind,
    errorMessage: t.errorMessage,
    queueWaitMs: t.queueWaitMs,
    execMs: t.execMs,
  };
}
