import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { ApiErrorBody, type ApiErrorCode, type Job, type JobListItem, type JobSpecInput, type Page, type Task } from "../../schema";
import { api, KEY_A, KEY_B, range, submit, synthetic, waitFor, waitForEnd } from "../helpers";

const BASE = "/api/v1/optimizations";
const MiB = 1024 * 1024;

/** Rows in D1's optimization_jobs, all tenants. */
const d1JobCount = async (): Promise<number> =>
  (await env.DB.prepare("SELECT COUNT(*) AS n FROM optimization_jobs").first<{ n: number }>())!.n;

const listIds = async (key: string): Promise<string[]> => {
  const res = await api<Page<JobListItem>>("GET", `${BASE}?limit=500`, { key });
  expect(res.status).toBe(200);
  return res.body.items.map((j) => j.id);
};

/** A request with headers of our choosing (api() only ever sends `Bearer <key>`). */
async function rawRequest(method: string, path: string, headers: Record<string, string>, body?: string) {
  const res = await exports.default.fetch(new Request(`http://optimizer.test${path}`, { method, headers, body }));
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as unknown };
}

/** A spec that would be accepted: each bad case changes one thing in it. */
const valid = (): JobSpecInput => synthetic({ a: range(1, 3) });
const sma = (params: JobSpecInput["params"]): JobSpecInput => ({
  strategy: "sma-crossover",
  dataset: "sp500",
  params,
  objective: { metric: "sharpe", mode: "max" },
});
const UNKNOWN_ID = "00000000-0000-4000-8000-000000000000";

// 317 * 316 combinations: one more value on either axis than MAX_TASKS_PER_JOB (100000) allows.
const BIG_A = 317;
const BIG_B = 316;

/** ~1.1 MiB of JSON: a valid spec whose `values` alone would be accepted, were it not for its size. */
function oversizedSpec(): string {
  const count = 55_000;
  const values = Array.from({ length: count }, (_, i) => `v${String(i).padStart(17, "0")}`);
  return JSON.stringify(synthetic({ a: { values } }));
}

interface Case {
  name: string;
  method: string;
  path: string;
  body?: unknown;
  raw?: string;
  key?: string | null;
  headers?: Record<string, string>;
  status: number;
  code: ApiErrorCode;
  /** Paths that must appear in error.details. */
  paths?: string[];
}

const post = (name: string, body: unknown, status: number, code: ApiErrorCode, paths?: string[], extra: Partial<Case> = {}): Case => ({
  name,
  method: "POST",
  path: BASE,
  body,
  status,
  code,
  ...(paths ? { paths } : {}),
  ...extra,
});

const without = <T extends object, K extends keyof T>(o: T, k: K): Omit<T, K> => {
  const { [k]: _, ...rest } = o;
  return rest;
};

