import { sma } from "../indicators";
import { movingAverageCrossover } from "./ma-crossover";

export const smaCrossover = movingAverageCrossover({
  id: "sma-crossover",
  average: "SMA",
  indicator: sma,
  description: "Long when the fast simple moving average of closes is above the slow one; flat otherwise (short with allowShort).",
});
