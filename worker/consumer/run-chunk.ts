import { taskIdOf, type ChunkReport, type ReportAck, type TaskChunkMessage, type TaskOutcome } from "../../schema";
import { taskErrorOf, type TaskError } from "../../lib/errors";
import type { Lease } from "../datasets/byte-budget-cache";
import type { Bars, SeriesCache, Strategy } from "../engine/types";
import { runBacktest } from "../engine/run-backtest";

export interface ChunkDeps {
  strategy: Strategy;
  /**
   * The chunk's bars (cached per isolate), held until runChunk releases them at its end so the
   * cache never evicts bars still in use; throws an UpstreamError when the source fails.
   */
  loadBars: () => Promise<Lease<Bars>>;
  cache: SeriesCache;
  report: (report: ChunkReport) => Promise<ReportAck>;
  now?: () => number;
}

/**
 * Runs one chunk's backtests one after another, metrics only: a result's details (equity curve,
 * trades) are computed when someone asks for them (worker/results/details.ts), so the hot path
 * writes nothing per task, and each success names its task id as its result summary id. Every
 * `checkinMs` of work (the job's DO says how long) it reports what finished and learns whether to
 * go on, so a cancel or early stop halts it within about that long.
 */
export async function runChunk(chunk: TaskChunkMessage, deps: ChunkDeps): Promise<{ ran: number; stopped: boolean }> {
  const now = deps.now ?? (() => performance.now() + performance.timeOrigin);
  const first = await deps.report({ chunkId: chunk.chunkId, outcomes: [], done: false });
  if (!first.continue) return { ran: 0, stopped: true };
  const checkinMs = first.checkinMs;

  let lease: Lease<Bars> | null = null;
  let loadError: TaskError | null = null;
  if (deps.strategy.needsBars) {
    try {
      lease = await deps.loadBars();
    } catch (err) {
      loadError = taskErrorOf(err);
    }
  }
  try {
    return await runTasks(chunk, deps, now, checkinMs, lease?.value ?? null, loadError);
  } finally {
    lease?.release();
  }
}

async function runTasks(
  chunk: TaskChunkMessage,
  deps: ChunkDeps,
  now: () => number,
  checkinMs: number,
  bars: Bars | null,
  loadError: TaskError | null,
): Promise<{ ran: number; stopped: boolean }> {
  let pending: TaskOutcome[] = [];
  const flush = (done: boolean): Promise<ReportAck> => {
    const outcomes = pending;
    pending = [];
    return deps.report({ chunkId: chunk.chunkId, outcomes, done });
  };

  let ran = 0;
  let lastCheckin = now();
  for (const task of chunk.tasks) {
    const started = now();
    const queueWaitMs = Math.max(0, Date.now() - chunk.enqueuedAt);
    try {
      if (loadError) throw loadError;
      const result = await runBacktest(deps.strategy, { bars: bars!, params: task.params, attempt: task.attempt, cache: deps.cache, options: chunk.options, detail: false });
      const execMs = now() - started;
      pending.push({ ok: true, index: task.index, attempt: task.attempt, metrics: result.metrics, resultSummaryId: taskIdOf(chunk.jobId, task.index), queueWaitMs, execMs });
    } catch (err) {
      const error = taskErrorOf(err);
      const execMs = now() - started;
      pending.push({ ok: false, index: task.index, attempt: task.attempt, errorKind: error.kind, errorMessage: error.message, queueWaitMs, execMs });
    }
    ran++;
    if (now() - lastCheckin >= checkinMs && ran < chunk.tasks.length) {
      const ack = await flush(false);
      checkinMs = ack.checkinMs;
      lastCheckin = now();
      if (!ack.continue) return { ran, stopped: true };
    }
  }
  await flush(true);
  return { ran, stopped: false };
}
