import { env, exports } from "cloudflare:workers";
import { TRPCClientError } from "@trpc/client";
import { describe, expect, it } from "vitest";
import { apiErrorOf, createTrpcClient } from "../../client";
import type { ApiErrorBody, Dataset, DatasetList } from "../../schema";
import { barsObjectLoader, datasetObjectKey } from "../../worker/datasets/store";
import { acquireDatasetBars, datasetCacheKey, resolveDataset, uploadDataset, type DatasetEnv } from "../../worker/datasets/service";
import type { Bars } from "../../worker/engine/types";
import { ApiError, ParamInvalid, UpstreamError } from "../../lib/errors";
import { createLogger } from "../../lib/log";
import { api, KEY_A, KEY_B } from "../helpers";

const BASE = "/api/v1/datasets";
const MiB = 1024 * 1024;
const DAY = 86_400_000;
const T0 = Date.UTC(2015, 0, 1);

interface Row {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

/** n daily bars from 2015-01-01; `seed` changes the prices. */
const rowsOf = (n: number, seed = 0): Row[] =>
  Array.from({ length: n }, (_, i) => {
    const close = 100 + seed + Math.round(1000 * Math.sin(i / 7 + seed)) / 100;
    return { time: T0 + i * DAY, open: close - 0.25, high: close + 1.5, low: close - 1.5, close, volume: 1000 + i * 3 + seed };
  });
const dateOf = (t: number) => new Date(t).toISOString().slice(0, 10);
const csvOf = (rows: Row[]) => `Date,Open,High,Low,Close,Volume\n${rows.map((r) => `${dateOf(r.time)},${r.open},${r.high},${r.low},${r.close},${r.volume}`).join("\n")}\n`;

/** POST a CSV body as a client would (bytes: no content type unless given). */
async function upload(name: string, csv: string, { key = KEY_A, contentType = "text/csv" }: { key?: string | null; contentType?: string | null } = {}) {
  const headers = new Headers();
  if (key) headers.set("authorization", `Bearer ${key}`);
  if (contentType) headers.set("content-type", contentType);
  const res = await exports.default.fetch(new Request(`http://optimizer.test${BASE}?name=${encodeURIComponent(name)}`, { method: "POST", headers, body: new TextEncoder().encode(csv) }));
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : null) as unknown };
}

/** The consumer's bars for an id, leased and released at once. */
const loadDatasetBars = async (e: DatasetEnv, tenant: string, id: string): Promise<Bars> => {
  const lease = await acquireDatasetBars(e, tenant, id);
  lease.release();
  return lease.value;
};

/** Bytes the columns of `bars` hold (close-only columns share one array). */
const heldBytes = (bars: Bars): number =>
  [...new Set([bars.time, bars.open, bars.high, bars.low, bars.close, bars.volume].map((a) => a.buffer))].reduce((sum, b) => sum + b.byteLength, 0);

const expectBarsEqual = (bars: Bars, rows: Row[]) => {
  expect(bars.length).toBe(rows.length);
  for (const k of ["time", "open", "high", "low", "close", "volume"] as const) expect(Array.from(bars[k])).toEqual(rows.map((r) => r[k]));
};

const datasetRows = async (tenant: string, name: string): Promise<number> =>
  (await env.DB.prepare("SELECT COUNT(*) AS n FROM datasets WHERE tenant = ? AND name = ?").bind(tenant, name).first<{ n: number }>())!.n;
const objectCount = async (prefix: string): Promise<number> => (await env.RESULTS.list({ prefix })).objects.length;

const list = async (key = KEY_A): Promise<Dataset[]> => {
  const res = await api<DatasetList>("GET", BASE, { key });
  expect(res.status).toBe(200);
  return res.body.items;
};

const ctxFor = (tenant: string, overrides: Partial<{ DB: D1Database; RESULTS: R2Bucket }> = {}) => ({
  env: { DB: env.DB, RESULTS: env.RESULTS, ...overrides },
  tenant,
  log: createLogger({ level: "error", write: () => undefined }),
});

