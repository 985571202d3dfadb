import { z } from "zod";

export const ApiErrorCode = z.enum([
  "bad_request",
  "validation_failed",
  "unprocessable",
  "unauthorized",
  "not_found",
  "conflict",
  "idempotency_conflict",
  "payload_too_large",
  "quota_exceeded",
  "internal",
  "unavailable",
]);
export type ApiErrorCode = z.infer<typeof ApiErrorCode>;

export const API_ERROR_STATUS: Record<ApiErrorCode, 400 | 401 | 404 | 409 | 413 | 422 | 429 | 500 | 503> = {
  bad_request: 400,
  validation_failed: 400,
  unprocessable: 422,
  unauthorized: 401,
  not_found: 404,
  conflict: 409,
  idempotency_conflict: 422,
  payload_too_large: 413,
  quota_exceeded: 429,
  internal: 500,
  unavailable: 503,
};

export const ApiErrorIssue = z.object({ path: z.string(), message: z.string() });
export type ApiErrorIssue = z.infer<typeof ApiErrorIssue>;

export const ApiErrorBody = z.object({
  error: z.object({
    code: ApiErrorCode,
    message: z.string(),
    details: z.array(ApiErrorIssue).optional(),
  }),
});
export type ApiErrorBody = z.infer<typeof ApiErrorBody>;
