import { z } from "zod";
import { ErrorKind } from "../../../schema";
import { ParamInvalid, taskErrorFor } from "../../../lib/errors";
import type { RunContext, Strategy, StrategyParam } from "../types";

const reserved = {
  sleepMs: {
    schema: z.number().int().min(0).max(60_000),
    description: "Waits this long (without using CPU) before answering.",
    default: { values: [0] },
  },
  failTimes: {
    schema: z.number().int().min(0).max(100),
    description: "The first N attempts of the task fail.",
    default: { values: [0] },
  },
  failKind: {
    schema: ErrorKind,
    description: "The error kind of those failures.",
    default: { values: ["UpstreamError"] },
  },
} satisfies Record<string, StrategyParam>;

function read<T>(ctx: RunContext, name: keyof typeof reserved, schema: z.ZodType<T>, fallback: T): T {
  const value = ctx.params[name];
  if (value === undefined) return fallback;
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ParamInvalid(`${name}: ${parsed.error.issues[0]?.message ?? "invalid"}`);
  return parsed.data;
}

/**
 * A stand-in for tests and load: score = sum of the numeric params other than the reserved ones,
 * which shape its behaviour (latency, failures). It never reads bars.
 */
export const synthetic: Strategy = {
  id: "synthetic",
  description: "Test strategy: score is the sum of the numeric params; sleepMs, failTimes and failKind simulate latency and failures.",
  params: reserved,
  openParams: true,
  needsBars: false,
  waitsOnIo: true,
  metrics: ["score"],
  async run(ctx) {
    const sleepMs = read(ctx, "sleepMs", reserved.sleepMs.schema, 0);
    const failTimes = read(ctx, "failTimes", reserved.failTimes.schema, 0);
    const failKind = read(ctx, "failKind", reserved.failKind.schema, "UpstreamError");
    if (sleepMs > 0) await scheduler.wait(sleepMs);
    if (ctx.attempt <= failTimes) {
      throw taskErrorFor(failKind, `synthetic failure on attempt ${ctx.attempt} of ${failTimes} planned`);
    }
    let score = 0;
    for (const [name, value] of Object.entries(ctx.params)) {
      if (typeof value === "number" && !Object.hasOwn(reserved, name)) score += value;
    }
    return { metrics: { score } };
  },
};
