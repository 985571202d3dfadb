import { rollingMax, rollingMin } from "../indicators";
import { PERFORMANCE_METRICS } from "../metrics";
import { intParam, requireBars, WINDOW_MAX, windowSchema } from "../params";
import { signalBuffer, simulate, zeroSeries } from "../simulate";
import type { Strategy } from "../types";

/**
 * Donchian channel breakout, long/flat. hh_t = max(high_{t-entry} .. high_{t-1}),
 * ll_t = min(low_{t-exit} .. low_{t-1}) (the previous bars, not bar t), defined from
 * t = max(entry, exit). From flat, s_t = 1 when close_t > hh_t; from long, s_t = 0 when
 * close_t < ll_t; otherwise s_t = s_{t-1}. Bars t = max(entry, exit) + 1 .. last are counted.
 */
export const donchianBreakout: Strategy = {
  id: "donchian-breakout",
  description:
    "Long/flat channel breakout: enter long when the close is above the highest high of the previous `entry` bars, exit when it is below the lowest low of the previous `exit` bars.",
  params: {
    entry: { schema: windowSchema, description: "Entry channel, in bars.", default: { min: 20, max: 100, step: 20 } },
    exit: { schema: windowSchema, description: "Exit channel, in bars.", default: { min: 10, max: 50, step: 10 } },
  },
  openParams: false,
  needsBars: true,
  waitsOnIo: false,
  metrics: PERFORMANCE_METRICS,
  run(ctx) {
    const entry = intParam(ctx, "entry", 1, WINDOW_MAX);
    const exit = intParam(ctx, "exit", 1, WINDOW_MAX);
    const first = Math.max(entry, exit);
    requireBars(ctx, first, `max(entry, exit) (${first})`);
    const { high, low, close, length } = ctx.bars;
    const highest = ctx.cache.get(`max:high:${entry}`, () => rollingMax(high, entry));
    const lowest = ctx.cache.get(`min:low:${exit}`, () => rollingMin(low, exit));
    const signals = signalBuffer(length);
    let s = 0;
    for (let t = first; t < length; t++) {
      const c = close[t] as number;
      if (s === 0) {
        if (c > (highest[t - 1] as number)) s = 1;
      } else if (c < (lowest[t - 1] as number)) s = 0;
      signals[t] = s;
    }
    return simulate(ctx, { a: signals, b: zeroSeries(ctx), otherwise: 0, first });
  },
};
