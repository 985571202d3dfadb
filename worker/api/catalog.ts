import { Hono } from "hono";
import { ResultByIdInput, type StrategyList } from "../../schema";
import { describeStrategies } from "../engine/strategies";
import { ApiError } from "../../lib/errors";
import type { JobContext } from "../jobs/service";
import { getResultSummary } from "../results/store";
import { jobContext, type AppEnv } from "./context";
import { parseInput } from "./parse";

export const listStrategies = (ctx: JobContext): StrategyList => ({ items: describeStrategies(ctx.config.ALLOW_SYNTHETIC) });

/** A stored result summary of the caller's tenant; 404 for anything else. */
export async function getResult(ctx: JobContext, id: string) {
  const summary = await getResultSummary(ctx.env.RESULTS, ctx.tenant, id);
  if (!summary) throw new ApiError("not_found", `no result ${id}`);
  return summary;
}

/** REST under /api/v1: the strategies forms and the CLI build on, and stored result summaries. */
export const catalogRoutes = new Hono<AppEnv>()
  .get("/strategies", async (c) => c.json(listStrategies(await jobContext(c))))
  .get("/results/:id", async (c) => {
    const ctx = await jobContext(c);
    const { id } = parseInput(ResultByIdInput, { id: c.req.param("id") });
    return c.json(await getResult(ctx, id));
  });
