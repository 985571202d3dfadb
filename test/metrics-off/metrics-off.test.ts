import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { failOnceThenSucceed, grid, jobHarness } from "../job-harness";
import { d1TaskCounts, range, submit, synthetic, waitFor, waitForEnd } from "../helpers";

describe("with METRICS_ENABLED=false", () => {
  it("runs a job with retries to the same summary, and emits no metric", async () => {
    const job = await submit(synthetic({ a: range(1, 3), failTimes: { values: [2] } }, { topN: 3 }));
    const done = await waitForEnd(job.id);
    expect(done.status).toBe("succeeded");
    expect({ ...done.summary, topN: done.summary.topN.map((e) => [e.params, e.score]) }).toEqual({
      total: 3,
      finished: 3,
      succeeded: 3,
      failed: 0,
      canceled: 0,
      running: 0,
      queued: 0,
      retries: 6,
      topN: [
        [{ a: 3, failTimes: 2 }, 3],
        [{ a: 2, failTimes: 2 }, 2],
        [{ a: 1, failTimes: 2 }, 1],
      ],
    });
    // Per-job stats are job data, not emission: still there.
    expect(done.stats.exec.mean).not.toBeNull();
    await waitFor(async () => (await d1TaskCounts(job.id)).succeeded === 3, { what: "D1 projection" });
    const counters = await env.DB.prepare("SELECT COUNT(*) AS n FROM metric_counters").first<{ n: number }>();
    expect(counters!.n).toBe(0);
  });

  it("answers /metrics with 503 saying metrics are disabled", async () => {
    const res = await exports.default.fetch(
      new Request("http://optimizer.test/metrics", { headers: { authorization: "Bearer test-metrics-token-0123456789" } }),
    );
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { code: "unavailable", message: expect.stringContaining("disabled") } });
  });
});

describe("Analytics Engine with METRICS_ENABLED=false", () => {
  it("gets no data point, and the job's outbox stays empty", async () => {
    const h = await jobHarness(grid(1, { maxRetries: 1 }));
    await failOnceThenSucceed(h, 7);
    expect((await h.job.status())!.summary).toMatchObject({ succeeded: 1, retries: 1 });
    expect(h.points).toEqual([]);
    const [row] = await h.sql<{ data: string }>("SELECT data FROM job");
    expect(JSON.parse(row!.data).metrics).toEqual({ seq: 0, pending: {}, inflight: null });
  });
});
