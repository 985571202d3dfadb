import { ParamInvalid } from "../../errors";
import { ema } from "../indicators";
import { PERFORMANCE_METRICS } from "../metrics";
import { allowShort, allowShortParam, intParam, requireBars, WINDOW_MAX, windowSchema } from "../params";
import { simulate } from "../simulate";
import type { Strategy } from "../types";

/**
 * EMA crossover on closes (EMAs as in indicators.ema: alpha = 2 / (window + 1), seeded with the
 * SMA of the first window closes). Signal s_t = 1 if ema(fast)_t > ema(slow)_t, else 0 (-1 with
 * allowShort), defined from t = slow - 1; bars t = slow .. last are counted.
 */
export const emaCrossover: Strategy = {
  id: "ema-crossover",
  description:
    "Long when the fast exponential moving average of closes is above the slow one; flat otherwise (short with allowShort).",
  params: {
    fast: { schema: windowSchema, description: "Fast EMA window, in bars (less than slow).", default: { min: 5, max: 50, step: 5 } },
    slow: { schema: windowSchema, description: "Slow EMA window, in bars.", default: { min: 20, max: 200, step: 20 } },
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
    const fastEma = ctx.cache.get(`ema:close:${fast}`, () => ema(close, fast));
    const slowEma = ctx.cache.get(`ema:close:${slow}`, () => ema(close, slow));
    return simulate(ctx, { a: fastEma, b: slowEma, otherwise: short ? -1 : 0, first });
  },
};
