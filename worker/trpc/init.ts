import { initTRPC, TRPCError } from "@trpc/server";
import { ZodError } from "zod";
import type { ApiErrorBody } from "../../schema";
import { ApiError, zodIssues } from "../../lib/errors";
import type { JobContext } from "../jobs/service";

/** Resolved lazily so an unauthenticated call fails as UNAUTHORIZED inside the procedure, not in the adapter. */
export interface TrpcContext {
  jobContext: () => Promise<JobContext>;
  /** The request's origin, for URLs handed back (the live stream's). */
  origin: string;
}

const TRPC_CODE: Record<ApiErrorBody["error"]["code"], TRPCError["code"]> = {
  bad_request: "BAD_REQUEST",
  validation_failed: "BAD_REQUEST",
  unprocessable: "UNPROCESSABLE_CONTENT",
  unauthorized: "UNAUTHORIZED",
  not_found: "NOT_FOUND",
  conflict: "CONFLICT",
  idempotency_conflict: "UNPROCESSABLE_CONTENT",
  payload_too_large: "PAYLOAD_TOO_LARGE",
  quota_exceeded: "TOO_MANY_REQUESTS",
  internal: "INTERNAL_SERVER_ERROR",
  unavailable: "SERVICE_UNAVAILABLE",
};

const asTrpcError = (err: ApiError) => new TRPCError({ code: TRPC_CODE[err.code], message: err.message, cause: err });

/** The same machine-readable error as REST, under `data.apiError`. */
function apiErrorOf(error: TRPCError): ApiErrorBody["error"] {
  if (error.cause instanceof ApiError) return error.cause.toBody().error;
  if (error.cause instanceof ZodError) return { code: "validation_failed", message: "invalid input", details: zodIssues(error.cause) };
  return { code: error.code === "INTERNAL_SERVER_ERROR" ? "internal" : "bad_request", message: error.message };
}

const t = initTRPC.context<TrpcContext>().create({
  // No stack traces to clients: tRPC's own dev check reads process.env, which Workers lack.
  errorFormatter: ({ shape, error }) => {
    const { stack: _stack, ...data } = shape.data;
    return { ...shape, data: { ...data, apiError: apiErrorOf(error) } };
  },
});

/** Every procedure runs tenant-scoped; service ApiErrors become TRPCErrors with the matching code. */
export const tenantProcedure = t.procedure.use(async ({ ctx, next }) => {
  let job: JobContext;
  try {
    job = await ctx.jobContext();
  } catch (err) {
    throw err instanceof ApiError ? asTrpcError(err) : err;
  }
  const result = await next({ ctx: { job } });
  if (!result.ok && result.error.cause instanceof ApiError) throw asTrpcError(result.error.cause);
  return result;
});

export const router = t.router;
