import type { ApiErrorBody, Dataset, ExportFormat, Job } from "../schema";
import { ApiRequestError, ConnectionError } from "./errors";
import { DEFAULT_TIMEOUT_MS, fetchWithTimeout } from "./timeout";

export interface OptimizerClientOptions {
  /** Base URL of the Worker, e.g. http://127.0.0.1:8787 */
  url: string;
  apiKey: string;
  /** A fetch to use instead of the global one (tests, proxies, Workers service bindings). */
  fetch?: typeof fetch;
  /** How long a call waits for the server to start answering (ms; default 30 s; null: no limit). Uploads wait as long as they take. */
  timeoutMs?: number | null;
}

/** A REST call with the key in the Authorization header: the response when 2xx, else ApiRequestError. */
export async function rest({ url, apiKey, fetch: customFetch, timeoutMs = DEFAULT_TIMEOUT_MS }: OptimizerClientOptions, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${apiKey}`);
  let res: Response;
  try {
    res = await fetchWithTimeout(customFetch, timeoutMs)(new URL(path, url), { ...init, headers });
  } catch (err) {
    throw new ConnectionError(url, err);
  }
  if (!res.ok) {
    const body = (await res.json().catch(() => null)) as ApiErrorBody | null;
    throw new ApiRequestError(res.status, body?.error ?? { code: "internal", message: `${path.split("?")[0]} answered ${res.status}` });
  }
  return res;
}

export const jobPath = (jobId: string, suffix = "") => `/api/v1/optimizations/${encodeURIComponent(jobId)}${suffix}`;

/**
 * Every task of a job (params and metrics as columns in CSV, fields in JSON), as the server streams
 * it: read `body` as it comes (the CLI writes it to a file, the page builds a download).
 */
export const exportTasks = (options: OptimizerClientOptions, jobId: string, format: ExportFormat): Promise<Response> =>
  rest(options, `${jobPath(jobId, "/export")}?format=${format}`);

/** What a cancel answered: the HTTP status (202 when the cancel was taken) and the job as it ended. */
export interface CancelOutcome {
  status: number;
  job: Job;
}

/** Cancels a job over REST. */
export async function cancelOptimization(options: OptimizerClientOptions, jobId: string, reason?: string): Promise<CancelOutcome> {
  const res = await rest(options, jobPath(jobId, "/cancel"), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(reason === undefined ? {} : { reason }),
  });
  return { status: res.status, job: (await res.json()) as Job };
}

/** Uploads an OHLCV CSV over REST (up to 50 MiB; tRPC's upload is held to 1 MiB): the new dataset version. */
export async function uploadDataset(options: OptimizerClientOptions, name: string, csv: Blob | string): Promise<Dataset> {
  // A 50 MiB upload over a slow link is sent before any answer can come: no time limit on it.
  const res = await rest({ ...options, timeoutMs: null }, `/api/v1/datasets?name=${encodeURIComponent(name)}`, {
    method: "POST",
    headers: { "content-type": "text/csv" },
    body: csv,
  });
  return (await res.json()) as Dataset;
}
