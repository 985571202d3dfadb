import { createTRPCClient, httpBatchLink, TRPCClientError } from "@trpc/client";
import type { ApiErrorBody, Dataset, ExportFormat, Job } from "../schema";
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

/** A REST call with the key, throwing ApiRequestError with the API's error when it is not 2xx. */
async function rest({ url, apiKey, fetch: customFetch }: OptimizerClientOptions, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${apiKey}`);
  const res = await (customFetch ?? fetch)(new URL(path, url), { ...init, headers });
  if (!res.ok) {
    const body = (await res.json().catch(() => null)) as ApiErrorBody | null;
    throw new ApiRequestError(res.status, body?.error ?? { code: "internal", message: `${path.split("?")[0]} answered ${res.status}` });
  }
  return res;
}

const jobPath = (jobId: string, suffix = "") => `/api/v1/optimizations/${encodeURIComponent(jobId)}${suffix}`;

/**
 * Every task of a job (params and metrics as columns in CSV, fields in JSON), as the server streams
 * it: read `body` as it comes (the CLI writes it to a file, the page builds a download).
 */
export const exportTasks = (options: OptimizerClientOptions, jobId: string, format: ExportFormat): Promise<Response> =>
  rest(options, `${jobPath(jobId, "/export")}?format=${format}`);

/** Cancels a job over REST: the HTTP status (202 when the cancel was taken) and the job as it ended. */
export async function cancelOptimization(options: OptimizerClientOptions, jobId: string, reason?: string): Promise<{ status: number; job: Job }> {
  const res = await rest(options, jobPath(jobId, "/cancel"), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(reason === undefined ? {} : { reason }),
  });
  return { status: res.status, job: (await res.json()) as Job };
}

/** Uploads an OHLCV CSV over REST (up to 50 MiB; tRPC's upload is held to 1 MiB): the new dataset version. */
export async function uploadDataset(options: OptimizerClientOptions, name: string, csv: Blob | string): Promise<Dataset> {
  const res = await rest(options, `/api/v1/datasets?name=${encodeURIComponent(name)}`, {
    method: "POST",
    headers: { "content-type": "text/csv" },
    body: csv,
  });
  return (await res.json()) as Dataset;
}

export type { AppRouter };
export { TERMINAL_JOB_STATUSES, isTerminalStatus } from "../schema/status";
export type * from "../schema/job";
export type * from "../schema/live";
export type { StrategyInfo, StrategyList } from "../schema/catalog";
export type { Dataset, DatasetList } from "../schema/dataset";
export type { ResultSummary, EquityPoint } from "../schema/result";
export type { ApiErrorBody, ApiErrorIssue, ApiErrorCode } from "../schema/errors";
