import { PERFORMANCE_METRICS } from "../metrics";
import { allowShort, allowShortParam, fastSlowParamDefs, fastSlowParams, requireBars } from "../params";
import { simulate } from "../simulate";
import type { Strategy } from "../types";

export interface MovingAverageOptions {
  id: string;
  /** "SMA" or "EMA": names the average in descriptions and its cache key. */
  average: "SMA" | "EMA";
  indicator: (values: Float64Array, window: number) => Float64Array;
  description: string;
}

/**
 * A moving-average crossover on closes. Signal s_t = 1 if ma(fast)_t > ma(slow)_t, else 0 (-1 with
 * allowShort), defined from t = slow - 1; positions, returns and fills as in simulate(): bars
 * t = slow .. last are counted, p_slow = s_{slow-1}.
 */
export function movingAverageCrossover({ id, average, indicator, description }: MovingAverageOptions): Strategy {
  const key = average.toLowerCase();
  return {
    id,
    description,
    params: {
      ...fastSlowParamDefs(average, { min: 5, max: 50, step: 5 }, { min: 20, max: 200, step: 20 }),
      allowShort,
    },
    openParams: false,
    needsBars: true,
    waitsOnIo: false,
    metrics: PERFORMANCE_METRICS,
    run(ctx) {
      const { fast, slow } = fastSlowParams(ctx);
      const short = allowShortParam(ctx);
      const first = slow - 1;
      requireBars(ctx, first, `slow (${slow})`);
      const { close } = ctx.bars;
      const fastMa = ctx.cache.get(`${key}:close:${fast}`, () => indicator(close, fast));
      const slowMa = ctx.cache.get(`${key}:close:${slow}`, () => indicator(close, slow));
      return simulate(ctx, { a: fastMa, b: slowMa, otherwise: short ? -1 : 0, first });
    },
  };
}
