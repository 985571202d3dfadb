import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Job } from "../../schema";
import { api, range, submit, synthetic, waitFor, waitForEnd } from "../helpers";

const TOKEN = "test-metrics-token-0123456789";

async function scrape(token: string | null = TOKEN): Promise<{ status: number; text: string }> {
  const headers = token ? { authorization: `Bearer ${token}` } : undefined;
  const res = await exports.default.fetch(new Request("http://optimizer.test/metrics", { headers }));
  return { status: res.status, text: await res.text() };
}

const value = (text: string, series: string): number => {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
};

describe("GET /metrics", () => {
  it("needs the metrics token, not an API key", async () => {
    expect((await scrape(null)).status).toBe(401);
    expect((await scrape("test-key-a")).status).toBe(401);
    expect((await scrape()).status).toBe(200);
  });

  it("counts each attempt once in the histograms and each retry by kind, exactly", async () => {
    const before = (await scrape()).text;
    // 3 tasks x (2 failed attempts + 1 success) = 9 attempts, 6 retries; 2 ParamInvalid tasks fail at once.
    const retried = await submit(synthetic({ a: range(1, 3), failTimes: { values: [2] } }));
    const invalid = await submit(synthetic({ a: range(1, 2), failTimes: { values: [1] }, failKind: { values: ["ParamInvalid"] } }));
    const jobs: Job[] = [await waitForEnd(retried.id), await waitForEnd(invalid.id)];
    expect(jobs.map((j) => j.summary.retries)).toEqual([6, 0]);
    const delta = (text: string, series: string) => value(text, series) - value(before, series);
    const after = await waitFor(
      async () => {
        const { text } = await scrape();
        return delta(text, 'optimizer_jobs_total{status="failed"}') >= 1 && delta(text, "job_exec_seconds_count") >= 11 ? text : null;
      },
      { what: "metrics to reach D1" },
    );
    expect(delta(after, "job_exec_seconds_count")).toBe(11);
    expect(delta(after, "queue_wait_seconds_count")).toBe(11);
    expect(delta(after, 'queue_wait_seconds_bucket{le="+Inf"}')).toBe(11);
    expect(delta(after, 'job_retry_total{error_kind="UpstreamError"}')).toBe(6);
    expect(delta(after, 'job_retry_total{error_kind="ParamInvalid"}')).toBe(0);
    expect(delta(after, 'optimizer_tasks_total{status="succeeded"}')).toBe(3);
    expect(delta(after, 'optimizer_tasks_total{status="failed"}')).toBe(2);
    expect(delta(after, 'optimizer_jobs_total{status="succeeded"}')).toBe(1);
    expect(delta(after, 'optimizer_jobs_total{status="failed"}')).toBe(1);
    // Buckets are cumulative and end at the count.
    const buckets = after.split("\n").filter((l) => l.startsWith("queue_wait_seconds_bucket")).map((l) => Number(l.split(" ")[1]));
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
    expect(buckets.at(-1)).toBe(value(after, "queue_wait_seconds_count"));
  });

  it("reports per-job stats in the status response", async () => {
    const job = await submit(synthetic({ a: range(1, 6), sleepMs: { values: [30] } }, { concurrencyLimit: 2 }));
    const done = await waitForEnd(job.id);
    expect(done.stats.exec.mean).toBeGreaterThanOrEqual(25);
    expect(done.stats.exec.p50).toBeGreaterThanOrEqual(25);
    expect(done.stats.exec.p95!).toBeGreaterThanOrEqual(done.stats.exec.p50!);
    expect(done.stats.queueWait.mean).not.toBeNull();
    expect(done.stats.throughputPerSec).toBeGreaterThan(0);
    expect(done.stats.etaSeconds).toBe(0);
    expect(done.stats.retries).toBe(0);
    const status = await api<Job>("GET", `/api/v1/optimizations/${job.id}`);
    expect(status.body.stats).toEqual(done.stats);
  });
});
