import { TRPCClientError } from "@trpc/client";
import {
  ApiRequestError,
  apiErrorOf,
  cancelOptimization,
  createOptimizerClient,
  exportTasks,
  uploadDataset,
  type ApiErrorIssue,
  type ExportFormat,
  type HeatmapQuery,
  type JobSpecInput,
  type OptimizerClientOptions,
} from "grid-optimizer/client";

/** Jobs a page of the list holds. */
export const JOBS_PAGE_SIZE = 20;

/** What any call of the page can fail with: the API's code and message, and the fields at fault. */
export class ServiceError extends Error {
  override readonly name = "ServiceError";
  constructor(
    /** The API's error code, or "network" when the server could not be reached. */
    readonly code: string,
    message: string,
    readonly details: readonly ApiErrorIssue[] = [],
  ) {
    super(message);
  }
}

export function toServiceError(err: unknown): ServiceError {
  if (err instanceof ServiceError) return err;
  if (err instanceof ApiRequestError) return new ServiceError(err.error.code, err.error.message, err.error.details ?? []);
  const api = apiErrorOf(err);
  if (api) return new ServiceError(api.code, api.message, api.details ?? []);
  if (err instanceof TRPCClientError || err instanceof TypeError) return new ServiceError("network", `the server could not be reached (${err.message})`);
  return new ServiceError("internal", err instanceof Error ? err.message : String(err));
}

/**
 * Everything the page asks of the API, through the typed client: results as the schema types them,
 * failures as ServiceError.
 */
export function createService(options: OptimizerClientOptions) {
  const client = createOptimizerClient(options);
  const call = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      throw toServiceError(err);
    }
  };
  return {
    strategies: () => call(() => client.strategies.list.query()),
    datasets: () => call(() => client.datasets.list.query()),
    uploadDataset: (name: string, csv: Blob | string) => call(() => uploadDataset(options, name, csv)),
    /** A fresh idempotency key per submit: a retried request cannot start the job twice. */
    submit: (spec: JobSpecInput, idempotencyKey: string) => call(() => client.optimizations.submit.mutate({ ...spec, idempotencyKey })),
    status: (id: string) => call(() => client.optimizations.status.query({ id })),
    list: (cursor?: string) => call(() => client.optimizations.list.query({ limit: JOBS_PAGE_SIZE, ...(cursor ? { cursor } : {}) })),
    cancel: (id: string) => call(() => cancelOptimization(options, id, "canceled from the web page")),
    heatmap: (id: string, query: HeatmapQuery) => call(() => client.optimizations.heatmap.query({ id, ...query })),
    result: (id: string) => call(() => client.results.get.query({ id })),
    /** A single-use WebSocket URL for the job's live stream (the key never goes into it). */
    liveUrl: (id: string) => call(async () => (await client.optimizations.live.mutate({ id })).url),
    exportBlob: (id: string, format: ExportFormat) => call(async () => (await exportTasks(options, id, format)).blob()),
  };
}

export type Service = ReturnType<typeof createService>;
