import { trpcServer } from "@hono/trpc-server";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { requestId } from "hono/request-id";
import { loadConfig } from "../lib/config";
import { ApiError, QuotaExceeded } from "../lib/errors";
import { catalogRoutes } from "./api/catalog";
import { optimizationRoutes } from "./api/optimizations";
import { DATASET_UPLOAD_BODY_BYTES, datasetRoutes, datasetUploadBodyLimit } from "./api/datasets";
import { jobContext, type AppEnv } from "./api/context";
import { createLogger } from "../lib/log";
import { metricsRoute } from "./metrics/route";
import { referenceRoutes } from "./api/reference";
import { appRouter } from "./trpc/router";
import type { TrpcContext } from "./trpc/init";

const MAX_BODY_BYTES = 1024 * 1024;
const MAX_TRPC_BATCH = 10;

/** The Worker's HTTP surface: REST at /api/v1, tRPC at /trpc, typed errors everywhere. */
export function createApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use(requestId());
  // 1 MiB for every request but dataset uploads, which take up to 50 MiB of CSV (datasetUploadBodyLimit).
  const limitOf = (maxSize: number) =>
    bodyLimit({
      maxSize,
      onError: () => {
        throw new ApiError("payload_too_large", `the request body is over ${maxSize} bytes`);
      },
    });
  app.use((c, next) => {
    const limit = datasetUploadBodyLimit(c.req.method, c.req.path);
    // An upload streamed without a length is counted as it is parsed (worker/datasets/csv.ts):
    // bodyLimit would buffer all of it first.
    if (limit === DATASET_UPLOAD_BODY_BYTES && c.req.header("content-length") === undefined) return next();
    return limitOf(limit ?? MAX_BODY_BYTES)(c, next);
  });
  app.get("/health", (c) => c.json({ ok: true }));
  app.route("/api/v1", optimizationRoutes);
  app.route("/api/v1", catalogRoutes);
  app.route("/api/v1", datasetRoutes);
  app.route("/api/v1", referenceRoutes);
  app.route("/metrics", metricsRoute);
  app.use(
    "/trpc/*",
    trpcServer({
      endpoint: "/trpc",
      router: appRouter,
      // Calls of a batch run side by side: bound them (the client batches at most as many).
      maxBatchSize: MAX_TRPC_BATCH,
      // The same Retry-After as REST when a call ran into a quota.
      responseMeta: ({ errors }) => {
        const quota = errors.map((e) => e.cause).find((cause) => cause instanceof QuotaExceeded);
        return quota ? { headers: { "retry-after": String(quota.retryAfterSeconds) } } : {};
      },
      createContext: (_opts, c): TrpcContext & Record<string, unknown> => ({
        jobContext: () => jobContext(c as Parameters<typeof jobContext>[0]),
        origin: new URL(c.req.url).origin,
      }),
    }),
  );
  app.notFound(() => new ApiError("not_found", "no such route").getResponse());
  app.onError((err, c) => {
    if (err instanceof ApiError) return err.getResponse();
    createLogger({ level: loadConfig(c.env).LOG_LEVEL }).error("api.unhandled", {
      requestId: c.get("requestId"),
      message: err instanceof Error ? err.message : String(err),
    });
    return new ApiError("internal", "internal error").getResponse();
  });
  return app;
}
