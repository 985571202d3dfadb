import { Hono } from "hono";
import { ResultByIdInput, type ResultSummary, type StrategyList } from "../../schema";
import { describeStrategies } from "../engine/strategies";
import { ApiError, TaskError } from "../../lib/errors";
import { createSeriesCache } from "../engine/series-cache";
import type { JobContext } from "../jobs/service";
import { resultSummaryFor } from "../results/details";
import { jobContext, type AppEnv } from "./context";
import { parseInput } from "./parse";

export const listStrategies = (ctx: JobContext): StrategyList => ({ items: describeStrategies(ctx.config.ALLOW_SYNTHETIC) });

/**
 * A succeeded task's result summary, of the caller's tenant only (404 for anything else), computed
 * on first request and read from R2 after. A failed data or R2 read is 503: trying again can help.
 */
export async function getResult(ctx: JobContext, id: string): Promise<ResultSummary> {
  let found: Awaited<ReturnType<typeof resultSummaryFor>>;
  try {
    // One backtest computes a few series: a cache of its own, dropped with the request.
    found = await resultSummaryFor(ctx.env, ctx.tenant, id, { cache: createSeriesCache() });
  } catch (err) {
    if (!(err instanceof TaskError)) throw err;
    ctx.log.error("api.result_failed", { id, errorKind: err.kind, message: err.message });
    throw new ApiError(err.kind === "UpstreamError" ? "unavailable" : "internal", `computing result ${id} failed: ${err.message}`);
  }
  if (!found.ok) throw new ApiError("not_found", found.reason);
  return found.summary;
}

/** REST under /api/v1: the strategies forms and the CLI build on, and stored result summaries. */
export const catalogRoutes = new Hono<AppEnv>()
  .get("/strategies", async (c) => c.json(listStrategies(await jobContext(c))))
  .get("/results/:id", async (c) => {
    const ctx = await jobContext(c);
    const { id } = parseInput(ResultByIdInput, { id: c.req.param("id") });
    return c.json(await getResult(ctx, id));
  });
