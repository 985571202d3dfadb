import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { metricUpserts } from "../../durable-objects/d1-projection";

const counter = async (name: string) =>
  (await env.DB.prepare("SELECT value FROM metric_counters WHERE name = ? AND labels = ''").bind(name).first<{ value: number }>())?.value ?? 0;

describe("metric batches in D1", () => {
  it("apply once per number, however often a batch is resent", async () => {
    const samples = [{ name: "once_total", labels: "", value: 3 }];
    await env.DB.batch(metricUpserts(env.DB, "job-x", { seq: 1, token: "first-send", samples }));
    expect(await counter("once_total")).toBe(3);
    // The DO did not see the confirmation and resends the same batch under a new token.
    await env.DB.batch(metricUpserts(env.DB, "job-x", { seq: 1, token: "second-send", samples }));
    expect(await counter("once_total")).toBe(3);
    await env.DB.batch(metricUpserts(env.DB, "job-x", { seq: 2, token: "next-batch", samples: [{ name: "once_total", labels: "", value: 4 }] }));
    expect(await counter("once_total")).toBe(7);
    // Another job's batches are numbered on their own.
    await env.DB.batch(metricUpserts(env.DB, "job-y", { seq: 1, token: "y1", samples }));
    expect(await counter("once_total")).toBe(10);
  });

  it("apply a resent batch whose first send never reached D1", async () => {
    const samples = [{ name: "late_total", labels: "", value: 5 }];
    await env.DB.batch(metricUpserts(env.DB, "job-z", { seq: 1, token: "z1", samples: [{ name: "late_total", labels: "", value: 1 }] }));
    await env.DB.batch(metricUpserts(env.DB, "job-z", { seq: 2, token: "z2-retry", samples }));
    expect(await counter("late_total")).toBe(6);
  });
});
