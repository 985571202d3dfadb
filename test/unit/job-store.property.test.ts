import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { TaskStatus } from "../../schema";
import type { JobRow, TaskRow } from "../../durable-objects/job-state";
import { JobStore } from "../../durable-objects/job-store";

/**
 * The store keeps first-attempt successes in an outcome log (entries of many rows) and the others a
 * row each, next to the succeeded rows a store before version 5 left in `tasks`: whatever the
 * layout, it must answer like a plain map of rows. Steps change random tasks (a
 * succeeded one never changes again, as in the core); every query is compared with the map.
 */

const STATUSES = ["queued", "failed", "canceled", "succeeded"] as const;

const changeArb = fc.record({
  idx: fc.nat({ max: 40 }),
  status: fc.constantFrom(...STATUSES),
  attempt: fc.nat({ max: 4 }),
  // JSON has no -0: the log gives 0 back, a plain column -0.
  score: fc.option(fc.double({ min: -10, max: 10, noNaN: true }).map((v) => (Object.is(v, -0) ? 0 : v)), { nil: null }),
  /** A success written by a store before version 5, as a row in `tasks`. */
  legacy: fc.boolean(),
  met: fc.option(fc.boolean(), { nil: null }),
  retryAt: fc.option(fc.nat({ max: 1e9 }), { nil: null }),
});

const queryArb = fc.record({
  after: fc.integer({ min: -1, max: 41 }),
  limit: fc.integer({ min: 1, max: 12 }),
  status: fc.option(fc.constantFrom<TaskStatus>(...STATUSES, "running"), { nil: undefined }),
  confirmed: fc.nat({ max: 120 }),
  from: fc.nat({ max: 41 }),
  span: fc.nat({ max: 20 }),
});

const runArb = fc.record({
  steps: fc.array(fc.array(changeArb, { maxLength: 12 }), { maxLength: 14 }),
  queries: fc.array(queryArb, { minLength: 1, maxLength: 6 }),
  perEntry: fc.integer({ min: 1, max: 5 }),
});

type Change = typeof changeArb extends fc.Arbitrary<infer T> ? T : never;

function rowOf(c: Change, dirty: number): TaskRow {
  const succeeded = c.status === "succeeded";
  return {
    idx: c.idx,
    status: c.status,
    attempt: c.attempt,
    retries: Math.max(0, c.attempt - 1),
    requeues: c.attempt === 3 ? 1 : 0,
    chunkId: null,
    retryAt: c.status === "queued" ? c.retryAt : null,
    score: succeeded ? c.score : null,
    metrics: succeeded ? { score: c.score ?? 0, trades: c.attempt } : null,
    constraintsMet: succeeded ? c.met : null,
    resultSummaryId: succeeded ? `r-${c.idx}` : null,
    errorKind: c.status === "failed" ? "UpstreamError" : null,
    errorMessage: c.status === "failed" ? "boom" : null,
    queueWaitMs: c.attempt > 0 ? 1.5 : null,
    execMs: c.attempt > 0 ? 2.25 : null,
    dirty,
    updatedAt: new Date(1_700_000_000_000 + dirty).toISOString(),
  };
}

const byIdx = (a: TaskRow, b: TaskRow) => a.idx - b.idx;

