import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** D1 projection of each job, written by the job's Durable Object. */
export const optimizationJobs = sqliteTable(
  "optimization_jobs",
  {
    id: text("id").primaryKey(),
    tenant: text("tenant").notNull(),
    name: text("name"),
    strategy: text("strategy").notNull(),
    dataset: text("dataset").notNull(),
    status: text("status").notNull(),
    spec: text("spec").notNull(),
    total: integer("total").notNull(),
    /** Written by the Worker's admission insert (the DO's upsert leaves it): what the chunk quota sums. */
    concurrencyLimit: integer("concurrency_limit").notNull().default(0),
    succeeded: integer("succeeded").notNull().default(0),
    failed: integer("failed").notNull().default(0),
    canceled: integer("canceled").notNull().default(0),
    running: integer("running").notNull().default(0),
    queued: integer("queued").notNull().default(0),
    retries: integer("retries").notNull().default(0),
    topN: text("top_n").notNull().default("[]"),
    stopReason: text("stop_reason"),
    createdAt: text("created_at").notNull(),
    startedAt: text("started_at"),
    finishedAt: text("finished_at"),
    updatedAt: text("updated_at").notNull(),
    /** The DO's change number of this row: a write carrying an older number changes nothing. */
    changeSeq: integer("change_seq").notNull().default(0),
  },
  (t) => [index("optimization_jobs_tenant_created").on(t.tenant, t.createdAt, t.id), index("optimization_jobs_tenant_status").on(t.tenant, t.status)],
);

/** D1 projection of each task; a task's row appears once it was dispatched or the job ended. */
export const optimizationTasks = sqliteTable(
  "optimization_tasks",
  {
    jobId: text("job_id").notNull(),
    idx: integer("idx").notNull(),
    tenant: text("tenant").notNull(),
    params: text("params").notNull(),
    status: text("status").notNull(),
    attempt: integer("attempt").notNull().default(0),
    retries: integer("retries").notNull().default(0),
    score: real("score"),
    metrics: text("metrics"),
    resultSummaryId: text("result_summary_id"),
    errorKind: text("error_kind"),
    errorMessage: text("error_message"),
    queueWaitMs: real("queue_wait_ms"),
    execMs: real("exec_ms"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    /** The DO's change number of this row: a write carrying an older number changes nothing. */
    changeSeq: integer("change_seq").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.idx] }), index("optimization_tasks_job_status").on(t.jobId, t.status)],
);

/**
 * Uploaded datasets, one row per version; the bars live in R2 (worker/datasets/store.ts). A row is
 * `pending` from the moment its version is reserved until its R2 object is written, then `ready`;
 * only ready rows are listed or resolved.
 */
export const datasets = sqliteTable(
  "datasets",
  {
    tenant: text("tenant").notNull(),
    /** `u-<name>@<version>`: what a job's spec carries. */
    id: text("id").notNull(),
    name: text("name").notNull(),
    version: integer("version").notNull(),
    status: text("status").notNull(),
    bars: integer("bars").notNull(),
    firstDate: text("first_date").notNull(),
    lastDate: text("last_date").notNull(),
    /** Comma-separated: `open,high,low,close,volume`, `close`... (date is implied). */
    columns: text("columns").notNull(),
    /** Size of the uploaded CSV in bytes. */
    bytes: integer("bytes").notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenant, t.id] }), uniqueIndex("datasets_tenant_name_version").on(t.tenant, t.name, t.version)],
);

/** Metric series summed over every job: histogram buckets (non-cumulative), sums, counts, counters. */
export const metricCounters = sqliteTable(
  "metric_counters",
  {
    name: text("name").notNull(),
    labels: text("labels").notNull(),
    value: real("value").notNull(),
  },
  (t) => [primaryKey({ columns: [t.name, t.labels] })],
);

/** The last metric batch each job applied, so a resent batch is not counted twice. */
export const metricFlushes = sqliteTable("metric_flushes", {
  jobId: text("job_id").primaryKey(),
  seq: integer("seq").notNull(),
  token: text("token").notNull(),
});

/** What each tenant used per UTC day (`YYYY-MM-DD`), charged atomically against its daily quotas. */
export const tenantUsage = sqliteTable(
  "tenant_usage",
  {
    tenant: text("tenant").notNull(),
    day: text("day").notNull(),
    /** Sum of the totals of the jobs submitted that day. */
    tasks: integer("tasks").notNull().default(0),
    /** CSV bytes of the dataset uploads that day. */
    uploadBytes: integer("upload_bytes").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.tenant, t.day] })],
);

/** Idempotency-Key of a submit -> the job it made, per tenant; an entry older than 24 h is replaced. */
export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    tenant: text("tenant").notNull(),
    key: text("key").notNull(),
    /** SHA-256 (hex) of the canonical parsed spec: the same key with another body is refused. */
    bodyHash: text("body_hash").notNull(),
    jobId: text("job_id").notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenant, t.key] })],
);