describe("dataset upload (REST)", () => {
  const rows = rowsOf(120);

  it("round trip: upload, list, get, and the consumer loads bars equal to the CSV", async () => {
    // Out of order on purpose: stored sorted.
    const shuffled = [...rows.slice(60), ...rows.slice(0, 60)];
    const csv = csvOf(shuffled);
    const res = await upload("prices", csv);
    expect(res.status).toBe(201);
    expect(res.headers.get("location")).toBe(`${BASE}/u-prices@1`);
    const expected: Dataset = {
      id: "u-prices@1",
      kind: "upload",
      name: "prices",
      version: 1,
      latest: true,
      bars: 120,
      firstDate: "2015-01-01",
      lastDate: dateOf(T0 + 119 * DAY),
      columns: ["open", "high", "low", "close", "volume"],
      bytes: csv.length,
      description: null,
      // Bars on every calendar day: crypto-like daily data, 365 a year.
      annualisation: { spacing: "daily-calendar", barsPerYear: 365 },
      createdAt: expect.any(String) as unknown as string,
    };
    expect(res.body).toEqual(expected);

    const items = await list();
    expect(items.filter((d) => d.kind === "builtin").map((d) => d.id)).toEqual(expect.arrayContaining(["sp500", "eurusd", "usdjpy", "gbpusd"]));
    // A listing leaves an upload's spacing out (it is read from R2 per dataset); GET names it.
    expect(items.find((d) => d.id === "u-prices@1")).toEqual({ ...expected, annualisation: null });
    expect(items.find((d) => d.id === "eurusd")).toMatchObject({ kind: "builtin", bars: 6499, firstDate: "1999-01-04", lastDate: "2024-11-29", columns: ["close"] });

    for (const id of ["u-prices@1", "u-prices"]) {
      const got = await api<Dataset>("GET", `${BASE}/${id}`);
      expect(got.status).toBe(200);
      expect(got.body).toEqual(res.body);
    }
    // '@' percent-encoded by a client works too.
    expect((await api<Dataset>("GET", `${BASE}/u-prices%401`)).body).toEqual(res.body);

    // Stored once, compactly: 16 + 48 bytes a bar, under the tenant's prefix.
    const object = await env.RESULTS.head(datasetObjectKey("tenant-a", "prices", 1));
    expect(object?.size).toBe(16 + 48 * 120);

    const bars = await loadDatasetBars(env, "tenant-a", "u-prices@1");
    expectBarsEqual(bars, rows);
    // Once per isolate.
    expect(await loadDatasetBars(env, "tenant-a", "u-prices@1")).toBe(bars);
    expect(await loadDatasetBars(env, "tenant-a", "u-prices")).toBe(bars);
  });

  it("a close-only upload loads as open = high = low = close, volume 0", async () => {
    const csv = `date,close\n${rows.map((r) => `${dateOf(r.time)},${r.close}`).join("\n")}`;
    const res = await upload("closes", csv, { contentType: "text/plain; charset=utf-8" });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ id: "u-closes@1", columns: ["close"], bars: 120 });
    const bars = await loadDatasetBars(env, "tenant-a", "u-closes@1");
    expectBarsEqual(bars, rows.map((r) => ({ ...r, open: r.close, high: r.close, low: r.close, volume: 0 })));
  });

  it("uploading the same name again makes a new version; old versions stay loadable", async () => {
    const v1 = await upload("versioned", csvOf(rows));
    const newer = rowsOf(80, 5);
    const v2 = await upload("versioned", csvOf(newer));
    expect([v1.status, v2.status]).toEqual([201, 201]);
    expect(v2.body).toMatchObject({ id: "u-versioned@2", version: 2, latest: true, bars: 80 });

    const items = (await list()).filter((d) => d.name === "versioned");
    expect(items.map((d) => [d.id, d.latest])).toEqual([
      ["u-versioned@2", true],
      ["u-versioned@1", false],
    ]);
    expect((await api<Dataset>("GET", `${BASE}/u-versioned`)).body).toMatchObject({ id: "u-versioned@2" });
    expect((await api<Dataset>("GET", `${BASE}/u-versioned@1`)).body).toMatchObject({ id: "u-versioned@1", latest: false });
    expect((await api("GET", `${BASE}/u-versioned@3`)).status).toBe(404);

    // A job resolves the name at submit time and keeps that version.
    expect((await resolveDataset(env, "tenant-a", "u-versioned"))?.id).toBe("u-versioned@2");
    expectBarsEqual(await loadDatasetBars(env, "tenant-a", "u-versioned@1"), rows);
    expectBarsEqual(await loadDatasetBars(env, "tenant-a", "u-versioned@2"), newer);
    const v3rows = rowsOf(70, 9);
    expect((await upload("versioned", csvOf(v3rows))).body).toMatchObject({ id: "u-versioned@3" });
    expectBarsEqual(await loadDatasetBars(env, "tenant-a", "u-versioned@2"), newer);
    expectBarsEqual(await loadDatasetBars(env, "tenant-a", "u-versioned"), v3rows);
  });

  it("concurrent uploads of one name get distinct versions", async () => {
    const results = await Promise.all([1, 2, 3].map((seed) => upload("racy", csvOf(rowsOf(60, seed)))));
    expect(results.map((r) => r.status)).toEqual([201, 201, 201]);
    expect(results.map((r) => (r.body as Dataset).version).sort()).toEqual([1, 2, 3]);
    for (const r of results) {
      const d = r.body as Dataset;
      const seed = results.indexOf(r) + 1;
      expectBarsEqual(await loadDatasetBars(env, "tenant-a", d.id), rowsOf(60, seed));
    }
  });

  it("a CSV over 1 MiB is accepted: the global 1 MiB body limit does not apply to this route", async () => {
    const big = rowsOf(30_000);
    const csv = csvOf(big);
    expect(csv.length).toBeGreaterThan(1.1 * MiB);
    const res = await upload("big", csv);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ bars: 30_000, bytes: csv.length });
    expectBarsEqual(await loadDatasetBars(env, "tenant-a", "u-big@1"), big);
  });
});

