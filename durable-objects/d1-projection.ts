import type { ParamSet } from "../schema";
import { queuedOf, type JobRow, type TaskRow } from "./job-state";
import type { MetricBatch } from "./metric-outbox";

/** Rows a statement carries: one bound JSON parameter per statement sidesteps D1's 100-parameter limit. */
export const TASK_ROWS_PER_STATEMENT = 250;
export const STATEMENTS_PER_BATCH = 20;

/**
 * The job's row. The first write inserts it with the spec (up to 1 MiB) and the concurrency the
 * tenant's chunk quota counts, unless the Worker's admission did already; later ones update the state
 * only. Every write carries the row's change number and D1 keeps the newest: a late write from an
 * older instance of the object never regresses the row.
 */
export function jobUpsert(db: D1Database, job: JobRow, changeSeq: number, updatedAt: string): D1PreparedStatement {
  const state = [job.status, job.total, job.succeeded, job.failed, job.canceled, job.running, queuedOf(job), job.retries,
    JSON.stringify(job.topN), job.stopReason ? JSON.stringify(job.stopReason) : null, job.startedAt, job.finishedAt, updatedAt, changeSeq] as const;
  if (job.d1Inserted) {
    return db
      .prepare(
        `UPDATE optimization_jobs SET status = ?1, total = ?2, succeeded = ?3, failed = ?4, canceled = ?5, running = ?6, queued = ?7,
           retries = ?8, top_n = ?9, stop_reason = ?10, started_at = ?11, finished_at = ?12, updated_at = ?13, change_seq = ?14
         WHERE id = ?15 AND change_seq < ?14`,
      )
      .bind(...state, job.id);
  }
  return db
    .prepare(
      `INSERT INTO optimization_jobs (status, total, succeeded, failed, canceled, running, queued, retries, top_n, stop_reason,
         started_at, finished_at, updated_at, change_seq, id, tenant, name, strategy, dataset, spec, created_at, concurrency_limit)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, total = excluded.total, succeeded = excluded.succeeded,
         failed = excluded.failed, canceled = excluded.canceled, running = excluded.running, queued = excluded.queued,
         retries = excluded.retries, top_n = excluded.top_n, stop_reason = excluded.stop_reason, started_at = excluded.started_at,
         finished_at = excluded.finished_at, updated_at = excluded.updated_at, change_seq = excluded.change_seq
       WHERE excluded.change_seq > optimization_jobs.change_seq`,
    )
    .bind(...state, job.id, job.tenant, job.spec.name ?? null, job.spec.strategy, job.spec.dataset, JSON.stringify(job.spec), job.createdAt, job.spec.concurrencyLimit);
}

/**
 * Upserts task rows from one JSON array: `INSERT ... SELECT FROM json_each(?)`, so a statement holds
 * hundreds of rows. Each row carries its change number (last); an older one never overwrites a newer.
 */
export function taskUpserts(
  db: D1Database,
  job: Pick<JobRow, "id" | "tenant">,
  tasks: readonly (TaskRow & { change: number })[],
  paramsAt: (idx: number) => ParamSet,
): D1PreparedStatement[] {
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < tasks.length; i += TASK_ROWS_PER_STATEMENT) {
    // Arrays rather than objects: a row's JSON carries no key names (about a third smaller).
    const rows = tasks
      .slice(i, i + TASK_ROWS_PER_STATEMENT)
      .map((t) => [t.idx, paramsAt(t.idx), t.status, t.attempt, t.retries, t.score, t.metrics, t.resultSummaryId, t.errorKind, t.errorMessage, t.queueWaitMs, t.execMs, t.updatedAt, t.change]);
    statements.push(
      db
        .prepare(
          `INSERT INTO optimization_tasks (job_id, idx, tenant, params, status, attempt, retries, score, metrics,
             result_summary_id, error_kind, error_message, queue_wait_ms, exec_ms, created_at, updated_at, change_seq)
           SELECT ?1, j.value ->> '$[0]', ?2, j.value ->> '$[1]', j.value ->> '$[2]', j.value ->> '$[3]', j.value ->> '$[4]',
             j.value ->> '$[5]', j.value ->> '$[6]', j.value ->> '$[7]', j.value ->> '$[8]', j.value ->> '$[9]',
             j.value ->> '$[10]', j.value ->> '$[11]', j.value ->> '$[12]', j.value ->> '$[12]', j.value ->> '$[13]'
           FROM json_each(?3) AS j WHERE true
           ON CONFLICT (job_id, idx) DO UPDATE SET status = excluded.status, attempt = excluded.attempt,
             retries = excluded.retries, score = excluded.score, metrics = excluded.metrics,
             result_summary_id = excluded.result_summary_id, error_kind = excluded.error_kind,
             error_message = excluded.error_message, queue_wait_ms = excluded.queue_wait_ms, exec_ms = excluded.exec_ms,
             updated_at = excluded.updated_at, change_seq = excluded.change_seq
           WHERE excluded.change_seq > optimization_tasks.change_seq`,
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
export function metricUpserts(db: D1Database, jobId: string, batch: MetricBatch): D1PreparedStatement[] {
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
