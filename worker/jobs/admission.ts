import type { JobSpec } from "../../schema";
import { ApiError } from "../../lib/errors";
import { submitQuotaError, utcDay, type QuotaLimits, type TenantLoad } from "../quota/limits";
import { IDEMPOTENCY_TTL_MS } from "./idempotency";

export interface Admission {
  jobId: string;
  tenant: string;
  /** As the job's DO will hold it (dataset pinned). */
  spec: JobSpec;
  total: number;
  createdAt: string;
  idempotency?: { key: string; bodyHash: string };
}

/** What the DO's start() needs, as the admitted job's D1 row keeps it: a replay restarts from it. */
export interface AdmittedJob {
  jobId: string;
  spec: JobSpec;
  total: number;
  createdAt: string;
}

export type AdmissionOutcome =
  | { kind: "admitted" }
  | { kind: "replay"; job: AdmittedJob }
  | { kind: "key-conflict" }
  | { kind: "over-quota"; error: Error };

const ACTIVE = "status IN ('queued', 'running')";
const RUNNING_JOBS = `(SELECT COUNT(*) FROM optimization_jobs WHERE tenant = ?2 AND ${ACTIVE})`;
const CHUNKS = `(SELECT COALESCE(SUM(concurrency_limit), 0) FROM optimization_jobs WHERE tenant = ?2 AND ${ACTIVE})`;
const TASKS_TODAY = "COALESCE((SELECT tasks FROM tenant_usage WHERE tenant = ?2 AND day = ?10), 0)";

/**
 * Admits a job in one D1 batch (a transaction, so concurrent submits serialize): reserves the
 * Idempotency-Key (a fresh one, or one past its 24 h), inserts the job's row as `queued` only if the
 * tenant's quotas allow it and the key is this job's, charges the day's tasks only if the row went
 * in, and drops the reservation otherwise. A refused submit leaves D1 as it was. The DO's projection
 * upserts the same row later (worker first is compatible: it leaves spec and concurrency_limit).
 */
