import { describe, expect, it } from "vitest";
import { TaskChunkMessage, type ChunkReport, type GridSpec, type ReportAck } from "../../schema";
import { createAdmittedGrid } from "../../lib/grid";
import { chunkTasks, createGridCache } from "../../worker/consumer/chunk-tasks";
import { runChunk, type ChunkDeps } from "../../worker/consumer/run-chunk";
import { createSeriesCache } from "../../worker/engine/series-cache";
import { synthetic } from "../../worker/engine/strategies/synthetic";
import { UpstreamError } from "../../lib/errors";
import { sp500Bars } from "../fixtures";

/** Each test chunk's job grid, which the fake DO answers the first check-in with. */
const grids = new Map<string, GridSpec>();
let chunkSeq = 0;

/** A chunk of a job whose grid is `a` = 0..n-1 (the synthetic score is the sum of the numeric params) times `params`. */
const chunk = (n: number, params: Record<string, number | string> = {}): TaskChunkMessage => {
  const chunkId = `c${++chunkSeq}`;
  const fixed = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, { values: [v] }]));
  grids.set(chunkId, { params: { a: { min: 0, max: n - 1, step: 1 }, ...fixed }, constraints: [] });
  return {
    v: 1,
    jobId: `j${chunkSeq}`,
    tenant: "t1",
    chunkId,
    strategy: "synthetic",
    dataset: "sp500",
    options: { feeBps: 0, slippageBps: 0, execution: "close" },
    enqueuedAt: Date.now(),
    range: { from: 0, to: n },
    tasks: [],
  };
};

const gridAnswer = (r: ChunkReport): Pick<ReportAck, "grid"> => (r.wantGrid ? { grid: grids.get(r.chunkId)! } : {});

/** A fake clock that advances 10 ms per backtest, and a DO that records reports. */
function deps(overrides: Partial<ChunkDeps> & { stopAfterReports?: number } = {}) {
  const reports: ChunkReport[] = [];
  let t = 0;
  const d: ChunkDeps = {
    strategy: synthetic,
    loadBars: () => {
      throw new Error("synthetic needs no bars");
    },
    cache: createSeriesCache(),
    report: async (r): Promise<ReportAck> => {
      reports.push(r);
      return { continue: overrides.stopAfterReports === undefined || reports.length < overrides.stopAfterReports, accepted: r.outcomes.length, checkinMs: 25, ...gridAnswer(r) };
    },
    grids: createGridCache(),
    now: () => (t += 5),
    ...overrides,
  };
  return { d, reports };
}

