import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ApiErrorBody } from "../../schema";
import { createApp } from "../../worker/app";
import { appRouter } from "../../worker/trpc/router";
import { range, synthetic } from "../helpers";

/** Every name a plain-object lookup would find without an own entry, plus keys that are simply unknown. */
const BAD_KEYS = [...Object.getOwnPropertyNames(Object.prototype), "prototype", "not-a-known-key", "test-key-", "TEST-KEY-A", "test-key-a-2"];

const JOB_ID = "00000000-0000-4000-8000-000000000000";
const CSV = ["date,close", ...Array.from({ length: 60 }, (_, i) => `2020-01-${String((i % 28) + 1).padStart(2, "0")}T${String(Math.floor(i / 28)).padStart(2, "0")}:00:00Z,${100 + i}`)].join("\n");
const SPEC = synthetic({ a: range(1, 3) });

interface Call {
  method: string;
  path: string;
  body?: string;
  type?: string;
}

/** One call of each REST route, keyed as Hono lists it (`METHOD path`), with a body that would otherwise be accepted. */
const REST: Record<string, Call> = {
  "POST /api/v1/optimizations": { method: "POST", path: "/api/v1/optimizations", body: JSON.stringify(SPEC), type: "application/json" },
  "GET /api/v1/optimizations": { method: "GET", path: "/api/v1/optimizations" },
  "GET /api/v1/optimizations/:id": { method: "GET", path: `/api/v1/optimizations/${JOB_ID}` },
  "GET /api/v1/optimizations/:id/status": { method: "GET", path: `/api/v1/optimizations/${JOB_ID}/status` },
  "GET /api/v1/optimizations/:id/tasks": { method: "GET", path: `/api/v1/optimizations/${JOB_ID}/tasks` },
  "POST /api/v1/optimizations/:id/cancel": { method: "POST", path: `/api/v1/optimizations/${JOB_ID}/cancel`, body: "{}", type: "application/json" },
  "GET /api/v1/optimizations/:id/heatmap": { method: "GET", path: `/api/v1/optimizations/${JOB_ID}/heatmap?x=a&y=b` },
  "GET /api/v1/optimizations/:id/export": { method: "GET", path: `/api/v1/optimizations/${JOB_ID}/export?format=csv` },
  "POST /api/v1/optimizations/:id/live": { method: "POST", path: `/api/v1/optimizations/${JOB_ID}/live` },
  // The socket itself takes a ticket, never a key: without one it is 401 whatever the header says.
  "GET /api/v1/optimizations/:id/live": { method: "GET", path: `/api/v1/optimizations/${JOB_ID}/live` },
  "GET /api/v1/strategies": { method: "GET", path: "/api/v1/strategies" },
  "GET /api/v1/results/:id": { method: "GET", path: "/api/v1/results/r-1" },
  "POST /api/v1/datasets": { method: "POST", path: "/api/v1/datasets?name=auth-test", body: CSV, type: "text/csv" },
  "GET /api/v1/datasets": { method: "GET", path: "/api/v1/datasets" },
  "GET /api/v1/datasets/:id": { method: "GET", path: "/api/v1/datasets/sp500" },
  "GET /metrics": { method: "GET", path: "/metrics" },
};

/** What anyone may read, without a key: liveness and the API's reference. */
const PUBLIC = new Set(["/health", "/api/v1/openapi.json", "/api/v1/docs"]);

/** One input per tRPC procedure that would otherwise be accepted. */
const TRPC: Record<string, unknown> = {
  "optimizations.submit": SPEC,
  "optimizations.status": { id: JOB_ID },
  "optimizations.cancel": { id: JOB_ID },
  "optimizations.list": { limit: 5 },
  "optimizations.tasks": { id: JOB_ID },
  "optimizations.heatmap": { id: JOB_ID, x: "a", y: "b" },
  "optimizations.live": { id: JOB_ID },
  "datasets.upload": { name: "auth-test", csv: CSV },
  "datasets.list": undefined,
  "datasets.get": { id: "sp500" },
  "strategies.list": undefined,
  "results.get": { id: "r-1" },
};

async function send(call: Call, key: string): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = { authorization: `Bearer ${key}` };
  if (call.type) headers["content-type"] = call.type;
  const res = await exports.default.fetch(new Request(`http://optimizer.test${call.path}`, { method: call.method, headers, body: call.body }));
  const text = await res.text();
  return { status: res.status, body: res.headers.get("content-type")?.startsWith("application/json") ? JSON.parse(text) : text };
}

function trpcCall(procedure: string, input: unknown): Call {
  const mutation = (appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>)[procedure]!._def.type === "mutation";
  const json = input === undefined ? undefined : JSON.stringify(input);
  if (mutation) return { method: "POST", path: `/trpc/${procedure}`, body: json ?? "{}", type: "application/json" };
  return { method: "GET", path: `/trpc/${procedure}${json === undefined ? "" : `?input=${encodeURIComponent(json)}`}` };
}

const jobRows = async () => (await env.DB.prepare("SELECT COUNT(*) AS n FROM optimization_jobs").first<{ n: number }>())!.n;
const datasetRows = async () => (await env.DB.prepare("SELECT COUNT(*) AS n FROM datasets").first<{ n: number }>())!.n;

describe("API keys", () => {
  it("the tables above name every route the app serves but the public ones, and every tRPC procedure", () => {
    const served = createApp()
      .routes.filter((r) => r.method !== "ALL" && !PUBLIC.has(r.path))
      .map((r) => `${r.method} ${r.path.replace(/\/$/, "")}`);
    expect(new Set(served)).toEqual(new Set(Object.keys(REST)));
    expect(new Set(Object.keys(appRouter._def.procedures))).toEqual(new Set(Object.keys(TRPC)));
  });

  it("answers 401 unauthorized on every REST route to Object.prototype names and unknown keys", async () => {
    for (const key of BAD_KEYS) {
      for (const [route, call] of Object.entries(REST)) {
        const res = await send(call, key);
        expect(res.status, `${route} with key ${key}`).toBe(401);
        expect(ApiErrorBody.parse(res.body).error.code, `${route} with key ${key}`).toBe("unauthorized");
      }
    }
    expect(await jobRows()).toBe(0);
    expect(await datasetRows()).toBe(0);
  });

  it("answers 401 unauthorized on every tRPC procedure to the same keys, with the error body under data.apiError", async () => {
    for (const key of BAD_KEYS) {
      for (const [procedure, input] of Object.entries(TRPC)) {
        const res = await send(trpcCall(procedure, input), key);
        expect(res.status, `${procedure} with key ${key}`).toBe(401);
        const body = res.body as { error: { data: { apiError: unknown } } };
        expect(ApiErrorBody.shape.error.parse(body.error.data.apiError).code, `${procedure} with key ${key}`).toBe("unauthorized");
      }
    }
    expect(await jobRows()).toBe(0);
    expect(await datasetRows()).toBe(0);
  });

  it("serves the public routes to anyone, holding no tenant's data", async () => {
    for (const path of PUBLIC) {
      const res = await exports.default.fetch(new Request(`http://optimizer.test${path}`));
      expect(res.status, path).toBe(200);
      expect(await res.text(), path).not.toMatch(/tenant-a|test-key/);
    }
  });

  it("still accepts the configured keys", async () => {
    const res = await send(REST["GET /api/v1/optimizations"]!, "test-key-a");
    expect(res.status).toBe(200);
    expect((await send(trpcCall("strategies.list", undefined), "test-key-b")).status).toBe(200);
    expect((await send(REST["GET /metrics"]!, "test-metrics-token-0123456789")).status).toBe(200);
  });
});
