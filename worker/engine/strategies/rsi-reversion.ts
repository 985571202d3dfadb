import { z } from "zod";
import { ParamInvalid } from "../../../lib/errors";
import { rsi } from "../indicators";
import { PERFORMANCE_METRICS } from "../metrics";
import { intParam, numberParam, requireBars, WINDOW_MAX } from "../params";
import { signalBuffer, simulate, zeroSeries } from "../simulate";
import type { Strategy } from "../types";

const level = z.number().min(0).max(100);

/**
 * RSI mean reversion, long/flat, on Wilder's RSI of closes (indicators.rsi), defined from
 * t = period. From flat, s_t = 1 when RSI_t < lower; from long, s_t = 0 when RSI_t > upper;
 * otherwise s_t = s_{t-1} (s_{period-1} = 0). Bars t = period + 1 .. last are counted.
 */
export const rsiReversion: Strategy = {
  id: "rsi-reversion",
  description:
    "Long/flat mean reversion on Wilder's RSI of closes: enter long when RSI < lower, exit when RSI > upper, hold otherwise.",
  params: {
    period: { schema: z.number().int().min(2).max(WINDOW_MAX), description: "RSI period, in bars.", default: { values: [7, 14, 21] } },
    lower: { schema: level, description: "Enter long when RSI falls below this (0..100, less than upper).", default: { min: 20, max: 35, step: 5 } },
    upper: { schema: level, description: "Exit when RSI rises above this (0..100).", default: { min: 55, max: 80, step: 5 } },
  },
  openParams: false,
  needsBars: true,
  waitsOnIo: false,
  metrics: PERFORMANCE_METRICS,
  run(ctx) {
    const period = intParam(ctx, "period", 2, WINDOW_MAX);
    const lower = numberParam(ctx, "lower", 0, 100);
    const upper = numberParam(ctx, "upper", 0, 100);
    if (lower >= upper) throw new ParamInvalid(`lower (${lower}) must be less than upper (${upper})`);
    const first = period;
    requireBars(ctx, first, `period (${period})`);
    const { close, length } = ctx.bars;
    const values = ctx.cache.get(`rsi:close:${period}`, () => rsi(close, period));
    const signals = signalBuffer(length);
    let s = 0;
    for (let t = first; t < length; t++) {
      const x = values[t] as number;
      if (s === 0) {
        if (x < lower) s = 1;
      } else if (x > upper) s = 0;
      signals[t] = s;
    }
    return simulate(ctx, { a: signals, b: zeroSeries(ctx), otherwise: 0, first });
  },
};
