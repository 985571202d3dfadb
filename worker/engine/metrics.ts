import { BARS_PER_YEAR } from "../../schema/dataset";
import { InternalError } from "../../lib/errors";

/** profitFactor when closed trades made money and lost none (Infinity is not JSON). */
export const PROFIT_FACTOR_NO_LOSS = 999;

/**
 * Over counted bar returns r_1..r_n (n >= 1), with Y bars a year (from the dataset's spacing, see
 * Annualisation: 252 for trading days). A bar that takes equity to 0 or
 * below wipes the account out: it is the last counted bar, and its return counts as -1.
 */
export type PerformanceMetrics = {
  /** prod(1 + r_t) - 1 */
  totalReturn: number;
  /** (1 + totalReturn)^(Y / n) - 1; -1 once equity is wiped out (a fractional power of a negative is NaN) */
  cagr: number;
  /** sampleStd(r) * sqrt(Y), sample std with an n-1 denominator; 0 when n < 2 */
  volatility: number;
  /** mean(r) / sampleStd(r) * sqrt(Y); 0 when the std is 0 or n < 2 */
  sharpe: number;
  /** mean(r) / downsideDev * sqrt(Y), downsideDev = sqrt(sum(min(r, 0)^2) / n); 0 when downsideDev is 0 */
  sortino: number;
  /** min over t of equity_t / max_{s<=t} equity_s - 1, equity_t = prod_{s<=t}(1 + r_s) from 1 before the first bar; <= 0 */
  maxDrawdown: number;
  /** cagr / |maxDrawdown|; 0 when maxDrawdown is 0 */
  calmar: number;
  /** Entries: the position going from flat to nonzero, or flipping sign. */
  trades: number;
  /**
   * Winning closed trades / closed trades; 0 when none. A trade's return is prod(1 + r) over its
   * bars - 1, its bars being those it is held plus its share of the bar that ends it (see MetricsAccumulator).
   */
  winRate: number;
  /** Gross profit / gross loss of closed trades; 999 when something was won and nothing lost, 0 when neither */
  profitFactor: number;
  /** Share of counted bars held with a nonzero position. */
  exposure: number;
};

export const PERFORMANCE_METRICS = [
  "totalReturn",
  "cagr",
  "volatility",
  "sharpe",
  "sortino",
  "maxDrawdown",
  "calmar",
  "trades",
  "winRate",
  "profitFactor",
  "exposure",
] as const satisfies readonly (keyof PerformanceMetrics)[];

/**
 * What the metrics are computed from: running totals over the counted bars. Both the streaming
 * MetricsAccumulator and the simulator's inlined hot loop (simulate.ts) keep these totals with the
 * same floating-point operations, so they produce the same bits.
 */
export interface MetricsTotals {
  /** Counted bars. */
  n: number;
  /** Variance shift K: sum and sumSq are of (r - K); K near the mean keeps them exact enough. */
  shift: number;
  sum: number;
  sumSq: number;
  /** sum(min(r, 0)^2) */
  downsideSq: number;
  /** prod(1 + r) */
  equity: number;
  /** The running peak of equity and the lowest equity since it. */
  peak: number;
  trough: number;
  /** Worst drawdown of the peaks before the current one (the current one is trough / peak - 1). */
  maxDrawdown: number;
  exposed: number;
  trades: number;
  closed: number;
  wins: number;
  grossProfit: number;
  grossLoss: number;
}

/** The metrics of the totals (see PerformanceMetrics), annualised with `barsPerYear`. */
export function metricsOf(totals: MetricsTotals, barsPerYear: number): PerformanceMetrics {
  const { n, sum } = totals;
  if (n === 0) throw new InternalError("metrics: no bars counted");
  const annual = Math.sqrt(barsPerYear);
  const mean = totals.shift + sum / n;
  // Shifted sums: m2 = sum((r - K)^2) - (sum(r - K))^2 / n; the clamp absorbs rounding below 0.
  const m2 = totals.sumSq - (sum * sum) / n;
  const sd = n < 2 || !(m2 > 0) ? 0 : Math.sqrt(m2 / (n - 1));
  const downsideDev = Math.sqrt(totals.downsideSq / n);
  const equity = totals.equity;
  const cagr = equity <= 0 ? -1 : Math.pow(equity, barsPerYear / n) - 1;
  const current = totals.trough / totals.peak - 1;
  const maxDrawdown = current < totals.maxDrawdown ? current : totals.maxDrawdown;
  return {
    totalReturn: equity - 1,
    cagr,
    volatility: sd * annual,
    sharpe: sd === 0 ? 0 : (mean / sd) * annual,
    sortino: downsideDev === 0 ? 0 : (mean / downsideDev) * annual,
    maxDrawdown,
    calmar: maxDrawdown === 0 ? 0 : cagr / -maxDrawdown,
    trades: totals.trades,
    winRate: totals.closed === 0 ? 0 : totals.wins / totals.closed,
    profitFactor:
      totals.grossLoss === 0 ? (totals.grossProfit > 0 ? PROFIT_FACTOR_NO_LOSS : 0) : totals.grossProfit / totals.grossLoss,
    exposure: totals.exposed / n,
  };
}

