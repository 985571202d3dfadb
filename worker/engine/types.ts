import type { z } from "zod";
import type { Annualisation, BacktestOptions, EquityPoint, ParamAxis, ParamSet, ParamValue, TradeRecord } from "../../schema";

/** A price history in columnar typed arrays, oldest bar first. */
export interface Bars {
  readonly length: number;
  /** Bar time, epoch milliseconds (UTC midnight for daily data). */
  readonly time: Float64Array;
  readonly open: Float64Array;
  readonly high: Float64Array;
  readonly low: Float64Array;
  readonly close: Float64Array;
  readonly volume: Float64Array;
  /** The bars' spacing and bars a year, detected once when the data is loaded: annualises the metrics. */
  readonly annualisation: Annualisation;
}

/**
 * Memoises derived series (an indicator for a window) across the tasks that run on the same
 * bars, so a grid computes each window once, not once per parameter set.
 */
export interface SeriesCache {
  get(key: string, compute: () => Float64Array): Float64Array;
}

export interface RunContext {
  bars: Bars;
  params: ParamSet;
  /** 1 for the first attempt of a task, 2 for its first retry... */
  attempt: number;
  cache: SeriesCache;
  /** Fees, slippage and the execution model, from the job spec. */
  options: BacktestOptions;
  /**
   * Whether to produce the result's equity curve and trade list (default true). They cost time and
   * memory; with false a run computes the metrics only, allocating nothing per bar.
   */
  detail?: boolean;
}

export interface BacktestResult {
  metrics: Record<string, number>;
  /** Downsampled equity curve, for the stored result summary. */
  equity?: EquityPoint[];
  trades?: TradeRecord[];
}

export interface StrategyParam {
  schema: z.ZodType<ParamValue>;
  description: string;
  /** A sensible default axis for forms and the CLI. */
  default: ParamAxis;
  /**
   * Present when a spec may leave the param out: the strategy then runs with `optional.value`
   * (e.g. allowShort: false). Absent: the param is required.
   */
  optional?: { value: ParamValue };
}

export interface Strategy {
  id: string;
  description: string;
  params: Record<string, StrategyParam>;
  /** Whether params not listed above are accepted (the synthetic strategy takes any). */
  openParams: boolean;
  /** Whether the strategy reads the dataset; if not, the consumer skips loading it. */
  needsBars: boolean;
  /**
   * Whether its time goes into waiting (I/O) rather than CPU: a consumer runs such chunks side by
   * side, CPU-bound ones one after another (an isolate has one thread; interleaving them would only
   * stretch each chunk's wall time, and with it the time per task the DO sizes chunks by).
   */
  waitsOnIo: boolean;
  metrics: readonly string[];
  /** Throws ParamInvalid for a combination it cannot run; UpstreamError/InternalError otherwise. */
  run(ctx: RunContext): BacktestResult | Promise<BacktestResult>;
}
