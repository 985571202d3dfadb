import { z } from "zod";
import { ema } from "../indicators";
import { PERFORMANCE_METRICS } from "../metrics";
import { allowShort, allowShortParam, fastSlowParamDefs, fastSlowParams, intParam, requireBars, WINDOW_MAX } from "../params";
import { signalBuffer, simulate, zeroSeries } from "../simulate";
import type { Strategy } from "../types";

/**
 * MACD on closes. MACD line m_t = ema(fast)_t - ema(slow)_t, defined from t = slow - 1; signal
 * line g = the EMA of m over `signal` bars, seeded with the mean of m_{slow-1} .. m_{slow+signal-2}
 * (alpha = 2 / (signal + 1)), defined from t = slow + signal - 2. Signal s_t = 1 if m_t > g_t,
 * else 0 (-1 with allowShort); bars t = slow + signal - 1 .. last are counted.
 *
 * The EMAs of closes come from the series cache; the signal line depends on all three params, so
 * it is computed inline rather than cached.
 */
export const macd: Strategy = {
  id: "macd",
  description:
    "Long when the MACD line (fast EMA - slow EMA of closes) is above its signal line (an EMA of it); flat otherwise (short with allowShort).",
  params: {
    ...fastSlowParamDefs("EMA", { values: [8, 12, 16] }, { values: [21, 26, 31] }),
    signal: {
      schema: z.number().int().min(2).max(WINDOW_MAX),
      description: "Signal line EMA window over the MACD line, in bars (2 or more: with 1 the lines coincide).",
      default: { values: [5, 9, 13] },
    },
    allowShort,
  },
  openParams: false,
  needsBars: true,
  waitsOnIo: false,
  metrics: PERFORMANCE_METRICS,
  run(ctx) {
    const { fast, slow } = fastSlowParams(ctx);
    const signal = intParam(ctx, "signal", 2, WINDOW_MAX);
    const short = allowShortParam(ctx);
    const start = slow - 1;
    const first = start + signal - 1;
    requireBars(ctx, first, `slow (${slow}) + signal (${signal})`);
    const { close, length } = ctx.bars;
    const fastEma = ctx.cache.get(`ema:close:${fast}`, () => ema(close, fast));
    const slowEma = ctx.cache.get(`ema:close:${slow}`, () => ema(close, slow));
    // m_t - g_t into the signal buffer: long when it is above 0, as m_t > g_t.
    const histogram = signalBuffer(length);
    let sum = 0;
    for (let t = start; t <= first; t++) sum += (fastEma[t] as number) - (slowEma[t] as number);
    const alpha = 2 / (signal + 1);
    let line = sum / signal;
    histogram[first] = (fastEma[first] as number) - (slowEma[first] as number) - line;
    for (let t = first + 1; t < length; t++) {
      const m = (fastEma[t] as number) - (slowEma[t] as number);
      line += alpha * (m - line);
      histogram[t] = m - line;
    }
    return simulate(ctx, { a: histogram, b: zeroSeries(ctx), otherwise: short ? -1 : 0, first });
  },
};
