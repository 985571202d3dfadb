import { ema } from "../indicators";
import { movingAverageCrossover } from "./ma-crossover";

/** EMAs as in indicators.ema: alpha = 2 / (window + 1), seeded with the SMA of the first window closes. */
export const emaCrossover = movingAverageCrossover({
  id: "ema-crossover",
  average: "EMA",
  indicator: ema,
  description: "Long when the fast exponential moving average of closes is above the slow one; flat otherwise (short with allowShort).",
});