describe("dataset upload errors: 400 naming the line, nothing stored", () => {
  const rows = rowsOf(60);

  const expectRejected = async (res: { status: number; body: unknown }, status: number, code: string, details?: { path: string; message?: RegExp }[]) => {
    expect(res.status).toBe(status);
    const body = res.body as ApiErrorBody;
    expect(body.error.code).toBe(code);
    for (const [i, d] of (details ?? []).entries()) {
      expect(body.error.details?.[i]?.path).toBe(d.path);
      if (d.message) expect(body.error.details?.[i]?.message).toMatch(d.message);
    }
  };

  it.each([
    ["a bad date", 15, "2015-02-30,1,2,0.5,1.5,10", /date "2015-02-30" is not a date/],
    ["a price that is not a number", 15, "2015-01-16,1,2,0.5,n/a,10", /close "n\/a" is not a finite number/],
    ["a negative price", 15, "2015-01-16,1,2,-0.5,1.5,10", /low must be positive/],
    ["a missing field", 15, "2015-01-16,1,2,0.5,1.5", /5 fields, expected 6/],
    ["a duplicate date", 15, "2015-01-15,1,2,0.5,1.5,10", /duplicate date "2015-01-15" \(also line 16\)/],
    ["a low above the open", 15, "2015-01-16,1,2,1.2,1.5,10", /low 1.2 is above min\(open, close\) = 1/],
    ["a high below the close", 15, "2015-01-16,1,1.4,0.5,1.5,10", /high 1.4 is below max\(open, close\) = 1.5/],
  ])("%s", async (_, index, row, message) => {
    const csv = csvOf(rows).split("\n");
    csv[index + 1] = row;
    const res = await upload("broken", csv.join("\n"));
    await expectRejected(res, 400, "validation_failed", [{ path: "line 17", message }]);
    expect(await datasetRows("tenant-a", "broken")).toBe(0);
    expect(await objectCount("tenant-a/datasets/u-broken/")).toBe(0);
  });

  it("too few bars, a bad header, an empty body", async () => {
    await expectRejected(await upload("broken", csvOf(rows.slice(0, 49))), 400, "validation_failed", [{ path: "csv", message: /49 bars: at least 50/ }]);
    await expectRejected(await upload("broken", "when,price\n2015-01-01,1\n"), 400, "validation_failed", [{ path: "line 1", message: /unknown column "when"/ }]);
    await expectRejected(await upload("broken", ""), 400, "validation_failed", [{ path: "line 1", message: /no header/ }]);
    expect(await datasetRows("tenant-a", "broken")).toBe(0);
  });

  it("a bad name, query or content type, no API key", async () => {
    const csv = csvOf(rows);
    await expectRejected(await upload("Bad_Name", csv), 400, "validation_failed", [{ path: "name" }]);
    await expectRejected(await upload("x".repeat(65), csv), 400, "validation_failed", [{ path: "name" }]);
    await expectRejected(await upload("", csv), 400, "validation_failed", [{ path: "name" }]);
    await expectRejected(await upload("ok", csv, { contentType: "application/json" }), 400, "validation_failed", [{ path: "content-type" }]);
    await expectRejected(await upload("ok", csv, { contentType: null }), 400, "validation_failed", [{ path: "content-type" }]);
    await expectRejected(await upload("ok", csv, { key: null }), 401, "unauthorized");
    await expectRejected(await upload("ok", csv, { key: "wrong" }), 401, "unauthorized");
    const noName = await exports.default.fetch(new Request(`http://optimizer.test${BASE}`, { method: "POST", headers: { authorization: `Bearer ${KEY_A}`, "content-type": "text/csv" }, body: csv }));
    expect(noName.status).toBe(400);
    expect(((await noName.json()) as ApiErrorBody).error.details?.[0]?.path).toBe("name");
    await expectRejected(await api("GET", `${BASE}/not%20an%20id`), 400, "validation_failed", [{ path: "id" }]);
    await expectRejected(await api("GET", `${BASE}?foo=1`), 400, "validation_failed", [{ path: "foo" }]);
    expect(await datasetRows("tenant-a", "ok")).toBe(0);
  });

  it("a body declared over 50 MiB is refused with 413 before it is read", async () => {
    const res = await exports.default.fetch(
      new Request(`http://optimizer.test${BASE}?name=huge`, {
        method: "POST",
        headers: { authorization: `Bearer ${KEY_A}`, "content-type": "text/csv", "content-length": String(50 * MiB + 1) },
        body: "date,close\n",
      }),
    );
    expect(res.status).toBe(413);
    expect(((await res.json()) as ApiErrorBody).error.code).toBe("payload_too_large");
  });

  it("a storage failure stores nothing usable, and its version number is never reused", async () => {
    const failing = {
      put: async () => {
        throw new Error("R2 is down");
      },
      delete: async () => undefined,
    } as unknown as R2Bucket;
    const err = await uploadDataset(ctxFor("tenant-a", { RESULTS: failing }), "flaky", csvOf(rows)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ code: "internal", status: 500 });
    const status = await env.DB.prepare("SELECT status FROM datasets WHERE tenant = ? AND name = ?").bind("tenant-a", "flaky").all();
    expect(status.results).toEqual([{ status: "failed" }]);
    expect(await resolveDataset(env, "tenant-a", "u-flaky")).toBeNull();
    expect(await resolveDataset(env, "tenant-a", "u-flaky@1")).toBeNull();
    // The next upload of the name takes the next number: a job could have seen version 1.
    expect((await upload("flaky", csvOf(rows))).body).toMatchObject({ id: "u-flaky@2" });
  });
});

