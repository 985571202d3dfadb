import type { Strategy } from "../types";
import { smaCrossover } from "./sma-crossover";
import { synthetic } from "./synthetic";

/** Every strategy by id; whether synthetic may be used is the config's call (ALLOW_SYNTHETIC). */
export const STRATEGIES: Record<string, Strategy> = {
  [smaCrossover.id]: smaCrossover,
  [synthetic.id]: synthetic,
};

export const getStrategy = (id: string): Strategy | undefined => (Object.hasOwn(STRATEGIES, id) ? STRATEGIES[id] : undefined);
