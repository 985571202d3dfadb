import { z } from "zod";
import {
  ApiErrorBody,
  CancelRequest,
  Dataset,
  DatasetId,
  DatasetList,
  ExportQuery,
  ExportRecord,
  Heatmap,
  HeatmapQuery,
  IdempotencyKey,
  Job,
  JobId,
  JobListItem,
  JobSpec,
  ListJobsQuery,
  ListTasksQuery,
  LiveTicket,
  Page,
  ResultSummary,
  ResultSummaryId,
  StrategyList,
  Task,
  UploadDatasetQuery,
} from "../../schema";

type Auth = "key" | "ticket" | "metrics" | "none";

interface Body {
  contentType: string;
  schema: z.ZodType;
}

/** One REST route as the document describes it: everything comes from the schemas in schema/. */
export interface RouteDoc {
  method: "get" | "post";
  /** Hono's form, `/api/v1/optimizations/:id`. */
  path: string;
  summary: string;
  tag: "optimizations" | "datasets" | "catalog" | "service";
  auth: Auth;
  pathParams?: Record<string, z.ZodType>;
  query?: z.ZodObject;
  headers?: Record<string, z.ZodType>;
  body?: Body;
  /** A response's bodies: more than one where the query picks the media type (the export's format). */
  responses: Record<string, { description: string; body?: Body | readonly Body[] }>;
}

const json = (schema: z.ZodType): Body => ({ contentType: "application/json", schema });
const id = { id: JobId };

/** Every REST route the Worker serves (a test holds this list to the app's own routes). */
export const REST_ROUTES: readonly RouteDoc[] = [
  {
    method: "post",
    path: "/api/v1/optimizations",
    summary: "Start an optimization: a grid of backtests, ranked by the objective",
    tag: "optimizations",
    auth: "key",
    headers: { "Idempotency-Key": IdempotencyKey },
    body: json(JobSpec),
    responses: { "201": { description: "started", body: json(Job) }, "200": { description: "the same Idempotency-Key again: the job it started", body: json(Job) } },
  },
  { method: "get", path: "/api/v1/optimizations", summary: "Your optimizations, newest first", tag: "optimizations", auth: "key", query: ListJobsQuery, responses: { "200": { description: "a page", body: json(Page(JobListItem)) } } },
  { method: "get", path: "/api/v1/optimizations/:id", summary: "An optimization", tag: "optimizations", auth: "key", pathParams: id, responses: { "200": { description: "the job", body: json(Job) } } },
  {
    method: "get",
    path: "/api/v1/optimizations/:id/status",
    summary: "An optimization's status, counts, Top-N and stats",
    tag: "optimizations",
    auth: "key",
    pathParams: id,
    responses: { "200": { description: "the job", body: json(Job) } },
  },
  {
    method: "get",
    path: "/api/v1/optimizations/:id/tasks",
    summary: "Its tasks in grid order",
    tag: "optimizations",
    auth: "key",
    pathParams: id,
    query: ListTasksQuery,
    responses: { "200": { description: "a page", body: json(Page(Task)) } },
  },
  {
    method: "post",
    path: "/api/v1/optimizations/:id/cancel",
    summary: "Cancel it: tasks not run yet are dropped, results kept",
    tag: "optimizations",
    auth: "key",
    pathParams: id,
    body: json(CancelRequest),
    responses: { "202": { description: "canceled (or already canceled)", body: json(Job) } },
  },
  {
    method: "get",
    path: "/api/v1/optimizations/:id/heatmap",
    summary: "The objective over two params, aggregated in cells (at most 100 x 100)",
    tag: "optimizations",
    auth: "key",
    pathParams: id,
    query: HeatmapQuery,
    responses: { "200": { description: "the heatmap", body: json(Heatmap) } },
  },
  {
    method: "get",
    path: "/api/v1/optimizations/:id/export",
    summary: "Every task with its params and metrics, streamed",
    tag: "optimizations",
    auth: "key",
    pathParams: id,
    query: ExportQuery,
    responses: {
      "200": {
        description: "format=csv: a header row (index, status, attempt, the params, the metrics, errorKind, errorMessage), then a row a task; format=json: an array of records",
        body: [{ contentType: "text/csv", schema: z.string() }, json(z.array(ExportRecord))],
      },
    },
  },
  {
    method: "post",
    path: "/api/v1/optimizations/:id/live",
    summary: "A single-use WebSocket URL for the live stream (ticket valid 60 s)",
    tag: "optimizations",
    auth: "key",
    pathParams: id,
    responses: { "201": { description: "the URL", body: json(LiveTicket) } },
  },
  {
    method: "get",
    path: "/api/v1/optimizations/:id/live",
    summary: "The live stream (WebSocket upgrade; the ticket from POST .../live, no key)",
    tag: "optimizations",
    auth: "ticket",
    pathParams: id,
    query: z.object({ ticket: z.string() }),
    responses: { "101": { description: "switching to the WebSocket: JSON messages (LiveServerMessage)" } },
  },
  { method: "get", path: "/api/v1/strategies", summary: "The strategies, their params and metrics", tag: "catalog", auth: "key", responses: { "200": { description: "the list", body: json(StrategyList) } } },
  {
    method: "get",
    path: "/api/v1/results/:id",
    summary: "A succeeded task's result: metrics, equity curve, trades",
    tag: "catalog",
    auth: "key",
    pathParams: { id: ResultSummaryId },
    responses: { "200": { description: "the result", body: json(ResultSummary) } },
  },
  {
    method: "post",
    path: "/api/v1/datasets",
    summary: "Upload an OHLCV CSV (up to 50 MiB) as a new version of a dataset",
    tag: "datasets",
    auth: "key",
    query: UploadDatasetQuery,
    body: { contentType: "text/csv", schema: z.string() },
    responses: { "201": { description: "the new version", body: json(Dataset) } },
  },
  { method: "get", path: "/api/v1/datasets", summary: "Built-in and uploaded datasets", tag: "datasets", auth: "key", responses: { "200": { description: "the list", body: json(DatasetList) } } },
  { method: "get", path: "/api/v1/datasets/:id", summary: "A dataset", tag: "datasets", auth: "key", pathParams: { id: DatasetId }, responses: { "200": { description: "the dataset", body: json(Dataset) } } },
  {
    method: "get",
    path: "/metrics",
    summary: "Prometheus metrics (queue_wait_seconds, job_exec_seconds, job_retry_total)",
    tag: "service",
    auth: "metrics",
    responses: { "200": { description: "text exposition format", body: { contentType: "text/plain", schema: z.string() } } },
  },
  { method: "get", path: "/health", summary: "Liveness", tag: "service", auth: "none", responses: { "200": { description: "up", body: json(z.object({ ok: z.literal(true) })) } } },
  {
    method: "get",
    path: "/api/v1/openapi.json",
    summary: "This document",
    tag: "service",
    auth: "none",
    responses: { "200": { description: "OpenAPI 3.1", body: json(z.record(z.string(), z.unknown())) } },
  },
  { method: "get", path: "/api/v1/docs", summary: "This document as a page", tag: "service", auth: "none", responses: { "200": { description: "HTML", body: { contentType: "text/html", schema: z.string() } } } },
];

