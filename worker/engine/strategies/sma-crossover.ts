import { ParamInvalid } from "../../errors";
import { sma } from "../indicators";
import { PERFORMANCE_METRICS } from "../metrics";
import { allowShort, allowShortParam, intParam, requireBars, WINDOW_MAX, windowSchema } from "../params";
import { simulate } from "../simulate";
import type { Strategy } from "../types";

/**
 * SMA crossover on closes. Signal s_t = 1 if sma(fast)_t > sma(slow)_t, else 0 (-1 with
 * allowShort), defined from t = slow - 1; positions, returns and fills as in simulate(): bars
 * t = slow .. last are counted, p_slow = s_{slow-1}.
 */
export const smaCrossover: Strategy = {
  id: "sma-crossover",
  description:
    "Long when the fast simple moving average of closes is above the slow one; flat otherwise (short with allowShort).",
  params: {
    fast: { schema: windowSchema, description: "Fast SMA window, in bars (less than slow).", default: { min: 5, max: 50, step: 5 } },
    slow: { schema: windowSchema, description: "Slow SMA window, in bars.", default: { min: 20, max: 200, step: 20 } },
    allowShort,
  },
  openParams: false,
  needsBars: true,
  metrics: PERFORMANCE_METRICS,
  run(ctx) {
    const fast = intParam(ctx, "fast", 1, WINDOW_MAX);
    const slow = intParam(ctx, "slow", 1, WINDOW_MAX);
    const short = allowShortParam(ctx);
    if (fast >= slow) throw new ParamInvalid(`fast (${fast}) must be less than slow (${slow})`);
    const first = slow - 1;
    requireBars(ctx, first, `slow (${slow})`);
    const { close } = ctx.bars;
    const fastSma = ctx.cache.get(`sma:close:${fast}`, () => sma(close, fast));
    const slowSma = ctx.cache.get(`sma:close:${slow}`, () => sma(close, slow));
    return simulate(ctx, { a: fastSma, b: slowSma, otherwise: short ? -1 : 0, first });
  },
};
