import { z } from "zod";
import { ParamValue } from "./job";

/** What the consumer stores (R2) for each successful backtest, under its resultSummaryId. */
export const ResultSummary = z.object({
  id: z.string(),
  jobId: z.string(),
  tenant: z.string(),
  index: z.number().int(),
  attempt: z.number().int(),
  strategy: z.string(),
  dataset: z.string(),
  params: z.record(z.string(), ParamValue),
  metrics: z.record(z.string(), z.number()),
  execMs: z.number(),
  createdAt: z.string(),
});
export type ResultSummary = z.infer<typeof ResultSummary>;
