import type { Dataset, ExportFormat, HeatmapQuery, Job, JobListItem, JobSpecInput, Page, ResultSummary, StrategyInfo, Task, TaskStatus } from "../schema";
import type { Heatmap, LiveTicket } from "../schema/live";
import { ApiRequestError, ConnectionError, toClientError } from "./errors";
import { DEFAULT_LIVE_OPTIONS, defaultLiveDeps, watchJob, type LiveDeps, type LiveJob, type LiveOptions, type LiveState } from "./live";
import { cancelOptimization, exportTasks, uploadDataset, type CancelOutcome, type OptimizerClientOptions } from "./rest";
import { createTrpcClient, type TrpcClient } from "./trpc";

/** One step of `watch`: the job as last seen, where it came from, and how the stream stands. */
export interface WatchUpdate {
  job: LiveJob;
  source: "snapshot" | "update" | "poll";
  state: LiveState;
}

export interface WatchOptions {
  /** Timers and the WebSocket to use (tests); the runtime's own by default. */
  deps?: LiveDeps;
  /** Over WATCH_LIVE_OPTIONS. */
  live?: Partial<LiveOptions>;
}

/** A script's watch gives up on a server that stays away: ~8 s of reconnects, then 10 polls 2 s apart. */
export const WATCH_LIVE_OPTIONS: LiveOptions = { ...DEFAULT_LIVE_OPTIONS, maxFailedPolls: 10 };

/**
 * The optimizer's client: every operation of the API, each answering the schema's types and failing
 * with ApiRequestError (the API's code, status, field details) or ConnectionError (no answer).
 * Works in browsers, Node and Bun; `trpc` is the raw tRPC client underneath.
 */
export function createOptimizerClient(options: OptimizerClientOptions) {
  const trpc: TrpcClient = createTrpcClient(options);
  const call = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      throw toClientError(err, options.url);
    }
  };
  const client = {
    trpc,
    /** `idempotencyKey`: the same key again answers the job it started instead of a second one. */
    submit: (spec: JobSpecInput, idempotencyKey?: string): Promise<Job> =>
      call(() => trpc.optimizations.submit.mutate({ ...spec, ...(idempotencyKey ? { idempotencyKey } : {}) })),
    status: (id: string): Promise<Job> => call(() => trpc.optimizations.status.query({ id })),
    list: (query: { limit?: number; cursor?: string } = {}): Promise<Page<JobListItem>> => call(() => trpc.optimizations.list.query({ limit: 50, ...query })),
    tasks: (id: string, query: { status?: TaskStatus; limit?: number; cursor?: string } = {}): Promise<Page<Task>> =>
      call(() => trpc.optimizations.tasks.query({ id, limit: 50, ...query })),
    /** Over REST, to report the HTTP status: 202 when the cancel was taken. */
    cancel: (id: string, reason?: string): Promise<CancelOutcome> => call(() => cancelOptimization(options, id, reason)),
    heatmap: (id: string, query: HeatmapQuery): Promise<Heatmap> => call(async () => (await trpc.optimizations.heatmap.query({ id, ...query })) as Heatmap),
    result: (id: string): Promise<ResultSummary> => call(() => trpc.results.get.query({ id })),
    strategies: async (): Promise<StrategyInfo[]> => (await call(() => trpc.strategies.list.query())).items,
    datasets: {
      list: async (): Promise<Dataset[]> => (await call(() => trpc.datasets.list.query())).items,
      get: (id: string): Promise<Dataset> => call(() => trpc.datasets.get.query({ id })),
      /** Over REST (up to 50 MiB). */
      upload: (name: string, csv: Blob | string): Promise<Dataset> => call(() => uploadDataset(options, name, csv)),
    },
    /** Every task as CSV or JSON, streamed: read the response's body as it comes. */
    export: (id: string, format: ExportFormat): Promise<Response> => call(() => exportTasks(options, id, format)),
    /** A single-use WebSocket URL for the job's live stream (valid 60 s; the key never goes into it). */
    liveTicket: (id: string): Promise<LiveTicket> => call(() => trpc.optimizations.live.mutate({ id })),
    /**
     * The job's status as it changes, until it ends: the live WebSocket (reconnecting after a drop),
     * polling once the socket keeps failing or where there is no WebSocket. Breaking out of the loop
     * closes the stream; a job this key cannot see throws ApiRequestError (not_found), a server that
     * stays away its last error once `maxFailedPolls` polls in a row have failed.
     */
    watch: (id: string, watchOptions: WatchOptions = {}): AsyncIterableIterator<WatchUpdate> => {
      const queue: WatchUpdate[] = [];
      let failure: ApiRequestError | ConnectionError | null = null;
      let done = false;
      let wake: (() => void) | null = null;
      let state: LiveState = "connecting";
      let lastError: ApiRequestError | ConnectionError | null = null;
      let returned = false;
      const notify = () => {
        wake?.();
        wake = null;
      };
      const stream = watchJob(
        client,
        id,
        {
          job: (job, source) => {
            queue.push({ job, source, state });
            notify();
          },
          heatmap: () => undefined,
          refused: () => undefined,
          state: (next) => {
            state = next;
            if (next === "ended" || next === "closed") done = true;
            // Closed by the stream itself (a job this key cannot see, a server that stayed away): its last error is the watch's.
            if (next === "closed" && !returned) failure = lastError;
            notify();
          },
          error: (error) => {
            lastError = error;
          },
        },
        watchOptions.deps ?? defaultLiveDeps(),
        { ...WATCH_LIVE_OPTIONS, ...watchOptions.live },
      );
      const iterator: AsyncIterableIterator<WatchUpdate> = {
        async next() {
          for (;;) {
            const update = queue.shift();
            if (update) return { value: update, done: false };
            if (failure) throw failure;
            if (done) return { value: undefined, done: true };
            await new Promise<void>((resolve) => (wake = resolve));
          }
        },
        async return() {
          returned = true;
          stream.close();
          done = true;
          return { value: undefined, done: true };
        },
        [Symbol.asyncIterator]() {
          return iterator;
        },
      };
      return iterator;
    },
  };
  return client;
}

export type OptimizerClient = ReturnType<typeof createOptimizerClient>;
