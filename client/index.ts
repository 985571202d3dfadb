import { createTRPCClient, httpBatchLink, TRPCClientError } from "@trpc/client";
import type { ApiErrorBody, ExportFormat } from "../schema";
import type { AppRouter } from "../worker/trpc/router";

export interface OptimizerClientOptions {
  /** Base URL of the Worker, e.g. http://127.0.0.1:8787 */
  url: string;
  apiKey: string;
  /** A fetch to use instead of the global one (tests, proxies, Workers service bindings). */
  fetch?: typeof fetch;
}

/** Typed tRPC client for the optimizer; works in browsers, Node and Workers. */
export function createOptimizerClient({ url, apiKey, fetch: customFetch }: OptimizerClientOptions) {
  return createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: new URL("/trpc", url).toString(),
        // The server refuses batches of more than 10 calls (worker/app.ts).
        maxItems: 10,
        headers: () => ({ authorization: `Bearer ${apiKey}` }),
        ...(customFetch ? { fetch: customFetch } : {}),
      }),
    ],
  });
}

export type OptimizerClient = ReturnType<typeof createOptimizerClient>;

/** The API's machine-readable error behind a failed call, when the server sent one. */
export function apiErrorOf(err: unknown): ApiErrorBody["error"] | null {
  if (!(err instanceof TRPCClientError)) return null;
  const data = err.data as { apiError?: ApiErrorBody["error"] } | undefined;
  return data?.apiError ?? null;
}

/** A REST call that answered with an error: the API's code, message and field details. */
export class ApiRequestError extends Error {
  override readonly name = "ApiRequestError";
  constructor(
    readonly status: number,
    readonly error: ApiErrorBody["error"],
  ) {
    super(error.message);
  }
}

/**
 * Every task of a job (params and metrics as columns in CSV, fields in JSON), as the server streams
 * it: read `body` as it comes (the CLI writes it to a file, the page builds a download).
 */
export async function exportTasks({ url, apiKey, fetch: customFetch }: OptimizerClientOptions, jobId: string, format: ExportFormat): Promise<Response> {
  const target = new URL(`/api/v1/optimizations/${encodeURIComponent(jobId)}/export`, url);
  target.searchParams.set("format", format);
  const res = await (customFetch ?? fetch)(target, { headers: { authorization: `Bearer ${apiKey}` } });
  if (!res.ok) {
    const body = (await res.json().catch(() => null)) as ApiErrorBody | null;
    throw new ApiRequestError(res.status, body?.error ?? { code: "internal", message: `export answered ${res.status}` });
  }
  return res;
}

export type { AppRouter };
export type * from "../schema/job";
export type * from "../schema/live";
export type { StrategyInfo, StrategyList } from "../schema/catalog";
export type { ApiErrorBody, ApiErrorIssue, ApiErrorCode } from "../schema/errors";