describe("tenant isolation", () => {
  const rows = rowsOf(60, 1);
  const other = rowsOf(70, 2);

  it("another tenant cannot see, resolve or load an upload (404, never 403), and has its own namespace", async () => {
    expect((await upload("private", csvOf(rows))).status).toBe(201);

    expect((await api("GET", `${BASE}/u-private@1`, { key: KEY_B })).status).toBe(404);
    expect((await api("GET", `${BASE}/u-private`, { key: KEY_B })).status).toBe(404);
    expect((await list(KEY_B)).filter((d) => d.kind === "upload")).toEqual([]);
    expect(await resolveDataset(env, "tenant-b", "u-private@1")).toBeNull();
    expect(await resolveDataset(env, "tenant-b", "u-private")).toBeNull();
    expect(await resolveDataset(env, "tenant-a", "u-private@1")).not.toBeNull();
    await expect(loadDatasetBars(env, "tenant-b", "u-private")).rejects.toBeInstanceOf(ParamInvalid);
    // A pinned id of another tenant reads that tenant's own prefix only: nothing there.
    await expect(loadDatasetBars(env, "tenant-b", "u-private@1")).rejects.toBeInstanceOf(UpstreamError);

    // The same name in tenant-b is tenant-b's own version 1.
    const b = await upload("private", csvOf(other), { key: KEY_B });
    expect(b.body).toMatchObject({ id: "u-private@1", bars: 70 });
    expectBarsEqual(await loadDatasetBars(env, "tenant-b", "u-private@1"), other);
    expectBarsEqual(await loadDatasetBars(env, "tenant-a", "u-private@1"), rows);
    expect((await list(KEY_A)).find((d) => d.id === "u-private@1")?.bars).toBe(60);
    expect((await list(KEY_B)).find((d) => d.id === "u-private@1")?.bars).toBe(70);
    // Caches of derived series must key uploads by tenant.
    expect(datasetCacheKey("tenant-a", "u-private@1")).not.toBe(datasetCacheKey("tenant-b", "u-private@1"));
    expect(datasetCacheKey("tenant-a", "sp500")).toBe(datasetCacheKey("tenant-b", "sp500"));
  });

  it("built-ins exist for every tenant; anything else does not", async () => {
    for (const tenant of ["tenant-a", "tenant-b"]) {
      for (const id of ["sp500", "eurusd", "usdjpy", "gbpusd"]) expect(await resolveDataset(env, tenant, id)).not.toBeNull();
      for (const id of ["nope", "u-nope", "u-nope@1", "u-private@0", "U-private", "", "u-", "u-private@x"]) expect(await resolveDataset(env, tenant, id)).toBeNull();
    }
  });
});