const CASES: Case[] = [
  // Not JSON / not an object: 400.
  { name: "malformed JSON", method: "POST", path: BASE, raw: '{"strategy": "synthetic",', status: 400, code: "bad_request" },
  { name: "empty body", method: "POST", path: BASE, raw: "", status: 400, code: "bad_request" },
  { name: "body that is an array", method: "POST", path: BASE, raw: "[1,2,3]", status: 400, code: "validation_failed", paths: ["(root)"] },
  { name: "body that is a string", method: "POST", path: BASE, raw: '"synthetic"', status: 400, code: "validation_failed", paths: ["(root)"] },
  { name: "body that is null", method: "POST", path: BASE, raw: "null", status: 400, code: "validation_failed", paths: ["(root)"] },

  // Shape errors: 400 validation_failed naming the field.
  post("missing strategy", without(valid(), "strategy"), 400, "validation_failed", ["strategy"]),
  post("missing objective", without(valid(), "objective"), 400, "validation_failed", ["objective"]),
  post("bad objective.mode", { ...valid(), objective: { metric: "score", mode: "up" } }, 400, "validation_failed", ["objective.mode"]),
  post("topN 0", { ...valid(), topN: 0 }, 400, "validation_failed", ["topN"]),
  post("topN not an integer", { ...valid(), topN: 2.5 }, 400, "validation_failed", ["topN"]),
  post("concurrencyLimit 1000", { ...valid(), concurrencyLimit: 1000 }, 400, "validation_failed", ["concurrencyLimit"]),
  post("maxRetries -1", { ...valid(), maxRetries: -1 }, 400, "validation_failed", ["maxRetries"]),
  post("blank name", { ...valid(), name: "   " }, 400, "validation_failed", ["name"]),
  post("negative step", { ...valid(), params: { a: range(1, 10, -1) } }, 400, "validation_failed", ["params.a.step"]),
  post("zero step", { ...valid(), params: { a: range(1, 10, 0) } }, 400, "validation_failed", ["params.a.step"]),
  post("min > max", { ...valid(), params: { a: range(10, 1) } }, 400, "validation_failed", ["params.a.max"]),
  post("empty values array", { ...valid(), params: { a: { values: [] } } }, 400, "validation_failed", ["params.a.values"]),
  post("no params at all", { ...valid(), params: {} }, 400, "validation_failed", ["params"]),
  post("earlyStopPolicy without threshold", { ...valid(), earlyStopPolicy: { metric: "score", mode: "max" } }, 400, "validation_failed", [
    "earlyStopPolicy.threshold",
  ]),
  post("unknown top-level field", { ...valid(), foo: 1 }, 400, "validation_failed", ["foo"]),

  // Well-formed but impossible: 422 unprocessable naming the field.
  post("unknown strategy", { ...valid(), strategy: "martingale" }, 422, "unprocessable", ["strategy"]),
  post("unknown dataset", { ...valid(), dataset: "nasdaq" }, 422, "unprocessable", ["dataset"]),
  post("unknown objective metric", { ...valid(), objective: { metric: "sharpe", mode: "max" } }, 422, "unprocessable", ["objective.metric"]),
  post("unknown early-stop metric", { ...valid(), earlyStopPolicy: { metric: "sharpe", threshold: 1, mode: "max" } }, 422, "unprocessable", [
    "earlyStopPolicy.metric",
  ]),
  post(`grid of ${BIG_A * BIG_B} > 100000`, { ...valid(), params: { a: range(1, BIG_A), b: range(1, BIG_B) } }, 422, "unprocessable", ["params"]),
  post("sma-crossover with a non-integer fast", sma({ fast: { values: [5.5] }, slow: range(20, 40, 10) }), 422, "unprocessable", ["params.fast"]),
  post("sma-crossover with fast 0", sma({ fast: range(0, 10, 5), slow: range(20, 40, 10) }), 422, "unprocessable", ["params.fast"]),
  post("sma-crossover with slow over 1000", sma({ fast: range(5, 10, 5), slow: range(990, 1010, 10) }), 422, "unprocessable", ["params.slow"]),
  post("sma-crossover missing slow", sma({ fast: range(5, 10, 5) }), 422, "unprocessable", ["params.slow"]),
  post("sma-crossover with an unknown param", sma({ fast: range(5, 10, 5), slow: range(20, 40, 10), lookback: { values: [3] } }), 422, "unprocessable", [
    "params.lookback",
  ]),

  // Authentication: 401 whatever else is wrong or right with the request (a valid spec would otherwise be accepted).
  post("submit without an Authorization header", valid(), 401, "unauthorized", undefined, { key: null }),
  post("submit with an unknown key", valid(), 401, "unauthorized", undefined, { key: "not-a-known-key" }),
  post("submit with the Basic scheme", valid(), 401, "unauthorized", undefined, { headers: { authorization: `Basic ${btoa(`${KEY_A}:`)}` } }),
  post("submit with a bare key", valid(), 401, "unauthorized", undefined, { headers: { authorization: KEY_A } }),
  post("submit with an empty bearer", valid(), 401, "unauthorized", undefined, { headers: { authorization: "Bearer " } }),
  { name: "list without a key", method: "GET", path: BASE, key: null, status: 401, code: "unauthorized" },
  { name: "status with an unknown key", method: "GET", path: `${BASE}/${UNKNOWN_ID}/status`, key: "nope-nope-nope", status: 401, code: "unauthorized" },
  { name: "cancel without a key", method: "POST", path: `${BASE}/${UNKNOWN_ID}/cancel`, key: null, status: 401, code: "unauthorized" },

  // Too large: 413 (the same spec, small, is accepted: see "the 1 MiB body limit").
  { name: "body of ~1.1 MiB", method: "POST", path: BASE, raw: oversizedSpec(), status: 413, code: "payload_too_large" },

  // Unknown routes and jobs: 404.
  { name: "unknown route", method: "GET", path: "/api/v1/strategies-and-more", status: 404, code: "not_found" },
  { name: "unknown route outside /api/v1", method: "GET", path: "/optimizations", status: 404, code: "not_found" },
  { name: "unsupported method on a job", method: "DELETE", path: `${BASE}/${UNKNOWN_ID}`, status: 404, code: "not_found" },
  { name: "status of an unknown job", method: "GET", path: `${BASE}/${UNKNOWN_ID}/status`, status: 404, code: "not_found" },
  { name: "unknown job", method: "GET", path: `${BASE}/${UNKNOWN_ID}`, status: 404, code: "not_found" },
  { name: "tasks of an unknown job", method: "GET", path: `${BASE}/${UNKNOWN_ID}/tasks`, status: 404, code: "not_found" },
  { name: "cancel of an unknown job", method: "POST", path: `${BASE}/${UNKNOWN_ID}/cancel`, status: 404, code: "not_found" },

  // Invalid job ids: 400.
  { name: "job id with a space", method: "GET", path: `${BASE}/bad%20id/status`, status: 400, code: "validation_failed" },
  { name: "job id with a !", method: "GET", path: `${BASE}/bad!id`, status: 400, code: "validation_failed" },
  { name: "a task id as a job id", method: "GET", path: `${BASE}/${UNKNOWN_ID}.3/tasks`, status: 400, code: "validation_failed" },
  { name: "job id of 65 characters", method: "POST", path: `${BASE}/${"a".repeat(65)}/cancel`, status: 400, code: "validation_failed" },

  // Bad queries and cancel bodies: 400 naming the field.
  { name: "tasks status=bogus", method: "GET", path: `${BASE}/${UNKNOWN_ID}/tasks?status=bogus`, status: 400, code: "validation_failed", paths: ["status"] },
  { name: "tasks limit=0", method: "GET", path: `${BASE}/${UNKNOWN_ID}/tasks?limit=0`, status: 400, code: "validation_failed", paths: ["limit"] },
  { name: "tasks limit=501", method: "GET", path: `${BASE}/${UNKNOWN_ID}/tasks?limit=501`, status: 400, code: "validation_failed", paths: ["limit"] },
  { name: "tasks cursor=abc", method: "GET", path: `${BASE}/${UNKNOWN_ID}/tasks?cursor=abc`, status: 400, code: "validation_failed", paths: ["cursor"] },
  { name: "list cursor=garbage", method: "GET", path: `${BASE}?cursor=garbage`, status: 400, code: "validation_failed", paths: ["cursor"] },
  { name: "list cursor of the wrong shape", method: "GET", path: `${BASE}?cursor=${btoa("[1,2]")}`, status: 400, code: "validation_failed", paths: ["cursor"] },
  { name: "list limit=0", method: "GET", path: `${BASE}?limit=0`, status: 400, code: "validation_failed", paths: ["limit"] },
  { name: "list limit=ten", method: "GET", path: `${BASE}?limit=ten`, status: 400, code: "validation_failed", paths: ["limit"] },
  { name: "cancel with malformed JSON", method: "POST", path: `${BASE}/${UNKNOWN_ID}/cancel`, raw: "{", status: 400, code: "bad_request" },
  { name: "cancel with a non-string reason", method: "POST", path: `${BASE}/${UNKNOWN_ID}/cancel`, body: { reason: 42 }, status: 400, code: "validation_failed", paths: ["reason"] },
];

