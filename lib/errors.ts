import type { z } from "zod";
import { API_ERROR_STATUS, type ApiErrorBody, type ApiErrorCode, type ApiErrorIssue, type ErrorKind } from "../schema";

/** An error the API answers with: a status, a machine-readable code and, for validation, the fields at fault. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly status: number;

  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly details?: ApiErrorIssue[],
  ) {
    super(message);
    this.status = API_ERROR_STATUS[code];
  }

  toBody(): ApiErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }

  getResponse(): Response {
    return Response.json(this.toBody(), { status: this.status });
  }
}

/** A tenant's quota is used up: 429 with `Retry-After` (seconds) for when trying again can help. */
export class QuotaExceeded extends ApiError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super("quota_exceeded", message);
  }

  override getResponse(): Response {
    const res = super.getResponse();
    res.headers.set("retry-after", String(this.retryAfterSeconds));
    return res;
  }
}

const pathOf = (path: readonly PropertyKey[]) => path.map(String).join(".") || "(root)";

/** An ApiError's details from a zod failure: one per field at fault; an unknown key is named itself. */
export const zodIssues = (error: z.ZodError): ApiErrorIssue[] =>
  error.issues.flatMap((i) =>
    i.code === "unrecognized_keys"
      ? i.keys.map((key) => ({ path: pathOf([...i.path, key]), message: "unknown field" }))
      : [{ path: pathOf(i.path), message: i.message }],
  );

/** A failed backtest; the kind decides whether the orchestrator retries it. */
export abstract class TaskError extends Error {
  abstract readonly kind: ErrorKind;
}

/** The parameters cannot be backtested: never retried. */
export class ParamInvalid extends TaskError {
  override readonly name = "ParamInvalid";
  readonly kind = "ParamInvalid" as const;
}

/** A data source or a binding failed: retried with backoff. */
export class UpstreamError extends TaskError {
  override readonly name = "UpstreamError";
  readonly kind = "UpstreamError" as const;
}

/** A bug or an unexpected throw: retried with backoff. */
export class InternalError extends TaskError {
  override readonly name = "InternalError";
  readonly kind = "InternalError" as const;
}

export const taskErrorOf = (err: unknown): TaskError =>
  err instanceof TaskError ? err : new InternalError(err instanceof Error ? err.message : String(err));

export const taskErrorFor = (kind: ErrorKind, message: string): TaskError =>
  kind === "ParamInvalid" ? new ParamInvalid(message) : kind === "UpstreamError" ? new UpstreamError(message) : new InternalError(message);