/** A JSON Schema (2020-12, the dialect of OpenAPI 3.1) of what a schema takes in or gives out. */
function jsonSchema(schema: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Record<string, unknown>;
  return rest;
}

const SECURITY: Record<Auth, Record<string, string[]>[]> = {
  key: [{ apiKey: [] }],
  metrics: [{ metricsToken: [] }],
  ticket: [],
  none: [],
};

const openApiPath = (path: string) => path.replace(/:([A-Za-z]+)/g, "{$1}");

function operation(route: RouteDoc): Record<string, unknown> {
  const parameters: Record<string, unknown>[] = [];
  for (const [name, schema] of Object.entries(route.pathParams ?? {})) parameters.push({ name, in: "path", required: true, schema: jsonSchema(schema, "input") });
  for (const [name, schema] of Object.entries(route.query?.shape ?? {})) {
    const field = schema as z.ZodType;
    parameters.push({ name, in: "query", required: !field.safeParse(undefined).success, schema: jsonSchema(field, "input") });
  }
  for (const [name, schema] of Object.entries(route.headers ?? {})) parameters.push({ name, in: "header", required: false, schema: jsonSchema(schema, "input") });
  const responses: Record<string, unknown> = {};
  for (const [status, r] of Object.entries(route.responses)) {
    const bodies = r.body === undefined ? [] : [r.body].flat();
    responses[status] = { description: r.description, ...(bodies.length > 0 ? { content: Object.fromEntries(bodies.map((b) => [b.contentType, { schema: jsonSchema(b.schema, "output") }])) } : {}) };
  }
  // Every route answers its errors in one shape, with a code per kind of failure.
  responses.default = { description: "an API error (400, 401, 404, 409, 413, 422, 429, 500, 503)", content: { "application/json": { schema: { $ref: "#/components/schemas/ApiError" } } } };
  return {
    operationId: `${route.method}${route.path.replace(/\/api\/v1/, "").replace(/[/:.]+([a-z])/g, (_m, c: string) => c.toUpperCase()).replace(/[^A-Za-z]/g, "")}`,
    summary: route.summary,
    tags: [route.tag],
    security: SECURITY[route.auth],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(route.body ? { requestBody: { required: route.body.contentType !== "application/json" || route.path.endsWith("/optimizations"), content: { [route.body.contentType]: { schema: jsonSchema(route.body.schema, "input") } } } } : {}),
    responses,
  };
}

/** The OpenAPI 3.1 document of the REST API, built from the zod schemas the routes validate with. */
export function openApiDocument(serverUrl?: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of REST_ROUTES) (paths[openApiPath(route.path)] ??= {})[route.method] = operation(route);
  return {
    openapi: "3.1.0",
    info: {
      title: "Grid optimizer API",
      version: "1.0.0",
      description: "Grid searches of trading-strategy backtests on Cloudflare Workers. The same operations are served over tRPC at /trpc.",
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    tags: [{ name: "optimizations" }, { name: "datasets" }, { name: "catalog" }, { name: "service" }],
    paths,
    components: {
      securitySchemes: {
        apiKey: { type: "http", scheme: "bearer", description: "Authorization: Bearer <API key>" },
        metricsToken: { type: "http", scheme: "bearer", description: "Authorization: Bearer <METRICS_TOKEN>" },
      },
      schemas: { ApiError: jsonSchema(ApiErrorBody, "output") },
    },
  };
}
