import { z } from "zod";
import type { StrategyInfo } from "../../../schema";
import type { Strategy } from "../types";
import { bollingerReversion } from "./bollinger-reversion";
import { donchianBreakout } from "./donchian-breakout";
import { emaCrossover } from "./ema-crossover";
import { macd } from "./macd";
import { rsiReversion } from "./rsi-reversion";
import { smaCrossover } from "./sma-crossover";
import { synthetic } from "./synthetic";

/** Every strategy by id; whether synthetic may be used is the config's call (ALLOW_SYNTHETIC). */
export const STRATEGIES: Record<string, Strategy> = {
  [smaCrossover.id]: smaCrossover,
  [emaCrossover.id]: emaCrossover,
  [rsiReversion.id]: rsiReversion,
  [bollingerReversion.id]: bollingerReversion,
  [donchianBreakout.id]: donchianBreakout,
  [macd.id]: macd,
  [synthetic.id]: synthetic,
};

/** What forms and the CLI show: each strategy's params (default axis, JSON Schema of a value) and metrics. */
export const describeStrategies = (allowSynthetic: boolean): StrategyInfo[] =>
  Object.values(STRATEGIES)
    .filter((s) => allowSynthetic || s.id !== synthetic.id)
    .map((s) => ({
      id: s.id,
      description: s.description,
      params: Object.entries(s.params).map(([name, p]) => ({
        name,
        description: p.description,
        default: p.default,
        optional: p.optional !== undefined,
        schema: z.toJSONSchema(p.schema, { unrepresentable: "any" }) as Record<string, unknown>,
      })),
      openParams: s.openParams,
      metrics: [...s.metrics],
    }));

export const getStrategy = (id: string): Strategy | undefined => (Object.hasOwn(STRATEGIES, id) ? STRATEGIES[id] : undefined);
