import { z } from "zod";
import { ParamInvalid } from "../../errors";
import { sma } from "../indicators";
import { MetricsAccumulator, PERFORMANCE_METRICS } from "../metrics";
import type { RunContext, Strategy } from "../types";

const window = z.number().int().min(1).max(1000);

function readWindow(ctx: RunContext, name: "fast" | "slow"): number {
  const parsed = window.safeParse(ctx.params[name]);
  if (!parsed.success) {
    throw new ParamInvalid(`${name} must be an integer from 1 to 1000, got ${JSON.stringify(ctx.params[name])}`);
  }
  return parsed.data;
}

/**
 * Long/flat SMA crossover on closes, no fees. Signal s_t = 1 if sma(fast)_t > sma(slow)_t else 0;
 * the position during bar t+1 is s_t; bar return r_t = p_t * (close_t / close_{t-1} - 1).
 * Bars t = slow .. last are counted (the first uses the signal at slow-1, where sma(slow) starts).
 */
export const smaCrossover: Strategy = {
  id: "sma-crossover",
  description: "Long when the fast simple moving average of closes is above the slow one, flat otherwise.",
  params: {
    fast: { schema: window, description: "Fast SMA window, in bars (less than slow).", default: { min: 5, max: 50, step: 5 } },
    slow: { schema: window, description: "Slow SMA window, in bars.", default: { min: 20, max: 200, step: 20 } },
  },
  openParams: false,
  needsBars: true,
  metrics: PERFORMANCE_METRICS,
  run(ctx) {
    const fast = readWindow(ctx, "fast");
    const slow = readWindow(ctx, "slow");
    if (fast >= slow) throw new ParamInvalid(`fast (${fast}) must be less than slow (${slow})`);
    const { close, length } = ctx.bars;
    if (slow >= length) {
      throw new ParamInvalid(`slow (${slow}) needs at least ${slow + 1} bars; the dataset has ${length}`);
    }
    const fastSma = ctx.cache.get(`sma:close:${fast}`, () => sma(close, fast));
    const slowSma = ctx.cache.get(`sma:close:${slow}`, () => sma(close, slow));
    const acc = new MetricsAccumulator();
    for (let t = slow; t < length; t++) {
      const held = (fastSma[t - 1] as number) > (slowSma[t - 1] as number) ? 1 : 0;
      acc.push(held === 0 ? 0 : (close[t] as number) / (close[t - 1] as number) - 1, held);
    }
    return { metrics: acc.finish() };
  },
};
