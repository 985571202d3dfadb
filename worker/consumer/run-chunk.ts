import { taskIdOf, type ChunkReport, type ReportAck, type TaskChunkMessage, type TaskOutcome } from "../../schema";
import { InternalError, taskErrorOf, type TaskError } from "../../lib/errors";
import type { Grid } from "../../lib/grid";
import type { Lease } from "../datasets/byte-budget-cache";
import type { Bars, SeriesCache, Strategy } from "../engine/types";
import { runBacktest } from "../engine/run-backtest";
import { chunkTasks, type GridCache } from "./chunk-tasks";
import { firstPace, nextPace } from "./pacing";

export interface ChunkDeps {
  strategy: Strategy;
  /**
   * The chunk's bars (cached per isolate), held until runChunk releases them at its end so the
   * cache never evicts bars still in use; throws an UpstreamError when the source fails.
   */
  loadBars: () => Promise<Lease<Bars>>;
  cache: SeriesCache;
  /** Grids of jobs this isolate ran chunks of; a miss asks the DO for the grid at the first check-in. */
  grids: GridCache;
  report: (report: ChunkReport) => Promise<ReportAck>;
  now?: () => number;
}

/**
 * Runs one chunk's backtests one after another, metrics only: a result's details (equity curve,
 * trades) are computed when someone asks for them (worker/results/details.ts), so the hot path
 * writes nothing per task, and each success names its task id as its result summary id. It checks
 * in with the job's DO every K tasks, K learned from the wall time between reports so that a
 * check-in comes about every `checkinMs` (the DO says how long) even where the clock stands still
 * during CPU work; the DO's answer says whether to go on, so a cancel or early stop halts the chunk
 * within about one interval. Outcomes carry the measured time per task as their `execMs`. The
 * message names tasks by grid index; their params come from the job's grid, which the first check-in
 * fetches unless this isolate has it.
 */
export async function runChunk(chunk: TaskChunkMessage, deps: ChunkDeps): Promise<{ ran: number; stopped: boolean }> {
  const now = deps.now ?? (() => Date.now());
  const cached = deps.grids.get(chunk.tenant, chunk.jobId);
  const first = await deps.report({ chunkId: chunk.chunkId, outcomes: [], done: false, ...(cached ? {} : { wantGrid: true }) });
  if (!first.continue) return { ran: 0, stopped: true };
  if (!cached && !first.grid) throw new InternalError("the job's DO answered the first check-in without the job's grid");
  const grid = cached ?? deps.grids.put(chunk.tenant, chunk.jobId, first.grid!);

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
    return await runTasks(chunk, grid, deps, now, lease?.value ?? null, loadError);
  } finally {
    lease?.release();
  }
}

/** An outcome before its report: its time is known only once the report's round trip is measured. */
type WithoutExec<T> = T extends unknown ? Omit<T, "execMs"> : never;
type Unpaced = WithoutExec<TaskOutcome>;

async function runTasks(
  chunk: TaskChunkMessage,
  grid: Grid,
  deps: ChunkDeps,
  now: () => number,
  bars: Bars | null,
  loadError: TaskError | null,
): Promise<{ ran: number; stopped: boolean }> {
  let pace = firstPace();
  let pending: Unpaced[] = [];
  let intervalTasks = 0;
  // Read after the last I/O (the first check-in, the data load): where the first interval starts.
  let intervalStart = now();
  /** One report, and the pace learned from the wall time it closes. */
  const roundTrip = async (outcomes: TaskOutcome[], done: boolean): Promise<ReportAck> => {
    const ack = await deps.report({ chunkId: chunk.chunkId, outcomes, done });
    const end = now();
    pace = nextPace(pace, end - intervalStart, intervalTasks, ack.checkinMs);
    intervalStart = end;
    intervalTasks = 0;
    return ack;
  };
  /**
   * Reports what finished. While the chunk's pace is unknown the report is a probe that carries no
   * outcome (their time is what it measures); at the chunk's end the outcomes follow at once.
   */
  const report = async (done: boolean): Promise<ReportAck> => {
    if (pace.msPerTask === null && pending.length > 0) {
      const probe = await roundTrip([], false);
      if (!done || !probe.continue) return probe;
    }
    const execMs = pace.msPerTask ?? 0;
    const outcomes = pending.map((o): TaskOutcome => ({ ...o, execMs }));
    pending = [];
    return roundTrip(outcomes, done);
  };

  let ran = 0;
  const tasks = chunkTasks(chunk, grid);
  for (let next = tasks.next(); !next.done; ) {
    const task = next.value;
    const queueWaitMs = Math.max(0, Date.now() - chunk.enqueuedAt);
    try {
      if (loadError) throw loadError;
      const result = await runBacktest(deps.strategy, { bars: bars!, params: task.params, attempt: task.attempt, cache: deps.cache, options: chunk.options, detail: false });
      pending.push({ ok: true, index: task.index, attempt: task.attempt, metrics: result.metrics, resultSummaryId: taskIdOf(chunk.jobId, task.index), queueWaitMs });
    } catch (err) {
      const error = taskErrorOf(err);
      pending.push({ ok: false, index: task.index, attempt: task.attempt, errorKind: error.kind, errorMessage: error.message, queueWaitMs });
    }
    ran++;
    intervalTasks++;
    next = tasks.next();
    if (intervalTasks >= pace.tasksPerCheckin && !next.done) {
      if (!(await report(false)).continue) return { ran, stopped: true };
    }
  }
  await report(true);
  return { ran, stopped: false };
}
