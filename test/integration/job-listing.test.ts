import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { JobListItem } from "../../schema";
import { loadConfig } from "../../lib/config";
import { createLogger } from "../../lib/log";
import { listJobs, type JobContext } from "../../worker/jobs/service";
import type { Env } from "../../worker/env";

const TENANT = "tenant-listing";

/** A JobContext whose D1 records the SQL of every statement it prepares. */
function recordingContext(): { ctx: JobContext; sql: string[] } {
  const sql: string[] = [];
  const db = env.DB;
  const DB = new Proxy(db, {
    get: (target, prop) =>
      prop === "prepare"
        ? (query: string) => {
            sql.push(query);
            return target.prepare(query);
          }
        : (Reflect.get(target, prop) as unknown),
  });
  const ctx: JobContext = { env: { ...(env as Env), DB }, config: loadConfig(env), tenant: TENANT, log: createLogger({ level: "off" }) };
  return { ctx, sql };
}

async function insertJob(id: string, createdAt: string, spec: string) {
  await env.DB.prepare(
    `INSERT INTO optimization_jobs (id, tenant, name, strategy, dataset, status, spec, total, succeeded, top_n, created_at, updated_at)
     VALUES (?, ?, 'n', 'synthetic', 'sp500', 'succeeded', ?, 3, 3, ?, ?, ?)`,
  )
    .bind(id, TENANT, spec, spec, createdAt, createdAt)
    .run();
}

describe("GET /api/v1/optimizations reads only what it returns", () => {
  it("never selects the spec or Top-N columns", async () => {
    // A spec column of 1 MiB that is not even JSON: listing must not read it.
    const huge = `{${"x".repeat(1024 * 1024)}`;
    await insertJob("job-1", "2026-01-01T00:00:00.000Z", huge);
    await insertJob("job-2", "2026-01-02T00:00:00.000Z", huge);
    const { ctx, sql } = recordingContext();
    const page = await listJobs(ctx, { limit: 1 });
    const next = await listJobs(ctx, { limit: 1, cursor: page.nextCursor! });
    expect([...page.items, ...next.items].map((j) => JobListItem.parse(j).id)).toEqual(["job-2", "job-1"]);
    expect(page.items[0]!.summary).toEqual({ total: 3, finished: 3, succeeded: 3, failed: 0, canceled: 0, running: 0, queued: 0, retries: 0 });
    expect(sql.length).toBeGreaterThan(0);
    for (const query of sql) {
      expect(query).not.toMatch(/"spec"|"top_n"/);
      expect(query).not.toMatch(/\*/);
    }
  });
});
