import type { ParamSet } from "../schema";
import { queuedOf, type JobRow, type TaskRow } from "./job-store";
import type { MetricOutbox } from "./metric-outbox";

/** Rows a statement carries: one bound JSON parameter per statement sidesteps D1's 100-parameter limit. */
export const TASK_ROWS_PER_STATEMENT = 250;
export const STATEMENTS_PER_BATCH = 20;

export function jobUpsert(db: D1Database, job: JobRow, updatedAt: string): D1PreparedStatement {
  const queued = queuedOf(job);
  return db
    .prepare(
      `INSERT INTO optimization_jobs (id, tenant, name, strategy, dataset, status, spec, total, succeeded, failed, canceled,
         running, queued, retries, top_n, stop_reason, created_at, started_at, finished_at, updated_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, total = excluded.total, succeeded = excluded.succeeded,
         failed = excluded.failed, canceled = excluded.canceled, running = excluded.running, queued = excluded.queued,
         retries = excluded.retries, top_n = excluded.top_n, stop_reason = excluded.stop_reason,
         started_at = excluded.started_at, finished_at = excluded.finished_at, updated_at = excluded.updated_at`,
    )
    .bind(
      job.id,
      job.tenant,
      job.spec.name ?? null,
      job.spec.strategy,
      job.spec.dataset,
      job.status,
      JSON.stringify(job.spec),
      job.total,
      job.succeeded,
      job.failed,
      job.canceled,
      job.running,
      queued,
      job.retries,
      JSON.stringify(job.topN),
      job.stopReason ? JSON.stringify(job.stopReason) : null,
      job.createdAt,
      job.startedAt,
      job.finishedAt,
      updatedAt,
    );
}

/** Upserts task rows from one JSON array: `INSERT ... SELECT FROM json_each(?)`, so a statement holds hundreds of rows. */
export function taskUpserts(db: D1Database, job: JobRow, tasks: readonly TaskRow[], paramsAt: (idx: number) => ParamSet): D1PreparedStatement[] {
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < tasks.length; i += TASK_ROWS_PER_STATEMENT) {
    const rows = tasks.slice(i, i + TASK_ROWS_PER_STATEMENT).map((t) => ({
      i: t.idx,
      p: paramsAt(t.idx),
      s: t.status,
      a: t.attempt,
      r: t.retries,
      sc: t.score,
      m: t.metrics,
      id: t.resultSummaryId,
      ek: t.errorKind,
      em: t.errorMessage,
      qw: t.queueWaitMs,
      ex: t.execMs,
      u: t.updatedAt,
    }));
    statements.push(
      db
        .prepare(
          `INSERT INTO optimization_tasks (job_id, idx, tenant, params, status, attempt, retries, score, metrics,
             result_summary_id, error_kind, error_message, queue_wait_ms, exec_ms, created_at, updated_at)
           SELECT ?1, j.value ->> '$.i', ?2, j.value ->> '$.p', j.value ->> '$.s', j.value ->> '$.a', j.value ->> '$.r',
             j.value ->> '$.sc', j.value ->> '$.m', j.value ->> '$.id', j.value ->> '$.ek', j.value ->> '$.em',
             j.value ->> '$.qw', j.value ->> '$.ex', j.value ->> '$.u', j.value ->> '$.u'
           FROM json_each(?3) AS j WHERE true
           ON CONFLICT (job_id, idx) DO UPDATE SET status = excluded.status, attempt = excluded.attempt,
             retries = excluded.retries, score = excluded.score, metrics = excluded.metrics,
             result_summary_id = excluded.result_summary_id, error_kind = excluded.error_kind,
             error_message = excluded.error_message, queue_wait_ms = excluded.queue_wait_ms, exec_ms = excluded.exec_ms,
             updated_at = excluded.updated_at`,
        )
        .bind(job.id, job.tenant, JSON.stringify(rows)),
    );
  }
  return statements;
}

/**
 * Adds a numbered batch of metric increments to the shared counters exactly once: the first
 * statement records (job, seq, token) only if seq is new, and the second applies the increments
 * only if its token is the one recorded. A resent batch, already applied, finds another token.
 */
export function metricUpserts(db: D1Database, jobId: string, batch: NonNullable<MetricOutbox["inflight"]>): D1PreparedStatement[] {
  return [
    db
      .prepare(
        `INSERT INTO metric_flushes (job_id, seq, token) VALUES (?1, ?2, ?3)
         ON CONFLICT (job_id) DO UPDATE SET seq = excluded.seq, token = excluded.token WHERE excluded.seq > metric_flushes.seq`,
      )
      .bind(jobId, batch.seq, batch.token),
    db
      .prepare(
        `INSERT INTO metric_counters (name, labels, value)
         SELECT j.value ->> '$.name', j.value ->> '$.labels', j.value ->> '$.value' FROM json_each(?3) AS j
         WHERE EXISTS (SELECT 1 FROM metric_flushes WHERE job_id = ?1 AND token = ?2)
         ON CONFLICT (name, labels) DO UPDATE SET value = metric_counters.value + excluded.value`,
      )
      .bind(jobId, batch.token, JSON.stringify(batch.samples)),
  ];
}