describe("acquireDatasetBars (the consumer's loader)", () => {
  it("counts an upload's memory from its header before reading it, exactly", async () => {
    const rows = rowsOf(70, 5);
    expect((await upload("sized", csvOf(rows))).status).toBe(201);
    expect((await upload("sized-closes", `date,close\n${rows.map((r) => `${dateOf(r.time)},${r.close}`).join("\n")}`)).status).toBe(201);
    for (const name of ["sized", "sized-closes"]) {
      const loader = barsObjectLoader(env.RESULTS, datasetObjectKey("tenant-a", name, 1));
      // Close only: the object holds time and close, decoding adds a zero volume column.
      expect(await loader.size()).toBe(heldBytes(await loader.read()));
    }
    expect(await barsObjectLoader(env.RESULTS, datasetObjectKey("tenant-a", "nothing", 1)).size()).toBeNull();
  });

  it("holds an upload while leased: the same bars until released", async () => {
    const rows = rowsOf(60, 6);
    expect((await upload("leased", csvOf(rows))).status).toBe(201);
    const [a, b] = await Promise.all([acquireDatasetBars(env, "tenant-a", "u-leased@1"), acquireDatasetBars(env, "tenant-a", "u-leased")]);
    expect(a.value).toBe(b.value);
    expectBarsEqual(a.value, rows);
    expect(a.value.annualisation).toEqual({ spacing: "daily-calendar", barsPerYear: 365 });
    a.release();
    b.release();
  });

  it("loads the built-ins: sp500 and the FX closes", async () => {
    expect((await loadDatasetBars(env, "tenant-a", "sp500")).length).toBe(5105);
    const eurusd = await loadDatasetBars(env, "tenant-a", "eurusd");
    expect([eurusd.length, dateOf(eurusd.time[0]!), dateOf(eurusd.time[eurusd.length - 1]!)]).toEqual([6499, "1999-01-04", "2024-11-29"]);
    expect(await loadDatasetBars(env, "tenant-b", "eurusd")).toBe(eurusd);
  });

  it("an R2 failure is an UpstreamError (retryable), and is not cached", async () => {
    const rows = rowsOf(60, 3);
    expect((await upload("r2fail", csvOf(rows), { key: KEY_B })).status).toBe(201);
    let calls = 0;
    const failing = {
      get: async () => {
        calls++;
        throw new Error("R2 is down");
      },
    } as unknown as R2Bucket;
    const fakeEnv = { DB: env.DB, RESULTS: failing };
    const err = await loadDatasetBars(fakeEnv, "tenant-b", "u-r2fail@1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as UpstreamError).kind).toBe("UpstreamError");
    expect((err as Error).message).toMatch(/R2 is down/);
    await expect(loadDatasetBars(fakeEnv, "tenant-b", "u-r2fail@1")).rejects.toBeInstanceOf(UpstreamError);
    expect(calls).toBe(2);
    // Once R2 answers again, the same id loads.
    expectBarsEqual(await loadDatasetBars(env, "tenant-b", "u-r2fail@1"), rows);
  });

  it("a D1 failure resolving an unpinned id, a missing or corrupt object: UpstreamError", async () => {
    const failingDb = {
      prepare: () => {
        throw new Error("D1 is down");
      },
    } as unknown as D1Database;
    await expect(loadDatasetBars({ DB: failingDb, RESULTS: env.RESULTS }, "tenant-a", "u-prices")).rejects.toBeInstanceOf(UpstreamError);
    await expect(loadDatasetBars(env, "tenant-c", "u-ghost@7")).rejects.toThrow(/missing from R2/);
    await env.RESULTS.put(datasetObjectKey("tenant-c", "corrupt", 1), "not bars at all");
    await expect(loadDatasetBars(env, "tenant-c", "u-corrupt@1")).rejects.toBeInstanceOf(UpstreamError);
    await expect(loadDatasetBars(env, "tenant-c", "not an id")).rejects.toBeInstanceOf(ParamInvalid);
  });
});

describe("datasets over tRPC", () => {
  const client = (apiKey: string) =>
    createTrpcClient({ url: "http://optimizer.test", apiKey, fetch: (input, init) => exports.default.fetch(new Request(input, init)) });

  it("upload { name, csv } (under 1 MiB), list, get; errors carry the same details", async () => {
    const a = client(KEY_A);
    const rows = rowsOf(10_000, 4);
    const csv = csvOf(rows);
    expect(csv.length).toBeGreaterThan(0.3 * MiB);
    const created = await a.datasets.upload.mutate({ name: "via-trpc", csv });
    expect(created).toMatchObject({ id: "u-via-trpc@1", kind: "upload", bars: 10_000, bytes: csv.length });
    expect((await a.datasets.list.query()).items.find((d) => d.id === "u-via-trpc@1")).toEqual({ ...created, annualisation: null });
    expect(await a.datasets.get.query({ id: "u-via-trpc" })).toEqual(created);
    expectBarsEqual(await loadDatasetBars(env, "tenant-a", created.id), rows);

    const lines = csvOf(rowsOf(60)).split("\n");
    lines[16] = "2015-01-16,1,2,0.5,zero,10";
    const bad = await a.datasets.upload.mutate({ name: "via-trpc", csv: lines.join("\n") }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(TRPCClientError);
    expect(apiErrorOf(bad)).toMatchObject({ code: "validation_failed", details: [{ path: "line 17", message: 'close "zero" is not a finite number' }] });
    const badName = await a.datasets.upload.mutate({ name: "Nope!", csv }).catch((e: unknown) => e);
    expect(apiErrorOf(badName)).toMatchObject({ code: "validation_failed", details: [{ path: "name" }] });

    const b = client(KEY_B);
    expect(apiErrorOf(await b.datasets.get.query({ id: "u-via-trpc@1" }).catch((e: unknown) => e))).toMatchObject({ code: "not_found" });
    expect(await datasetRows("tenant-a", "via-trpc")).toBe(1);
  });

  it("an upload over the 1 MiB body limit is refused with 413 (REST takes large files); nothing is stored", async () => {
    const csv = csvOf(rowsOf(30_000, 7));
    expect(csv.length).toBeGreaterThan(1.1 * MiB);
    await expect(client(KEY_A).datasets.upload.mutate({ name: "trpc-big", csv })).rejects.toBeInstanceOf(TRPCClientError);
    const res = await exports.default.fetch(
      new Request("http://optimizer.test/trpc/datasets.upload", {
        method: "POST",
        headers: { authorization: `Bearer ${KEY_A}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "trpc-big", csv }),
      }),
    );
    expect(res.status).toBe(413);
    expect(((await res.json()) as ApiErrorBody).error.code).toBe("payload_too_large");
    expect(await datasetRows("tenant-a", "trpc-big")).toBe(0);
  });

  it("other tRPC calls keep the 1 MiB limit", async () => {
    const res = await exports.default.fetch(
      new Request("http://optimizer.test/trpc/optimizations.submit", {
        method: "POST",
        headers: { authorization: `Bearer ${KEY_A}`, "content-type": "application/json" },
        body: JSON.stringify({ pad: "x".repeat(MiB + 10) }),
      }),
    );
    expect(res.status).toBe(413);
  });
});
