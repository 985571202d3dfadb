import { MAX_STORED_TRADES, type Annualisation, type ResultDetail, type ResultSummary, type TradeRecord } from "../../schema";
import type { BacktestResult } from "../engine/types";

/** A fast-flipping strategy on a long series trades on most bars: keep the ends, count the rest. */
function storedTrades(trades: TradeRecord[]): Pick<ResultDetail, "trades" | "tradesOmitted"> {
  if (trades.length <= MAX_STORED_TRADES) return { trades, tradesOmitted: 0 };
  const half = MAX_STORED_TRADES / 2;
  return { trades: [...trades.slice(0, half), ...trades.slice(-half)], tradesOmitted: trades.length - MAX_STORED_TRADES };
}

/** The stored detail of a backtest run with details on (the bars' annualisation; null when it read none). */
export const resultDetailOf = (result: BacktestResult, annualisation: Annualisation | null): ResultDetail => ({
  metrics: result.metrics,
  annualisation,
  equity: result.equity ?? [],
  ...storedTrades(result.trades ?? []),
});

/** Who a summary is for: the caller's task, which a detail shared by identical runs does not name. */
export type ResultIdentity = Omit<ResultSummary, keyof ResultDetail>;

/** The summary a caller gets: its task's identity around the backtest's detail. */
export const resultSummaryOf = (identity: ResultIdentity, detail: ResultDetail): ResultSummary => ({
  id: identity.id,
  jobId: identity.jobId,
  tenant: identity.tenant,
  index: identity.index,
  attempt: identity.attempt,
  strategy: identity.strategy,
  dataset: identity.dataset,
  params: identity.params,
  ...detail,
  execMs: identity.execMs,
  createdAt: identity.createdAt,
});
