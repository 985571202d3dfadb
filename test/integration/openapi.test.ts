import { exports } from "cloudflare:workers";
import { Validator, type Schema } from "@cfworker/json-schema";
import { describe, expect, it } from "vitest";
import type { Job, Task } from "../../schema";
import { createApp } from "../../worker/app";
import { openApiDocument, REST_ROUTES } from "../../worker/api/openapi";
import { KEY_A, range, synthetic, waitForEnd } from "../helpers";

type Operation = { responses: Record<string, { content?: Record<string, { schema: Schema }> }> };
const doc = openApiDocument("http://optimizer.test") as { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, Schema> } };
const openApiPath = (path: string) => path.replace(/:([A-Za-z]+)/g, "{$1}");

const CSV = ["date,open,high,low,close,volume", ...Array.from({ length: 60 }, (_, i) => `2020-${String(Math.floor(i / 28) + 1).padStart(2, "0")}-${String((i % 28) + 1).padStart(2, "0")},${100 + i},${101 + i},${99 + i},${100 + i},1000`)].join("\n");

interface Answer {
  status: number;
  type: string;
  body: unknown;
}

async function call(method: string, path: string, init: { body?: string; type?: string; key?: string | null; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers = new Headers(init.headers);
  if (init.key !== null) headers.set("authorization", `Bearer ${init.key ?? KEY_A}`);
  if (init.type) headers.set("content-type", init.type);
  const res = await exports.default.fetch(new Request(`http://optimizer.test${path}`, { method, headers, body: init.body }));
  const type = (res.headers.get("content-type") ?? "").split(";")[0]!;
  const text = await res.text();
  return { status: res.status, type, body: type === "application/json" ? JSON.parse(text) : text };
}

/** Checks an answer against what the document says the route answers with that status (or its default, for errors). */
function conforms(method: string, route: string, answer: Answer): void {
  const op = doc.paths[openApiPath(route)]?.[method.toLowerCase()];
  expect(op, `${method} ${route} is in the document`).toBeDefined();
  const response = op!.responses[String(answer.status)] ?? op!.responses.default;
  expect(response, `${method} ${route} documents status ${answer.status}`).toBeDefined();
  const media = response!.content?.[answer.type];
  expect(media, `${method} ${route} ${answer.status} documents ${answer.type}`).toBeDefined();
  const schema = "$ref" in media!.schema ? doc.components.schemas[String(media!.schema.$ref).split("/").pop()!]! : media!.schema;
  const result = new Validator(schema, "2020-12", false).validate(answer.body);
  expect(result.errors.slice(0, 3), `${method} ${route} ${answer.status}`).toEqual([]);
  expect(result.valid).toBe(true);
}

describe("the OpenAPI document", () => {
  it("lists every REST route the Worker serves, and nothing it does not", () => {
    const served = createApp()
      .routes.filter((r) => r.method !== "ALL")
      .map((r) => `${r.method} ${r.path.replace(/\/$/, "")}`);
    expect(new Set(served)).toEqual(new Set(REST_ROUTES.map((r) => `${r.method.toUpperCase()} ${r.path}`)));
    for (const route of REST_ROUTES) expect(doc.paths[openApiPath(route.path)]?.[route.method], route.path).toBeDefined();
  });

  it("is what GET /api/v1/openapi.json serves, without a key, and /api/v1/docs is a page of it", async () => {
    const served = await call("GET", "/api/v1/openapi.json", { key: null });
    expect(served.status).toBe(200);
    expect(served.body).toEqual(doc);
    const page = await call("GET", "/api/v1/docs", { key: null });
    expect([page.status, page.type]).toEqual([200, "text/html"]);
    for (const route of REST_ROUTES) expect(page.body as string).toContain(`<code>${openApiPath(route.path)}</code>`);
  });

  it("describes the real answers of every route: bodies validate against the document's schemas", async () => {
    const submitted = await call("POST", "/api/v1/optimizations", {
      body: JSON.stringify({ strategy: "sma-crossover", dataset: "sp500", params: { fast: { values: [10, 20] }, slow: { values: [50, 100] } }, objective: { metric: "sharpe", mode: "max" } }),
      type: "application/json",
      headers: { "Idempotency-Key": "openapi-test" },
    });
    conforms("POST", "/api/v1/optimizations", submitted);
    const id = (submitted.body as Job).id;
    const replay = await call("POST", "/api/v1/optimizations", {
      body: JSON.stringify({ strategy: "sma-crossover", dataset: "sp500", params: { fast: { values: [10, 20] }, slow: { values: [50, 100] } }, objective: { metric: "sharpe", mode: "max" } }),
      type: "application/json",
      headers: { "Idempotency-Key": "openapi-test" },
    });
    expect(replay.status).toBe(200);
    conforms("POST", "/api/v1/optimizations", replay);
    await waitForEnd(id);

    conforms("GET", "/api/v1/optimizations", await call("GET", "/api/v1/optimizations?limit=5"));
    conforms("GET", "/api/v1/optimizations/:id", await call("GET", `/api/v1/optimizations/${id}`));
    conforms("GET", "/api/v1/optimizations/:id/status", await call("GET", `/api/v1/optimizations/${id}/status`));
    const tasks = await call("GET", `/api/v1/optimizations/${id}/tasks?limit=10`);
    conforms("GET", "/api/v1/optimizations/:id/tasks", tasks);
    conforms("GET", "/api/v1/optimizations/:id/heatmap", await call("GET", `/api/v1/optimizations/${id}/heatmap?x=fast&y=slow&agg=mean`));
    const exported = await call("GET", `/api/v1/optimizations/${id}/export?format=json`);
    expect((exported.body as unknown[]).length).toBe(4);
    conforms("GET", "/api/v1/optimizations/:id/export", exported);
    const exportedCsv = await call("GET", `/api/v1/optimizations/${id}/export?format=csv`);
    expect(exportedCsv.type).toBe("text/csv");
    conforms("GET", "/api/v1/optimizations/:id/export", exportedCsv);
    conforms("POST", "/api/v1/optimizations/:id/live", await call("POST", `/api/v1/optimizations/${id}/live`));
    const resultId = (tasks.body as { items: Task[] }).items.find((t) => t.resultSummaryId)!.resultSummaryId!;
    conforms("GET", "/api/v1/results/:id", await call("GET", `/api/v1/results/${resultId}`));
    conforms("GET", "/api/v1/strategies", await call("GET", "/api/v1/strategies"));

    const uploaded = await call("POST", "/api/v1/datasets?name=openapi-test", { body: CSV, type: "text/csv" });
    expect(uploaded.status).toBe(201);
    conforms("POST", "/api/v1/datasets", uploaded);
    conforms("GET", "/api/v1/datasets", await call("GET", "/api/v1/datasets"));
    conforms("GET", "/api/v1/datasets/:id", await call("GET", "/api/v1/datasets/sp500"));
    conforms("GET", "/api/v1/datasets/:id", await call("GET", `/api/v1/datasets/${(uploaded.body as { id: string }).id}`));

    const running = await call("POST", "/api/v1/optimizations", { body: JSON.stringify(synthetic({ x: range(0, 199), sleepMs: { values: [50] } }, { concurrencyLimit: 1 })), type: "application/json" });
    const canceled = await call("POST", `/api/v1/optimizations/${(running.body as Job).id}/cancel`, { body: "{}", type: "application/json" });
    expect(canceled.status).toBe(202);
    conforms("POST", "/api/v1/optimizations/:id/cancel", canceled);

    conforms("GET", "/health", await call("GET", "/health", { key: null }));
    conforms("GET", "/metrics", await call("GET", "/metrics", { key: "test-metrics-token-0123456789" }));
    conforms("GET", "/api/v1/openapi.json", await call("GET", "/api/v1/openapi.json", { key: null }));
  });

  it("the check can fail: a body the schemas do not describe, an undocumented status or type", () => {
    expect(() => conforms("GET", "/api/v1/optimizations/:id", { status: 200, type: "application/json", body: { id: 1, status: "done" } })).toThrow();
    expect(() => conforms("GET", "/api/v1/optimizations/:id", { status: 200, type: "text/csv", body: "" })).toThrow();
    expect(() => conforms("GET", "/api/v1/nope", { status: 200, type: "application/json", body: {} })).toThrow();
  });

  it("describes the errors too: each is the ApiError shape with its code", async () => {
    conforms("GET", "/api/v1/optimizations/:id", await call("GET", "/api/v1/optimizations/no-such-job"));
    conforms("POST", "/api/v1/optimizations", await call("POST", "/api/v1/optimizations", { body: JSON.stringify({ strategy: "x" }), type: "application/json" }));
    conforms("GET", "/api/v1/strategies", await call("GET", "/api/v1/strategies", { key: "wrong" }));
    conforms("GET", "/api/v1/optimizations/:id/live", await call("GET", "/api/v1/optimizations/no-such-job/live"));
  });
});