export async function admitJob(db: D1Database, a: Admission, limits: QuotaLimits, now: number): Promise<AdmissionOutcome> {
  const day = utcDay(now);
  const key = a.idempotency?.key ?? null;
  const keyIsOurs = key === null ? "" : "AND (SELECT job_id FROM idempotency_keys WHERE tenant = ?2 AND key = ?14) = ?1";
  // ?1 job, ?2 tenant, ... ?10 day, ?11..?13 limits, ?14 key.
  const params = [
    a.jobId,
    a.tenant,
    a.spec.name ?? null,
    a.spec.strategy,
    a.spec.dataset,
    JSON.stringify(a.spec),
    a.total,
    a.spec.concurrencyLimit,
    a.createdAt,
    day,
    limits.QUOTA_RUNNING_JOBS,
    limits.QUOTA_CHUNKS_IN_FLIGHT,
    limits.QUOTA_TASKS_PER_DAY,
    key,
  ];
  // D1 wants exactly as many bindings as the highest ?N a statement names.
  const prepare = (sql: string) => db.prepare(sql).bind(...params.slice(0, Math.max(...Array.from(sql.matchAll(/\?(\d+)/g), (m) => Number(m[1])))));
  const snapshot = prepare(`SELECT ${RUNNING_JOBS} AS runningJobs, ${CHUNKS} AS chunksInFlight, ${TASKS_TODAY} AS tasksToday`);
  const insert = prepare(
    `INSERT INTO optimization_jobs (id, tenant, name, strategy, dataset, status, spec, total, queued, concurrency_limit, created_at, updated_at)
     SELECT ?1, ?2, ?3, ?4, ?5, 'queued', ?6, ?7, ?7, ?8, ?9, ?9
     WHERE ${RUNNING_JOBS} < ?11 AND ${CHUNKS} + ?8 <= ?12 AND ${TASKS_TODAY} + ?7 <= ?13 ${keyIsOurs}`,
  );
  const charge = prepare(
    `INSERT INTO tenant_usage (tenant, day, tasks) SELECT ?2, ?10, ?7 WHERE EXISTS (SELECT 1 FROM optimization_jobs WHERE id = ?1)
     ON CONFLICT (tenant, day) DO UPDATE SET tasks = tasks + excluded.tasks`,
  );
  if (a.idempotency === undefined) {
    const [load, inserted] = await db.batch([snapshot, insert, charge]);
    return inserted!.meta.changes === 1 ? { kind: "admitted" } : overQuota(load!.results[0] as TenantLoad, a, limits, now);
  }
  const cutoff = new Date(now - IDEMPOTENCY_TTL_MS).toISOString();
  const [, load, inserted, , , stored] = await db.batch([
    db
      .prepare(
        `INSERT INTO idempotency_keys (tenant, key, body_hash, job_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (tenant, key) DO UPDATE SET body_hash = excluded.body_hash, job_id = excluded.job_id, created_at = excluded.created_at
         WHERE idempotency_keys.created_at <= ?6`,
      )
      .bind(a.tenant, key, a.idempotency.bodyHash, a.jobId, a.createdAt, cutoff),
    snapshot,
    insert,
    charge,
    db
      .prepare("DELETE FROM idempotency_keys WHERE tenant = ?1 AND key = ?2 AND job_id = ?3 AND NOT EXISTS (SELECT 1 FROM optimization_jobs WHERE id = ?3)")
      .bind(a.tenant, key, a.jobId),
    db
      .prepare(
        `SELECT k.body_hash AS bodyHash, k.job_id AS jobId, j.spec, j.total, j.created_at AS createdAt
         FROM idempotency_keys k LEFT JOIN optimization_jobs j ON j.id = k.job_id AND j.tenant = k.tenant
         WHERE k.tenant = ?1 AND k.key = ?2`,
      )
      .bind(a.tenant, key),
  ]);
  if (inserted!.meta.changes === 1) return { kind: "admitted" };
  const held = stored!.results[0] as { bodyHash: string; jobId: string; spec: string | null; total: number; createdAt: string } | undefined;
  if (!held) return overQuota(load!.results[0] as TenantLoad, a, limits, now);
  if (held.bodyHash !== a.idempotency.bodyHash) return { kind: "key-conflict" };
  if (held.spec === null) throw new ApiError("internal", `the idempotency key of job ${held.jobId} has no job row`);
  return { kind: "replay", job: { jobId: held.jobId, spec: JSON.parse(held.spec) as JobSpec, total: held.total, createdAt: held.createdAt } };
}

function overQuota(load: TenantLoad, a: Admission, limits: QuotaLimits, now: number): AdmissionOutcome {
  const error = submitQuotaError(load, { total: a.total, concurrencyLimit: a.spec.concurrencyLimit }, limits, now);
  if (!error) throw new ApiError("internal", "the admission insert refused a job that fits every quota");
  return { kind: "over-quota", error };
}

/** Undoes an admission whose job never reached its DO: the row, the day's tasks and the key go. */
export async function releaseJob(db: D1Database, a: Admission, now: number): Promise<void> {
  const removed = await db
    .prepare("DELETE FROM optimization_jobs WHERE id = ?1 AND tenant = ?2 AND status = 'queued' AND started_at IS NULL")
    .bind(a.jobId, a.tenant)
    .run();
  if (removed.meta.changes !== 1) return;
  await db.batch([
    db.prepare("UPDATE tenant_usage SET tasks = MAX(0, tasks - ?3) WHERE tenant = ?1 AND day = ?2").bind(a.tenant, utcDay(now), a.total),
    db.prepare("DELETE FROM idempotency_keys WHERE tenant = ?1 AND job_id = ?2").bind(a.tenant, a.jobId),
  ]);
}
