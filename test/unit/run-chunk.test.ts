import { describe, expect, it } from "vitest";
import type { ChunkReport, ReportAck, TaskChunkMessage } from "../../schema";
import { runChunk, type ChunkDeps } from "../../worker/consumer/run-chunk";
import { createSeriesCache } from "../../worker/engine/series-cache";
import { synthetic } from "../../worker/engine/strategies/synthetic";
import { UpstreamError } from "../../lib/errors";
import { sp500Bars } from "../fixtures";

const chunk = (n: number, params: Record<string, number | string> = {}): TaskChunkMessage => ({
  v: 1,
  jobId: "j1",
  tenant: "t1",
  chunkId: "c1",
  strategy: "synthetic",
  dataset: "sp500",
  options: { feeBps: 0, slippageBps: 0, execution: "close" },
  enqueuedAt: Date.now(),
  tasks: Array.from({ length: n }, (_, i) => ({ index: i, attempt: 1, params: { a: i, ...params } })),
});

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
      return { continue: overrides.stopAfterReports === undefined || reports.length < overrides.stopAfterReports, accepted: r.outcomes.length, checkinMs: 25 };
    },
    now: () => (t += 5),
    ...overrides,
  };
  return { d, reports };
}

describe("running a chunk", () => {
  it("checks in first, reports progress every checkinMs of work, and ends with done", async () => {
    const { d, reports } = deps();
    const result = await runChunk(chunk(10), d);
    expect(result).toEqual({ ran: 10, stopped: false });
    expect(reports[0]).toEqual({ chunkId: "c1", outcomes: [], done: false });
    expect(reports.at(-1)!.done).toBe(true);
    expect(reports.length).toBeGreaterThan(3);
    const outcomes = reports.flatMap((r) => r.outcomes);
    expect(outcomes.map((o) => o.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // A success names its task: its details are computed when someone opens it.
    expect(outcomes.every((o) => o.ok && o.metrics.score === o.index && o.resultSummaryId === `j1.${o.index}`)).toBe(true);
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
