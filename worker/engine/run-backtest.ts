import { InternalError, ParamInvalid, taskErrorOf } from "../../lib/errors";
import type { BacktestResult, RunContext, Strategy } from "./types";

/**
 * Part of every stored result detail's content key (worker/results/content-key.ts): bump it with
 * any change that alters a result (metrics, equity curve, trades, their limits), so details stored
 * by an older engine are never served for the new one.
 */
export const ENGINE_VERSION = 1;

/**
 * Runs one backtest. Whatever escapes is a TaskError (an unexpected throw becomes InternalError),
 * and the result carries every declared metric as a finite number, since scores are ranked and
 * stored as JSON (a non-finite one is ParamInvalid: the data decided it, a retry would not help).
 */
export async function runBacktest(strategy: Strategy, ctx: RunContext): Promise<BacktestResult> {
  let result: BacktestResult;
  try {
    result = await strategy.run(ctx);
  } catch (err) {
    throw taskErrorOf(err);
  }
  for (const name of strategy.metrics) {
    if (!Object.hasOwn(result.metrics, name)) throw new InternalError(`${strategy.id}: metric ${name} is missing`);
  }
  for (const [name, value] of Object.entries(result.metrics)) {
    if (typeof value !== "number" || !Number.isFinite(value)) {
      // The data decides this (e.g. returns that overflow): a retry would end the same way.
      throw new ParamInvalid(`${strategy.id}: metric ${name} is not a finite number (${String(value)}) on this data`);
    }
  }
  return result;
}
