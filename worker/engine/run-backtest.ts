import { InternalError, taskErrorOf } from "../errors";
import type { BacktestResult, RunContext, Strategy } from "./types";

/**
 * Runs one backtest. Whatever escapes is a TaskError (an unexpected throw becomes InternalError),
 * and the result carries every declared metric as a finite number, since scores are ranked and
 * stored as JSON.
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
      throw new InternalError(`${strategy.id}: metric ${name} is not a finite number (${String(value)})`);
    }
  }
  return result;
}
