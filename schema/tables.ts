import { index, integer, primaryKey, real, sqliteTable, text } from "drizzle-orm/sqlite-core";

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
  },
  (t) => [index("optimization_jobs_tenant_created").on(t.tenant, t.createdAt, t.id)],
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
  },
  (t) => [primaryKey({ columns: [t.jobId, t.idx] }), index("optimization_tasks_job_status").on(t.jobId, t.status)],
);