describe("the job store", () => {
  it("answers listTasks, dirtyTasks, rowIndexesIn and loadOpenTasks as a plain map of its rows would", async () => {
    const stub = env.OPTIMIZATION_JOB.get(env.OPTIMIZATION_JOB.idFromName("job-store-property"));
    await runInDurableObject(stub, (_instance, state) => {
      const sql = state.storage.sql;
      new JobStore(sql).createSchema();
      fc.assert(
        fc.property(runArb, ({ steps, queries, perEntry }) => {
          sql.exec("DELETE FROM tasks; DELETE FROM outcomes");
          const store = new JobStore(sql, { logRowsPerEntry: perEntry, boundsPerRead: 2 });
          const model = new Map<number, TaskRow>();
          let seq = 0;
          const hadRow = new Set<number>();
          for (const changes of steps) {
            const tasks = new Map<number, TaskRow>();
            for (const c of changes) {
              if (model.get(c.idx)?.status === "succeeded") continue;
              const row = rowOf(c, ++seq);
              model.set(c.idx, row);
              if (row.status === "succeeded" && c.legacy) {
                tasks.delete(c.idx);
                sql.exec(
                  `INSERT INTO tasks (idx, status, attempt, retries, requeues, score, metrics, constraints_met, result_summary_id, queue_wait_ms, exec_ms, dirty, updated_at)
                   VALUES (?, 'succeeded', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idx) DO UPDATE SET status = 'succeeded', attempt = excluded.attempt,
                     retries = excluded.retries, requeues = excluded.requeues, retry_at = NULL, score = excluded.score, metrics = excluded.metrics,
                     constraints_met = excluded.constraints_met, result_summary_id = excluded.result_summary_id, error_kind = NULL, error_message = NULL,
                     queue_wait_ms = excluded.queue_wait_ms, exec_ms = excluded.exec_ms, dirty = excluded.dirty, updated_at = excluded.updated_at`,
                  row.idx, row.attempt, row.retries, row.requeues, row.score, JSON.stringify(row.metrics), row.constraintsMet === null ? null : row.constraintsMet ? 1 : 0,
                  row.resultSummaryId, row.queueWaitMs, row.execMs, row.dirty, row.updatedAt,
                );
              } else tasks.set(c.idx, row);
            }
            state.storage.transactionSync(() => store.save({ id: "none", topN: [] } as unknown as JobRow, { tasks, chunks: new Map(), jobVisible: false }));
            for (const t of tasks.values()) if (t.status !== "succeeded") hadRow.add(t.idx);
          }
          const rows = [...model.values()];
          for (const q of queries) {
            const listed = rows.filter((t) => t.idx > q.after && (q.status === undefined || t.status === q.status)).sort(byIdx).slice(0, q.limit);
            expect(store.listTasks(q.after, q.limit, q.status)).toEqual(listed);
            const dirty = rows.filter((t) => t.dirty > q.confirmed).sort((a, b) => a.dirty - b.dirty).slice(0, q.limit);
            expect(store.dirtyTasks(q.confirmed, q.limit)).toEqual(dirty);
            const inRange = rows.filter((t) => t.idx >= q.from && t.idx < q.from + q.span).map((t) => t.idx);
            expect(store.rowIndexesIn(q.from, q.from + q.span).sort((a, b) => a - b)).toEqual(inRange.sort((a, b) => a - b));
          }
          expect(store.loadOpenTasks().sort(byIdx)).toEqual(rows.filter((t) => t.status === "queued").sort(byIdx));
          // A task that had a row keeps it when it succeeds: log entries hold only tasks that never had one.
          const logged = sql.exec("SELECT rows FROM outcomes").toArray().flatMap((e) => (JSON.parse(e.rows as string) as [number][]).map((r) => r[0]));
          expect(logged.filter((idx) => hadRow.has(idx))).toEqual([]);
        }),
        { numRuns: 300 },
      );
    });
  });

  it("migrates all or nothing: a migration that fails part-way leaves the store as it was", async () => {
    const stub = env.OPTIMIZATION_JOB.get(env.OPTIMIZATION_JOB.idFromName("job-store-migration"));
    await runInDurableObject(stub, async (_instance, state) => {
      const sql = state.storage.sql;
      // A version-3 store, except that its job table already has version 6's column: the last step fails.
      sql.exec(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); INSERT INTO meta VALUES ('schema_version', '3');
        CREATE TABLE job (id TEXT PRIMARY KEY, spec TEXT NOT NULL, data TEXT NOT NULL, top_n TEXT);
        CREATE TABLE tasks (idx INTEGER PRIMARY KEY, status TEXT NOT NULL, attempt INTEGER NOT NULL, retries INTEGER NOT NULL, requeues INTEGER NOT NULL DEFAULT 0,
          chunk_id TEXT, retry_at INTEGER, score REAL, metrics TEXT, constraints_met INTEGER, result_summary_id TEXT, error_kind TEXT, error_message TEXT,
          queue_wait_ms REAL, exec_ms REAL, dirty INTEGER NOT NULL, updated_at TEXT NOT NULL);
        CREATE TABLE chunks (id TEXT PRIMARY KEY, lease_until INTEGER NOT NULL, started INTEGER NOT NULL DEFAULT 0);`);
      const store = new JobStore(sql, { atomically: (fn) => state.storage.transactionSync(fn) });
      expect(() => store.loadJob()).toThrow(/duplicate column/);
      const chunkColumns = sql.exec("SELECT name FROM pragma_table_info('chunks')").toArray().map((r) => r.name);
      expect(chunkColumns).toEqual(["id", "lease_until", "started"]);
      expect(sql.exec("SELECT value FROM meta").one().value).toBe("3");
      // The object is not left with a store its next constructor would fail to load.
      await state.storage.deleteAll();
    });
  });
});