describe("rejected requests", () => {
  let initialCount: number;
  let initialA: string[];
  let initialB: string[];

  beforeAll(async () => {
    initialCount = await d1JobCount();
    initialA = await listIds(KEY_A);
    initialB = await listIds(KEY_B);
  });

  it(`the grid case really is over the limit (${BIG_A} x ${BIG_B} = ${BIG_A * BIG_B})`, () => {
    expect(BIG_A * BIG_B).toBeGreaterThan(100_000);
    expect(oversizedSpec().length).toBeGreaterThan(1.05 * MiB);
    expect(oversizedSpec().length).toBeLessThan(1.2 * MiB);
  });

  it.each(CASES)("$name -> $status $code", async (c) => {
    const before = await d1JobCount();
    const res = c.headers
      ? await rawRequest(c.method, c.path, { "content-type": "application/json", ...c.headers }, c.raw ?? JSON.stringify(c.body))
      : await api(c.method, c.path, {
          ...(c.body !== undefined ? { body: c.body } : {}),
          ...(c.raw !== undefined ? { raw: c.raw } : {}),
          ...(c.key !== undefined ? { key: c.key } : {}),
        });
    expect(res.status).toBe(c.status);
    const parsed = ApiErrorBody.safeParse(res.body);
    expect(parsed.success, `error body: ${JSON.stringify(res.body)}`).toBe(true);
    const error = parsed.data!.error;
    expect(error.code).toBe(c.code);
    expect(error.message.length).toBeGreaterThan(0);
    if (c.paths) expect(error.details?.map((d) => d.path)).toEqual(expect.arrayContaining(c.paths));
    // Nothing was created or changed.
    expect(await d1JobCount()).toBe(before);
  });

  it("lists every problem of a spec at once", async () => {
    const res = await api<ApiErrorBody>("POST", BASE, {
      body: { ...valid(), objective: { metric: "score", mode: "up" }, topN: 0, concurrencyLimit: 1000 },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details?.map((d) => d.path).sort()).toEqual(["concurrencyLimit", "objective.mode", "topN"]);
  });

  it("left no job behind: both tenants' lists and D1 are as before", async () => {
    expect(await d1JobCount()).toBe(initialCount);
    expect(await listIds(KEY_A)).toEqual(initialA);
    expect(await listIds(KEY_B)).toEqual(initialB);
    // This block runs first in its file, on fresh storage.
    expect(initialCount).toBe(0);
    expect(initialA).toEqual([]);
  });

  it("names an unknown top-level field in details[].path", async () => {
    const res = await api<ApiErrorBody>("POST", BASE, { body: { ...valid(), foo: 1 } });
    expect(res.body.error.details?.map((d) => d.path)).toContain("foo");
  });
  it("names the id in details[].path for an invalid job id", async () => {
    const res = await api<ApiErrorBody>("GET", `${BASE}/bad!id/status`);
    expect(res.status).toBe(400);
    expect(res.body.error.details?.map((d) => d.path)).toContain("id");
  });
});

describe("the 1 MiB body limit", () => {
  it("accepts a spec padded to just under 1 MiB, and rejects the same spec just over it", async () => {
    const spec = JSON.stringify(synthetic({ a: { values: [1] } }, { name: "padded" }));
    const under = `${spec}${" ".repeat(MiB - 1024 - spec.length)}`;
    const over = `${spec}${" ".repeat(MiB + 1024 - spec.length)}`;
    const before = await d1JobCount();
    const rejected = await api<ApiErrorBody>("POST", BASE, { raw: over });
    expect(rejected.status).toBe(413);
    expect(rejected.body.error.code).toBe("payload_too_large");
    expect(await d1JobCount()).toBe(before);
    const accepted = await api<Job>("POST", BASE, { raw: under });
    expect(accepted.status).toBe(201);
    expect(accepted.body.name).toBe("padded");
    expect(await d1JobCount()).toBe(before + 1);
  });
});

describe("tenant isolation", () => {
  it("tenant-b cannot see, page or cancel tenant-a's job, and tenant-a's job runs on untouched", async () => {
    // Slow enough (4 tasks of 150 ms, one at a time) to still be running while tenant-b tries.
    const job = await submit(synthetic({ a: range(1, 4), sleepMs: { values: [150] } }, { name: "tenant-a private", concurrencyLimit: 1 }));
    const id = job.id;

    for (const [method, path] of [
      ["GET", `${BASE}/${id}/status`],
      ["GET", `${BASE}/${id}`],
      ["GET", `${BASE}/${id}/tasks`],
      ["POST", `${BASE}/${id}/cancel`],
    ] as const) {
      const res = await api<ApiErrorBody>(method, path, { key: KEY_B });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.error.code).toBe("not_found");
    }
    const cancelWithReason = await api<ApiErrorBody>("POST", `${BASE}/${id}/cancel`, { key: KEY_B, body: { reason: "not yours" } });
    expect(cancelWithReason.status).toBe(404);

    expect(await listIds(KEY_B)).not.toContain(id);
    expect(await listIds(KEY_A)).toContain(id);

    // tenant-a still sees its job, not canceled, and it completes normally.
    const now = await api<Job>("GET", `${BASE}/${id}/status`);
    expect(now.status).toBe(200);
    expect(["queued", "running"]).toContain(now.body.status);
    expect(now.body.stopReason).toBeNull();
    const done = await waitForEnd(id);
    expect(done.status).toBe("succeeded");
    expect(done.stopReason).toBeNull();
    expect(done.summary).toMatchObject({ total: 4, succeeded: 4, canceled: 0 });
  });
});