describe("running a chunk", () => {
  it("checks in first, reports progress every checkinMs of work, and ends with done", async () => {
    const { d, reports } = deps();
    const message = chunk(10);
    const result = await runChunk(message, d);
    expect(result).toEqual({ ran: 10, stopped: false });
    expect(reports[0]).toEqual({ chunkId: message.chunkId, outcomes: [], done: false, wantGrid: true });
    expect(reports.at(-1)!.done).toBe(true);
    expect(reports.length).toBeGreaterThan(3);
    const outcomes = reports.flatMap((r) => r.outcomes);
    expect(outcomes.map((o) => o.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // A success names its task: its details are computed when someone opens it.
    expect(outcomes.every((o) => o.ok && o.metrics.score === o.index && o.resultSummaryId === `${message.jobId}.${o.index}`)).toBe(true);
  });

  it("runs the range's accepted indexes, then the listed tasks at their attempts, with params from the job's grid", async () => {
    const { d, reports } = deps();
    const message = { ...chunk(1), range: { from: 2, to: 9 }, tasks: [{ index: 0, attempt: 3 }] };
    // a in 1..4 x b in 1..4 with b <= a: index = (a - 1) * 4 + (b - 1).
    grids.set(message.chunkId, { params: { a: { min: 1, max: 4, step: 1 }, b: { min: 1, max: 4, step: 1 } }, constraints: [{ left: "b", op: "<=", right: "a" }] });
    await runChunk(message, d);
    const outcomes = reports.flatMap((r) => r.outcomes);
    expect(outcomes.map((o) => [o.index, o.attempt])).toEqual([[4, 1], [5, 1], [8, 1], [0, 3]]);
    expect(outcomes.map((o) => (o.ok ? o.metrics.score : null))).toEqual([3, 4, 4, 2]);
  });

  it("reads a range spanning far more grid indexes than it holds tasks (a sparse constrained grid)", () => {
    const grid = createAdmittedGrid({ a: { min: 1, max: 3000, step: 1 }, b: { min: 1, max: 3000, step: 1 } }, [{ left: "b", op: "==", right: "a" }]);
    const message = TaskChunkMessage.parse({ ...chunk(1), range: { from: 0, to: grid.size } });
    const tasks = [...chunkTasks(message, grid)];
    expect(grid.size).toBe(9_000_000);
    expect(tasks).toHaveLength(3000);
    expect(tasks.at(-1)).toEqual({ index: grid.size - 1, attempt: 1, params: { a: 3000, b: 3000 } });
  });

  it("runs no listed index past the job's grid (left unreported, the DO fails it at the chunk's end)", () => {
    const grid = createAdmittedGrid({ a: { min: 1, max: 3, step: 1 } }, []);
    const message = { ...chunk(1), range: undefined, tasks: [{ index: 2, attempt: 2 }, { index: 3, attempt: 2 }, { index: 2 ** 40, attempt: 1 }] };
    expect([...chunkTasks(message, grid)]).toEqual([{ index: 2, attempt: 2, params: { a: 3 } }]);
  });

  it("asks the DO for a job's grid once per isolate", async () => {
    const { d, reports } = deps();
    const first = chunk(3);
    await runChunk(first, d);
    await runChunk({ ...first, chunkId: "c-second" }, d);
    const opening = [first.chunkId, "c-second"].map((id) => reports.find((r) => r.chunkId === id)!);
    expect(opening.map((r) => [r.chunkId, r.wantGrid ?? false])).toEqual([
      [first.chunkId, true],
      ["c-second", false],
    ]);
  });

  it("gives up on a chunk whose DO sends no grid, so that the queue redelivers it", async () => {
    const { d } = deps({ report: async () => ({ continue: true, accepted: 0, checkinMs: 25 }) });
    await expect(runChunk(chunk(3), d)).rejects.toThrow(/without the job's grid/);
  });

  it("runs the metrics-only pass", async () => {
    const details: (boolean | undefined)[] = [];
    const strategy = { ...synthetic, run: (ctx: { detail?: boolean }) => (details.push(ctx.detail), { metrics: { score: 1 } }) };
    const { d } = deps({ strategy });
    await runChunk(chunk(3), d);
    expect(details).toEqual([false, false, false]);
  });

  it("stops when the job's DO says the job ended", async () => {
    const { d, reports } = deps({ stopAfterReports: 2 });
    const result = await runChunk(chunk(10), d);
    expect(result.stopped).toBe(true);
    expect(result.ran).toBeLessThan(10);
    expect(reports.every((r) => !r.done)).toBe(true);
  });

  it("does nothing when the chunk is stale at check-in", async () => {
    const { d, reports } = deps({ stopAfterReports: 1 });
    expect(await runChunk(chunk(3), d)).toEqual({ ran: 0, stopped: true });
    expect(reports).toHaveLength(1);
  });

  it("fails every task with the loader's error kind when the dataset cannot load", async () => {
    const needsBars = { ...synthetic, needsBars: true };
    const { d, reports } = deps({
      strategy: needsBars,
      loadBars: () => {
        throw new UpstreamError("dataset store unreachable");
      },
    });
    await runChunk(chunk(2), d);
    expect(reports.flatMap((r) => r.outcomes).map((o) => (o.ok ? "ok" : `${o.errorKind}: ${o.errorMessage}`))).toEqual([
      "UpstreamError: dataset store unreachable",
      "UpstreamError: dataset store unreachable",
    ]);
  });
});

describe("the chunk's bars", () => {
  /** A lease on sp500 that counts its releases; the strategy checks it still holds them. */
  function leased() {
    const state = { releases: 0, ranWhileReleased: 0 };
    const strategy = {
      ...synthetic,
      needsBars: true,
      run: () => {
        if (state.releases > 0) state.ranWhileReleased++;
        return { metrics: { score: 1 } };
      },
    };
    const loadBars = async () => ({ value: sp500Bars(), release: () => void state.releases++ });
    return { state, strategy, loadBars };
  }

  it("are held for the whole chunk and released once at its end", async () => {
    const { state, strategy, loadBars } = leased();
    const { d } = deps({ strategy, loadBars });
    await runChunk(chunk(6), d);
    expect(state).toEqual({ releases: 1, ranWhileReleased: 0 });
  });

  it("are released when the job says stop mid-chunk", async () => {
    const { state, strategy, loadBars } = leased();
    const { d } = deps({ strategy, loadBars, stopAfterReports: 2 });
    expect((await runChunk(chunk(20), d)).stopped).toBe(true);
    expect(state.releases).toBe(1);
  });
});

/**
 * Workers' clock: it stands still while a backtest computes and moves only at I/O. Each backtest
 * costs `taskMs` of CPU that the clock shows at the next report, with `rttMs` for the round trip.
 */
function productionClock(taskMs: number, rttMs: number, answer: (clock: number, r: ChunkReport) => ReportAck) {
  let clock = 1_000_000;
  let cpu = 0;
  const reports: { at: number; cpuMs: number; report: ChunkReport }[] = [];
  const strategy = { ...synthetic, run: (ctx: Parameters<typeof synthetic.run>[0]) => ((cpu += taskMs), synthetic.run(ctx)) };
  const d: ChunkDeps = {
    strategy,
    loadBars: () => {
      throw new Error("synthetic needs no bars");
    },
    cache: createSeriesCache(),
    grids: createGridCache(),
    now: () => clock,
    report: async (r) => {
      reports.push({ at: clock, cpuMs: cpu, report: r });
      clock += cpu + rttMs;
      cpu = 0;
      return { ...answer(clock, r), ...gridAnswer(r) };
    },
  };
  return { d, reports, clock: () => clock };
}

describe("on a clock that moves only at I/O (as on Workers)", () => {
  const CHECKIN_MS = 100;

  it("still checks in about every checkinMs of work, and reports each task's real time", async () => {
    const { d, reports } = productionClock(7, 3, (_at, r) => ({ continue: true, accepted: r.outcomes.length, checkinMs: CHECKIN_MS }));
    expect(await runChunk(chunk(400), d)).toEqual({ ran: 400, stopped: false });
    // The opening check-in, a probe after the first task, then intervals that grow to the target.
    const intervals = reports.slice(1).map((r) => r.cpuMs);
    expect(intervals.slice(0, 2)).toEqual([7, 28]);
    for (const cpu of intervals.slice(3, -1)) {
      expect(cpu).toBeGreaterThanOrEqual(CHECKIN_MS / 2);
      expect(cpu).toBeLessThanOrEqual(CHECKIN_MS);
    }
    const outcomes = reports.flatMap((r) => r.report.outcomes);
    expect(outcomes.map((o) => o.index)).toEqual([...Array(400).keys()]);
    // Wall time per task with its share of the round trip: never the 0 a frozen clock shows.
    for (const o of outcomes) {
      expect(o.execMs).toBeGreaterThanOrEqual(7);
      expect(o.execMs).toBeLessThanOrEqual(10);
    }
  });

  it("halts within one check-in interval of a cancel", async () => {
    let canceledAt: number | null = null;
    const { d, reports, clock } = productionClock(7, 3, (at, r) => {
      // The job is canceled 500 ms into the chunk; the consumer hears of it at its next check-in.
      if (canceledAt === null && at >= 1_000_500) canceledAt = 1_000_500;
      return { continue: canceledAt === null, accepted: r.outcomes.length, checkinMs: CHECKIN_MS };
    });
    const result = await runChunk(chunk(400), d);
    expect(result.stopped).toBe(true);
    expect(result.ran).toBeLessThan(100);
    // Work done after the cancel: at most one interval's CPU and a round trip.
    expect(clock() - canceledAt!).toBeLessThanOrEqual(CHECKIN_MS + 3);
    expect(reports.at(-1)!.report.done).toBe(false);
  });
});
