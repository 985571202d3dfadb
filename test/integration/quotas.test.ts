import { describe, expect, it } from "vitest";
import type { ApiErrorBody, Dataset, Job } from "../../schema";
import { secondsToUtcMidnight } from "../../worker/quota/limits";
import { range, synthetic, waitFor } from "../helpers";
import { jobRowsOf, tenantApp, usageOf, type Reply } from "../quota-helpers";

const OPT = "/api/v1/optimizations";
/** A job that stays running until canceled: 20 tasks of 2 s, one chunk at a time. */
const slow = (concurrencyLimit = 1) => synthetic({ a: range(1, 20), sleepMs: { values: [2000] } }, { concurrencyLimit });
const quick = (tasks: number) => synthetic({ a: range(1, tasks) });

const csvOf = (bars: number) =>
  `date,close\n${Array.from({ length: bars }, (_, i) => `${new Date(Date.UTC(2015, 0, 1) + i * 86_400_000).toISOString().slice(0, 10)},${100 + (i % 7)}`).join("\n")}\n`;
const CSV = csvOf(60);
const CSV_BYTES = new TextEncoder().encode(CSV).byteLength;

/** A 429 with the quota code and a Retry-After in whole seconds. */
function expectQuota(res: Reply, retryAfter: (seconds: number) => void) {
  expect(res.status).toBe(429);
  expect((res.body as ApiErrorBody).error.code).toBe("quota_exceeded");
  const header = res.headers.get("retry-after");
  expect(header).toMatch(/^\d+$/);
  retryAfter(Number(header));
}

/** Retry-After of a daily quota: the seconds to the next UTC midnight, as seen before and after the request. */
async function dailyRetry(send: () => Promise<Reply>) {
  const before = secondsToUtcMidnight(Date.now());
  const res = await send();
  const after = secondsToUtcMidnight(Date.now());
  expectQuota(res, (s) => {
    expect(s).toBeLessThanOrEqual(before);
    expect(s).toBeGreaterThanOrEqual(after);
  });
}

async function cancelAll(t: ReturnType<typeof tenantApp>, jobs: Job[]) {
  for (const job of jobs) expect((await t.json("POST", `${OPT}/${job.id}/cancel`, {})).status).toBe(202);
}

describe("quota: jobs queued or running at once", () => {
  it("refuses the next job with 429 and Retry-After, creates nothing, and admits again once one ended", async () => {
    const t = tenantApp("q-running", { QUOTA_RUNNING_JOBS: "2" });
    const admitted = [await t.json<Job>("POST", OPT, slow()), await t.json<Job>("POST", OPT, slow())];
    expect(admitted.map((a) => a.status)).toEqual([201, 201]);
    const jobs = admitted.map((a) => a.body);
    const usage = await usageOf(t.tenant);
    expectQuota(await t.json("POST", OPT, quick(2)), (s) => expect(s).toBe(30));
    const trpc = await t.trpcMutation("optimizations.submit", quick(2));
    expectQuota({ ...trpc, body: { error: trpc.body.error!.data.apiError } }, (s) => expect(s).toBe(30));
    expect((await jobRowsOf(t.tenant)).map((r) => r.id).sort()).toEqual(jobs.map((j) => j.id).sort());
    expect(await usageOf(t.tenant)).toEqual(usage);

    await cancelAll(t, jobs.slice(0, 1));
    await waitFor(async () => (await jobRowsOf(t.tenant)).some((r) => r.status === "canceled"), { what: "the cancel to reach D1" });
    const third = await t.json<Job>("POST", OPT, quick(2));
    expect(third.status).toBe(201);
    await cancelAll(t, jobs.slice(1));
  });

  it("admits exactly the limit of concurrent submits", async () => {
    const t = tenantApp("q-running-race", { QUOTA_RUNNING_JOBS: "3" });
    const answers = await Promise.all(Array.from({ length: 8 }, () => t.json<Job>("POST", OPT, slow())));
    expect(answers.map((a) => a.status).sort()).toEqual([201, 201, 201, 429, 429, 429, 429, 429]);
    const admitted = answers.filter((a) => a.status === 201).map((a) => a.body);
    expect((await jobRowsOf(t.tenant)).map((r) => r.id).sort()).toEqual(admitted.map((j) => j.id).sort());
    expect((await usageOf(t.tenant)).tasks).toBe(3 * 20);
    await cancelAll(t, admitted);
  });
});

describe("quota: chunks in flight (sum of concurrencyLimit over running jobs)", () => {
  it("refuses a job whose concurrencyLimit would pass the sum, not one that fits", async () => {
    const t = tenantApp("q-chunks", { QUOTA_CHUNKS_IN_FLIGHT: "5" });
    const first = await t.json<Job>("POST", OPT, slow(3));
    expect(first.status).toBe(201);
    expectQuota(await t.json("POST", OPT, slow(3)), (s) => expect(s).toBe(30));
    expect(await jobRowsOf(t.tenant)).toHaveLength(1);
    const second = await t.json<Job>("POST", OPT, slow(2));
    expect(second.status).toBe(201);
    await cancelAll(t, [first.body, second.body]);
  });
});

