import { createTRPCClient, httpBatchLink, TRPCClientError } from "@trpc/client";
import type { ApiErrorBody } from "../schema";
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

export type { AppRouter };
export type * from "../schema/job";
