import { createTRPCClient, httpBatchLink } from "@trpc/client";
import type { AppRouter } from "../worker/trpc/router";
import type { OptimizerClientOptions } from "./rest";
import { DEFAULT_TIMEOUT_MS, fetchWithTimeout } from "./timeout";

/** The raw typed tRPC client: every procedure of worker/trpc/router.ts, errors as TRPCClientError. */
export function createTrpcClient({ url, apiKey, fetch: customFetch, timeoutMs = DEFAULT_TIMEOUT_MS }: OptimizerClientOptions) {
  return createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: new URL("/trpc", url).toString(),
        // The server refuses batches of more than 10 calls (worker/app.ts).
        maxItems: 10,
        headers: () => ({ authorization: `Bearer ${apiKey}` }),
        fetch: fetchWithTimeout(customFetch, timeoutMs),
      }),
    ],
  });
}

export type TrpcClient = ReturnType<typeof createTrpcClient>;
export type { AppRouter };