describe("a job that alone passes a quota", () => {
  it("is 422 naming the field, not a 429 whose Retry-After could never help", async () => {
    const t = tenantApp("q-beyond", { QUOTA_CHUNKS_IN_FLIGHT: "5", QUOTA_TASKS_PER_DAY: "10" });
    const wide = await t.json<ApiErrorBody>("POST", OPT, slow(6));
    expect(wide.status).toBe(422);
    expect(wide.body.error.details).toEqual([{ path: "concurrencyLimit", message: "at most 5" }]);
    const big = await t.json<ApiErrorBody>("POST", OPT, quick(11));
    expect(big.status).toBe(422);
    expect(big.body.error.message).toMatch(/11 tasks/);
    expect(await jobRowsOf(t.tenant)).toHaveLength(0);
  });
});

describe("quota: tasks submitted per UTC day", () => {
  it("refuses a job whose total would pass the day's quota, until midnight UTC; one that fits still goes in", async () => {
    const t = tenantApp("q-tasks", { QUOTA_TASKS_PER_DAY: "10" });
    expect((await t.json("POST", OPT, quick(6))).status).toBe(201);
    await dailyRetry(() => t.json("POST", OPT, quick(5)));
    const trpc = await t.trpcMutation("optimizations.submit", quick(5));
    await dailyRetry(async () => ({ ...trpc, body: { error: trpc.body.error!.data.apiError } }));
    expect(await jobRowsOf(t.tenant)).toHaveLength(1);
    expect((await usageOf(t.tenant)).tasks).toBe(6);
    expect((await t.json("POST", OPT, quick(4))).status).toBe(201);
    expect((await usageOf(t.tenant)).tasks).toBe(10);
  });

  it("admits exactly as many concurrent submits as the day's tasks allow", async () => {
    const t = tenantApp("q-tasks-race", { QUOTA_TASKS_PER_DAY: "10" });
    const answers = await Promise.all(Array.from({ length: 8 }, () => t.json<Job>("POST", OPT, quick(3))));
    expect(answers.filter((a) => a.status === 201)).toHaveLength(3);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(5);
    expect(await jobRowsOf(t.tenant)).toHaveLength(3);
    expect((await usageOf(t.tenant)).tasks).toBe(9);
  });
});

describe("quota: upload bytes per UTC day", () => {
  /** As curl sends it: a string body with its Content-Length, a stream without one. */
  const upload = (t: ReturnType<typeof tenantApp>, name: string, body: string | ReadableStream = CSV) =>
    t.request<Dataset | ApiErrorBody>("POST", `/api/v1/datasets?name=${name}`, {
      body,
      headers: { "content-type": "text/csv", ...(typeof body === "string" ? { "content-length": String(new TextEncoder().encode(body).byteLength) } : {}) },
    });
  const datasetCount = async (t: ReturnType<typeof tenantApp>) => (await t.request<{ items: Dataset[] }>("GET", "/api/v1/datasets")).body.items.filter((d) => d.kind === "upload").length;

  it("charges each upload its size and refuses the one that would pass the quota (REST and tRPC)", async () => {
    const t = tenantApp("q-upload", { QUOTA_UPLOAD_BYTES_PER_DAY: String(2 * CSV_BYTES + 10) });
    expect((await upload(t, "one")).status).toBe(201);
    expect((await t.trpcMutation("datasets.upload", { name: "two", csv: CSV })).status).toBe(200);
    expect((await usageOf(t.tenant)).uploadBytes).toBe(2 * CSV_BYTES);
    await dailyRetry(() => upload(t, "three"));
    const trpc = await t.trpcMutation("datasets.upload", { name: "three", csv: CSV });
    await dailyRetry(async () => ({ ...trpc, body: { error: trpc.body.error!.data.apiError } }));
    expect(await datasetCount(t)).toBe(2);
    expect((await usageOf(t.tenant)).uploadBytes).toBe(2 * CSV_BYTES);
  });

  it("refunds an upload that fails validation", async () => {
    const t = tenantApp("q-upload-refund", { QUOTA_UPLOAD_BYTES_PER_DAY: String(CSV_BYTES + 10) });
    expect((await upload(t, "bad", "date,close\nnot-a-date,1\n".repeat(3))).status).toBe(400);
    expect((await usageOf(t.tenant)).uploadBytes).toBe(0);
    expect((await upload(t, "good")).status).toBe(201);
  });

  it("reserves the upload limit for a body streamed without a length, and settles to its size", async () => {
    const stream = () => new Blob([CSV]).stream();
    const tight = tenantApp("q-upload-stream-tight", { QUOTA_UPLOAD_BYTES_PER_DAY: String(10 * CSV_BYTES) });
    await dailyRetry(() => upload(tight, "streamed", stream()));
    expect((await usageOf(tight.tenant)).uploadBytes).toBe(0);
    const roomy = tenantApp("q-upload-stream", { QUOTA_UPLOAD_BYTES_PER_DAY: String(100 * 1024 * 1024) });
    expect((await upload(roomy, "streamed", stream())).status).toBe(201);
    expect((await usageOf(roomy.tenant)).uploadBytes).toBe(CSV_BYTES);
  });

  it("admits exactly as many concurrent uploads as the day's bytes allow", async () => {
    const t = tenantApp("q-upload-race", { QUOTA_UPLOAD_BYTES_PER_DAY: String(3 * CSV_BYTES) });
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => upload(t, `race-${i}`)));
    expect(answers.map((a) => a.status).sort()).toEqual([201, 201, 201, 429, 429, 429]);
    expect(await datasetCount(t)).toBe(3);
    expect((await usageOf(t.tenant)).uploadBytes).toBe(3 * CSV_BYTES);
  });
});
