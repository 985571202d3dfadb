import { describe, expect, it } from "vitest";
import { JobSpec } from "../../schema";
import { loadConfig } from "../../lib/config";
import { RUNNING_RETRY_AFTER_SECONDS, secondsToUtcMidnight, submitQuotaError, utcDay } from "../../worker/quota/limits";
import { canonicalJson, specHash } from "../../worker/jobs/idempotency";

const limits = loadConfig({ QUOTA_RUNNING_JOBS: "2", QUOTA_CHUNKS_IN_FLIGHT: "8", QUOTA_TASKS_PER_DAY: "100" });
const NOON = Date.UTC(2026, 5, 30, 12, 0, 0);

describe("daily quota clock", () => {
  it("charges the UTC day and retries at the next UTC midnight", () => {
    expect(utcDay(NOON)).toBe("2026-06-30");
    expect(secondsToUtcMidnight(NOON)).toBe(12 * 3600);
    expect(secondsToUtcMidnight(Date.UTC(2026, 11, 31, 23, 59, 59, 500))).toBe(1);
    expect(secondsToUtcMidnight(Date.UTC(2026, 6, 1))).toBe(86_400);
  });
});

describe("submitQuotaError", () => {
  const job = { total: 10, concurrencyLimit: 4 };
  it("admits a job up to each limit, inclusive", () => {
    expect(submitQuotaError({ runningJobs: 1, chunksInFlight: 4, tasksToday: 90 }, job, limits, NOON)).toBeNull();
  });
  it("names the first quota passed, with its Retry-After", () => {
    expect(submitQuotaError({ runningJobs: 2, chunksInFlight: 0, tasksToday: 0 }, job, limits, NOON)?.retryAfterSeconds).toBe(RUNNING_RETRY_AFTER_SECONDS);
    expect(submitQuotaError({ runningJobs: 1, chunksInFlight: 5, tasksToday: 0 }, job, limits, NOON)?.message).toMatch(/chunks in flight/);
    const daily = submitQuotaError({ runningJobs: 0, chunksInFlight: 0, tasksToday: 91 }, job, limits, NOON);
    expect([daily?.code, daily?.status, daily?.retryAfterSeconds]).toEqual(["quota_exceeded", 429, 12 * 3600]);
    expect(daily?.getResponse().headers.get("retry-after")).toBe(String(12 * 3600));
  });
});

describe("idempotency body hash", () => {
  it("is blind to key order and to defaults spelled out, not to values", async () => {
    expect(canonicalJson({ b: [2, { d: 1, c: null }], a: "x" })).toBe('{"a":"x","b":[2,{"c":null,"d":1}]}');
    const base = { strategy: "s", dataset: "d", params: { a: { values: [1, 2] } }, objective: { metric: "m", mode: "max" } } as const;
    const same = JobSpec.parse({ objective: { mode: "max", metric: "m" }, topN: 10, params: { a: { values: [1, 2] } }, dataset: "d", strategy: "s" });
    expect(await specHash(JobSpec.parse(base))).toBe(await specHash(same));
    expect(await specHash(JobSpec.parse(base))).not.toBe(await specHash(JobSpec.parse({ ...base, params: { a: { values: [2, 1] } } })));
  });
});
