import { MAX_STORED_TRADES, type ChunkReport, type ReportAck, type ResultSummary, type TaskChunkMessage, type TaskOutcome, type TradeRecord } from "../../schema";
import { taskErrorOf, type TaskError } from "../../lib/errors";
import type { Lease } from "../datasets/byte-budget-cache";
import type { Bars, SeriesCache, Strategy } from "../engine/types";
import { runBacktest } from "../engine/run-backtest";
import { resultSummaryIdOf } from "../results/store";

export interface ChunkDeps {
  strategy: Strategy;
  /**
   * The chunk's bars (cached per isolate), held until runChunk releases them at its end so the
   * cache never evicts bars still in use; throws an UpstreamError when the source fails.
   */
  loadBars: () => Promise<Lease<Bars>>;
  cache: SeriesCache;
  report: (report: ChunkReport) => Promise<ReportAck>;
  saveSummary: (summary: ResultSummary) => Promise<void>;
  now?: () => number;
}


/** A fast-flipping strategy on a long series trades on most bars: keep the ends, count the rest. */
function storedTrades(trades: TradeRecord[]): Pick<ResultSummary, "trades" | "tradesOmitted"> {
  if (trades.length <= MAX_STORED_TRADES) return { trades, tradesOmitted: 0 };
  const half = MAX_STORED_TRADES / 2;
  return { trades: [...trades.slice(0, half), ...trades.slice(-half)], tradesOmitted: trades.length - MAX_STORED_TRADES };
}

/**
 * Runs one chunk's backtests one after another. Every `checkinMs` of work (the job's DO says how
 * long) it reports what finished and learns whether to go on, so a cancel or early stop halts it
 * within about that long.
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

  let pending: { outcome: TaskOutcome; save: Promise<void> | null }[] = [];
  const flush = async (done: boolean): Promise<ReportAck> => {
    const settled = await Promise.allSettled(pending.map((p) => p.save));
    const outcomes = pending.map(({ outcome }, i): TaskOutcome => {
      const saved = settled[i]!;
      if (saved.status === "fulfilled" || !outcome.ok) return outcome;
      return { ...outcome, ok: false, errorKind: "UpstreamError", errorMessage: `storing the result summary failed: ${String(saved.reason)}` };
    });
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
      const result = await runBacktest(deps.strategy, { bars: bars!, params: task.params, attempt: task.attempt, cache: deps.cache, options: chunk.options });
      const execMs = now() - started;
      const id = resultSummaryIdOf(chunk.jobId, task.index, task.attempt);
      const save = deps.saveSummary({
        id,
        jobId: chunk.jobId,
        tenant: chunk.tenant,
        index: task.index,
        attempt: task.attempt,
        strategy: chunk.strategy,
        dataset: chunk.dataset,
        params: task.params,
        metrics: result.metrics,
        annualisation: bars?.annualisation ?? null,
        equity: result.equity ?? [],
        ...storedTrades(result.trades ?? []),
        execMs,
        createdAt: new Date().toISOString(),
      });
      pending.push({ outcome: { ok: true, index: task.index, attempt: task.attempt, metrics: result.metrics, resultSummaryId: id, queueWaitMs, execMs }, save });
    } catch (err) {
      const error = taskErrorOf(err);
      const execMs = now() - started;
      pending.push({
        outcome: { ok: false, index: task.index, attempt: task.attempt, errorKind: error.kind, errorMessage: error.message, queueWaitMs, execMs },
        save: null,
      });
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