describe("pagination", () => {
  it("lists a tenant's jobs newest first, 2 per page", async () => {
    expect(await listIds(KEY_B)).toEqual([]);
    const jobs: Job[] = [];
    for (const name of ["first", "second", "third"]) {
      jobs.push(await submit(synthetic({ a: { values: [1] } }, { name }), KEY_B));
      // createdAt has millisecond resolution; keep the three apart so "newest first" is well defined.
      await new Promise((r) => setTimeout(r, 5));
    }
    const [first, second, third] = jobs as [Job, Job, Job];

    const page1 = await api<Page<JobListItem>>("GET", `${BASE}?limit=2`, { key: KEY_B });
    expect(page1.status).toBe(200);
    expect(page1.body.items.map((j) => [j.id, j.name])).toEqual([
      [third.id, "third"],
      [second.id, "second"],
    ]);
    expect(page1.body.nextCursor).toEqual(expect.any(String));
    expect(page1.body.items[0]).toMatchObject({ strategy: "synthetic", dataset: "sp500", summary: { total: 1 } });

    const page2 = await api<Page<JobListItem>>("GET", `${BASE}?limit=2&cursor=${encodeURIComponent(page1.body.nextCursor!)}`, { key: KEY_B });
    expect(page2.status).toBe(200);
    expect(page2.body.items.map((j) => [j.id, j.name])).toEqual([[first.id, "first"]]);
    expect(page2.body.nextCursor).toBeNull();

    // tenant-b's cursor does not reveal tenant-a's jobs.
    const crossTenant = await api<Page<JobListItem>>("GET", `${BASE}?limit=50&cursor=${encodeURIComponent(page1.body.nextCursor!)}`, { key: KEY_A });
    expect(crossTenant.status).toBe(200);
    expect(crossTenant.body.items.map((j) => j.id)).not.toContain(first.id);
  });

  it("pages a 10x10 job's tasks 30 at a time, every index once and in order, while running and after", async () => {
    const job = await submit(synthetic({ a: range(1, 10), b: range(0, 90, 10) }, { concurrencyLimit: 2 }));
    const pageAll = async () => {
      const seen: Task[] = [];
      const sizes: number[] = [];
      let cursor: string | null = null;
      do {
        const res: { status: number; body: Page<Task> } = await api<Page<Task>>(
          "GET",
          `${BASE}/${job.id}/tasks?limit=30${cursor === null ? "" : `&cursor=${cursor}`}`,
        );
        expect(res.status).toBe(200);
        sizes.push(res.body.items.length);
        seen.push(...res.body.items);
        cursor = res.body.nextCursor;
      } while (cursor !== null && sizes.length < 10);
      expect(sizes).toEqual([30, 30, 30, 10]);
      expect(seen.map((t) => t.index)).toEqual(Array.from({ length: 100 }, (_, i) => i));
      for (const t of seen) {
        expect(t.taskId).toBe(`${job.id}.${t.index}`);
        expect(t.params).toEqual({ a: 1 + Math.floor(t.index / 10), b: (t.index % 10) * 10 });
      }
      return seen;
    };

    await pageAll();
    await waitForEnd(job.id);
    const after = await pageAll();
    expect(after.every((t) => t.status === "succeeded" && t.score === (t.params.a as number) + (t.params.b as number))).toBe(true);

    const succeeded = await api<Page<Task>>("GET", `${BASE}/${job.id}/tasks?status=succeeded&limit=500`);
    expect(succeeded.body.items).toHaveLength(100);
    const failed = await api<Page<Task>>("GET", `${BASE}/${job.id}/tasks?status=failed`);
    expect(failed.body).toEqual({ items: [], nextCursor: null });

    // Bad queries against a real job are still 400s.
    for (const query of ["status=bogus", "limit=0", "cursor=-1", "sort=index"]) {
      const res = await api<ApiErrorBody>("GET", `${BASE}/${job.id}/tasks?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error.code).toBe("validation_failed");
    }

    // Canceling a job that already succeeded is a conflict, and leaves it as it was.
    const cancel = await api<ApiErrorBody>("POST", `${BASE}/${job.id}/cancel`, { body: { reason: "too late" } });
    expect(cancel.status).toBe(409);
    expect(cancel.body.error.code).toBe("conflict");
    const status = await api<Job>("GET", `${BASE}/${job.id}/status`);
    expect(status.body).toMatchObject({ status: "succeeded", stopReason: null, summary: { succeeded: 100, canceled: 0 } });
  });
});

describe("a grid at the task limit", () => {
  it("accepts exactly 100000 tasks, and a cancel right away leaves a consistent summary", async () => {
    const res = await api<Job>("POST", BASE, { body: synthetic({ a: range(1, 1000), b: range(1, 100) }, { name: "max grid" }) });
    expect(res.status).toBe(201);
    expect(res.body.summary.total).toBe(100_000);
    expect(res.headers.get("location")).toBe(`${BASE}/${res.body.id}`);
    const id = res.body.id;

    const cancel = await api<Job>("POST", `${BASE}/${id}/cancel`, { body: { reason: "enough" } });
    expect(cancel.status).toBe(202);
    expect(cancel.body.status).toBe("canceled");
    expect(cancel.body.stopReason).toMatchObject({ kind: "cancel", reason: "enough" });

    for (const job of [cancel.body, (await api<Job>("GET", `${BASE}/${id}/status`)).body]) {
      const s = job.summary;
      expect(s.total).toBe(100_000);
      expect(s.canceled + s.finished + s.running + s.queued).toBe(s.total);
      expect(s.running).toBe(0);
      expect(s.queued).toBe(0);
      expect(s.canceled).toBeGreaterThan(0);
      expect(job.finishedAt).not.toBeNull();
    }

    // A second cancel is harmless: 202 again, same outcome.
    const again = await api<Job>("POST", `${BASE}/${id}/cancel`);
    expect(again.status).toBe(202);
    expect(again.body.status).toBe("canceled");
    expect(again.body.summary.canceled).toBe(cancel.body.summary.canceled);
    expect(again.body.stopReason).toMatchObject({ kind: "cancel", reason: "enough" });

    // The last tasks read as canceled, and the list shows the job canceled once D1 catches up.
    const tail = await api<Page<Task>>("GET", `${BASE}/${id}/tasks?cursor=99997&limit=5`);
    expect(tail.body.items.map((t) => [t.index, t.status])).toEqual([
      [99_998, "canceled"],
      [99_999, "canceled"],
    ]);
    expect(tail.body.nextCursor).toBeNull();
    await waitFor(
      async () => {
        const list = await api<Page<JobListItem>>("GET", `${BASE}?limit=5`);
        return list.body.items.find((j) => j.id === id)?.status === "canceled";
      },
      { what: "the list to show the job canceled" },
    );
  });
});
