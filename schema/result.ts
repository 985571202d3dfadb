import { z } from "zod";
import { Annualisation } from "./dataset";
import { ParamValue } from "./job";

/** A round trip (or one still open at the last bar: exit fields null). Times are epoch ms. */
export const TradeRecord = z.object({
  side: z.union([z.literal(1), z.literal(-1)]),
  entryTime: z.number(),
  entryPrice: z.number(),
  exitTime: z.number().nullable(),
  exitPrice: z.number().nullable(),
  /** Compounded return of the trade's bars, fees included. */
  return: z.number(),
});
export type TradeRecord = z.infer<typeof TradeRecord>;

/** [epoch ms, equity] points, equity starting at 1; downsampled to a few hundred points. */
export const EquityPoint = z.tuple([z.number(), z.number()]);
export type EquityPoint = z.infer<typeof EquityPoint>;

export const MAX_STORED_TRADES = 1_000;

/**
 * The part of a result summary that the backtest alone decides: a pure function of (strategy,
 * dataset content, params, options), stored in R2 under a content-addressed key
 * (worker/results/content-key.ts), so one object can serve every task that ran the same backtest.
 */
export const ResultDetail = z.object({
  metrics: z.record(z.string(), z.number()),
  /** What the metrics were annualised with (the dataset's spacing); null for a strategy that reads no bars. */
  annualisation: Annualisation.nullable(),
  equity: z.array(EquityPoint),
  /** The first and last trades when there are more than MAX_STORED_TRADES; `metrics.trades` counts all. */
  trades: z.array(TradeRecord),
  /** Trades left out of `trades` (from its middle) to keep a summary small. */
  tradesOmitted: z.number().int().nonnegative(),
});
export type ResultDetail = z.infer<typeof ResultDetail>;

/** A succeeded task's result summary (`GET /results/:id`): the caller's task, with the backtest's detail. */
export const ResultSummary = z.object({
  /** The task id, `<jobId>.<index>`: what the task's `resultSummaryId` holds. */
  id: z.string(),
  jobId: z.string(),
  tenant: z.string(),
  index: z.number().int(),
  /** The attempt that succeeded. */
  attempt: z.number().int(),
  strategy: z.string(),
  dataset: z.string(),
  params: z.record(z.string(), ParamValue),
  ...ResultDetail.shape,
  /** The succeeded attempt's run time, as the task list reports it (a metrics-only pass). */
  execMs: z.number(),
  /** When the task's job was created. */
  createdAt: z.string(),
});
export type ResultSummary = z.infer<typeof ResultSummary>;
