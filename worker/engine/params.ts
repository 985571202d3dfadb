import { z } from "zod";
import { ParamInvalid } from "../../lib/errors";
import type { ParamAxis } from "../../schema";
import type { RunContext, StrategyParam } from "./types";

/*
 * Param readers for strategies. The API checks each value against the param's zod schema before a
 * job runs; these re-check cheaply (no zod on the per-task path) and throw ParamInvalid naming the
 * param, since a task may reach a strategy by other ways (tests, the bench, an old message).
 */

/** An integer param in [min, max]. */
export function intParam(ctx: RunContext, name: string, min: number, max: number): number {
  const v = ctx.params[name];
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new ParamInvalid(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** A finite number param in [min, max] (or (min, max] when minExclusive). */
export function numberParam(ctx: RunContext, name: string, min: number, max: number, minExclusive = false): number {
  const v = ctx.params[name];
  if (typeof v !== "number" || !Number.isFinite(v) || (minExclusive ? v <= min : v < min) || v > max) {
    throw new ParamInvalid(`${name} must be a number ${minExclusive ? "above" : "from"} ${min} ${minExclusive ? "and at most" : "to"} ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** The optional boolean allowShort: missing means false. */
export function allowShortParam(ctx: RunContext): boolean {
  const v = ctx.params.allowShort;
  if (v === undefined) return false;
  if (typeof v !== "boolean") throw new ParamInvalid(`allowShort must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

/** Throws ParamInvalid unless signals from bar `first` leave at least one bar to count. */
export function requireBars(ctx: RunContext, first: number, what: string): void {
  const { length } = ctx.bars;
  if (first > length - 2) throw new ParamInvalid(`${what} needs at least ${first + 2} bars; the dataset has ${length}`);
}

/** Window params: integers 1..1000 bars. */
export const WINDOW_MAX = 1000;
export const windowSchema = z.number().int().min(1).max(WINDOW_MAX);

export const allowShort: StrategyParam = {
  schema: z.boolean(),
  description: "Short instead of flat when the signal is bearish (optional, default false).",
  default: { values: [false] },
  optional: { value: false },
};

/** The `fast` and `slow` windows of a two-average strategy; fast must be the shorter. */
export function fastSlowParams(ctx: RunContext): { fast: number; slow: number } {
  const fast = intParam(ctx, "fast", 1, WINDOW_MAX);
  const slow = intParam(ctx, "slow", 1, WINDOW_MAX);
  if (fast >= slow) throw new ParamInvalid(`fast (${fast}) must be less than slow (${slow})`);
  return { fast, slow };
}

/** The declarations of a two-average strategy's `fast` and `slow` windows. */
export const fastSlowParamDefs = (average: string, fast: ParamAxis, slow: ParamAxis): Record<"fast" | "slow", StrategyParam> => ({
  fast: { schema: windowSchema, description: `Fast ${average} window, in bars (less than slow).`, default: fast },
  slow: { schema: windowSchema, description: `Slow ${average} window, in bars.`, default: slow },
});
