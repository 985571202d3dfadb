import { z } from "zod";
import { rollingStd, sma } from "../indicators";
import { PERFORMANCE_METRICS } from "../metrics";
import { intParam, numberParam, requireBars, WINDOW_MAX } from "../params";
import { signalBuffer, simulate, zeroSeries } from "../simulate";
import type { Strategy } from "../types";

/**
 * Bollinger band mean reversion, long/flat. mid_t = sma(period)_t of closes, sd_t = the population
 * standard deviation of the same `period` closes, defined from t = period - 1. From flat, s_t = 1
 * when close_t < mid_t - k * sd_t; from long, s_t = 0 when close_t >= mid_t; otherwise
 * s_t = s_{t-1} (s_{period-2} = 0). Bars t = period .. last are counted.
 */
export const bollingerReversion: Strategy = {
  id: "bollinger-reversion",
  description:
    "Long/flat mean reversion on Bollinger bands of closes: enter long when the close is below mid - k * std (population std over the window), exit when it is back at or above mid.",
  params: {
    period: { schema: z.number().int().min(2).max(WINDOW_MAX), description: "Band window, in bars.", default: { min: 10, max: 50, step: 10 } },
    k: { schema: z.number().positive().max(10), description: "Band width in standard deviations (above 0, at most 10).", default: { values: [1, 1.5, 2, 2.5, 3] } },
  },
  openParams: false,
  needsBars: true,
  waitsOnIo: false,
  metrics: PERFORMANCE_METRICS,
  run(ctx) {
    const period = intParam(ctx, "period", 2, WINDOW_MAX);
    const k = numberParam(ctx, "k", 0, 10, true);
    const first = period - 1;
    requireBars(ctx, first, `period (${period})`);
    const { close, length } = ctx.bars;
    const mid = ctx.cache.get(`sma:close:${period}`, () => sma(close, period));
    const sd = ctx.cache.get(`std:close:${period}`, () => rollingStd(close, period));
    const signals = signalBuffer(length);
    let s = 0;
    for (let t = first; t < length; t++) {
      const c = close[t] as number;
      const m = mid[t] as number;
      if (s === 0) {
        if (c < m - k * (sd[t] as number)) s = 1;
      } else if (c >= m) s = 0;
      signals[t] = s;
    }
    return simulate(ctx, { a: signals, b: zeroSeries(ctx), otherwise: 0, first });
  },
};
