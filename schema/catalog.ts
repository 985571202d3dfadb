import { z } from "zod";
import { ParamAxis } from "./job";

export const StrategyParamInfo = z.object({
  name: z.string(),
  description: z.string(),
  /** A sensible axis to start from, for forms and the CLI. */
  default: ParamAxis,
  /** Whether a spec may leave the param out. */
  optional: z.boolean(),
  /** JSON Schema of one value. */
  schema: z.record(z.string(), z.unknown()),
});
export type StrategyParamInfo = z.infer<typeof StrategyParamInfo>;

export const StrategyInfo = z.object({
  id: z.string(),
  description: z.string(),
  params: z.array(StrategyParamInfo),
  /** Whether params beyond `params` are accepted. */
  openParams: z.boolean(),
  metrics: z.array(z.string()),
});
export type StrategyInfo = z.infer<typeof StrategyInfo>;

export const StrategyList = z.object({ items: z.array(StrategyInfo) });
export type StrategyList = z.infer<typeof StrategyList>;

/**
 * A result summary id: the task id `<jobId>.<task index>`. Ids handed out before results were
 * computed on demand end in `.a<attempt>`; they still name the same task's result.
 */
export const ResultSummaryId = z.string().regex(/^[A-Za-z0-9-]{1,64}\.\d{1,12}(?:\.a\d{1,3})?$/, "a result summary id");
export const ResultByIdInput = z.strictObject({ id: ResultSummaryId });