/**
 * Performance metrics over counted bar returns r_1..r_n and the positions held during them,
 * accumulated in one pass with no per-bar allocation. The position before the first counted bar
 * is flat. The simulator inlines the same updates in its metrics-only loop (simulate.ts); this
 * class is the readable reference and serves the detail path.
 *
 * Trades: a trade is entered when the position goes from flat to nonzero or flips sign, and ends
 * on the bar whose position is flat or of the other sign. Its return compounds the returns of the
 * bars it is held and, on the bar that ends it, the part of that bar's return that belongs to it
 * (`closing` in push: exit costs and, with next-open fills, the move from the previous close to the
 * exit fill). A bar that ends a trade by going flat belongs to it entirely.
 *
 * Wipe-out: the push that takes equity to 0 or below is the last one counted (later pushes are
 * ignored), its return counts as -1, and a trade still open after it closes with return -1.
 */
export class MetricsAccumulator {
  private readonly totals: MetricsTotals;
  private position = 0;
  private tradeGrowth = 1;
  private wipedOut = false;

  /** `shift`: the variance shift (see MetricsTotals); by default the first pushed return. */
  constructor(private readonly shift = NaN) {
    this.totals = {
      n: 0,
      shift: 0,
      sum: 0,
      sumSq: 0,
      downsideSq: 0,
      equity: 1,
      peak: 1,
      trough: 1,
      maxDrawdown: 0,
      exposed: 0,
      trades: 0,
      closed: 0,
      wins: 0,
      grossProfit: 0,
      grossLoss: 0,
    };
  }

  /**
   * Adds bar return r, earned while holding `position` (its sign is the side, 0 is flat).
   * `closing`: the part of r that belongs to the trade this bar ends, if it ends one (ignored
   * otherwise); the rest belongs to the position held from this bar on. Default: all of r when the
   * bar goes flat, none on a flip.
   */
  push(r: number, position: number, closing = position === 0 ? r : 0): void {
    const s = this.totals;
    // A wiped-out account trades no more: no later bar counts.
    if (this.wipedOut) return;
    if (s.n === 0) s.shift = Number.isNaN(this.shift) ? r : this.shift;
    s.n++;
    s.equity *= 1 + r;
    // A loss of 100% or more (a short through a doubling, costs on a crash) wipes the account out
    // for good: it loses what it had, no more.
    if (s.equity <= 0) {
      s.equity = 0;
      r = -1;
      this.wipedOut = true;
    }
    const d = r - s.shift;
    s.sum += d;
    s.sumSq += d * d;
    const neg = r < 0 ? r : 0;
    s.downsideSq += neg * neg;

    if (s.equity > s.peak) {
      const dd = s.trough / s.peak - 1;
      if (dd < s.maxDrawdown) s.maxDrawdown = dd;
      s.peak = s.equity;
      s.trough = s.equity;
    } else if (s.equity < s.trough) s.trough = s.equity;

    let held = r;
    const prev = this.position;
    if (position !== prev) {
      const enters = position !== 0 && (prev === 0 || position > 0 !== prev > 0);
      if (prev !== 0 && (position === 0 || enters)) {
        this.closeTrade(this.tradeGrowth * (1 + closing) - 1);
        held = r - closing;
      }
      if (enters) {
        s.trades++;
        this.tradeGrowth = 1;
      }
      this.position = position;
    }
    if (position !== 0) {
      s.exposed++;
      this.tradeGrowth *= 1 + held;
      // The trade held through the wipe-out is liquidated: it lost everything.
      if (this.wipedOut) this.closeTrade(-1);
    }
  }

  private closeTrade(ret: number): void {
    const s = this.totals;
    s.closed++;
    if (ret > 0) {
      s.wins++;
      s.grossProfit += ret;
    } else if (ret < 0) s.grossLoss -= ret;
  }

  /** The metrics so far (see PerformanceMetrics); a trade still open at the last bar is not a closed trade. */
  finish(barsPerYear = BARS_PER_YEAR["daily-trading"]): PerformanceMetrics {
    return metricsOf(this.totals, barsPerYear);
  }
}
