import { TRPCClientError } from "@trpc/client";
import type { ApiErrorBody } from "../schema/errors";

/** The API answered with an error: its HTTP status, machine-readable code, message and field details. */
export class ApiRequestError extends Error {
  override readonly name = "ApiRequestError";
  constructor(
    readonly status: number,
    readonly error: ApiErrorBody["error"],
  ) {
    super(error.message);
  }
  get code(): ApiErrorBody["error"]["code"] {
    return this.error.code;
  }
  get details(): NonNullable<ApiErrorBody["error"]["details"]> {
    return this.error.details ?? [];
  }
}

/** No answer from the API at all: the server is down, the URL is wrong, or the network failed. */
export class ConnectionError extends Error {
  override readonly name = "ConnectionError";
  constructor(
    readonly url: string,
    override readonly cause: unknown,
  ) {
    super(`could not reach ${url}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/** The API's machine-readable error behind a failed tRPC call, when the server sent one. */
export function apiErrorOf(err: unknown): ApiErrorBody["error"] | null {
  if (err instanceof ApiRequestError) return err.error;
  if (!(err instanceof TRPCClientError)) return null;
  const data = err.data as { apiError?: ApiErrorBody["error"] } | undefined;
  return data?.apiError ?? null;
}

/** Any failure of a call as one of the client's typed errors (other errors pass through unchanged). */
export function toClientError(err: unknown, url: string): unknown {
  if (err instanceof ApiRequestError || err instanceof ConnectionError) return err;
  if (err instanceof TRPCClientError) {
    const data = err.data as { apiError?: ApiErrorBody["error"]; httpStatus?: number } | undefined;
    if (data?.apiError) return new ApiRequestError(data.httpStatus ?? 500, data.apiError);
    // No error body: the request never got an API answer (fetch failed, or a proxy's HTML page).
    return new ConnectionError(url, err.cause ?? err);
  }
  if (err instanceof TypeError) return new ConnectionError(url, err);
  return err;
}
