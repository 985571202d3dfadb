import type { Annualisation } from "../schema";
import { builtinBarsSync } from "../worker/datasets/builtin";
import type { Bars } from "../worker/engine/types";

/** The S&P 500 daily bars (5105, 2000-01-03 .. 2020-04-17), as the consumer loads them. */
export const sp500Bars = (): Bars => builtinBarsSync("sp500")!;

/** The annualisation of daily bars on trading days (what the engine's unit tests assume). */
export const TRADING_DAYS: Annualisation = { spacing: "daily-trading", barsPerYear: 252 };
