import { InternalError } from "../errors";

/** Daily bars: annualisation factor of returns and of their variance. */
export const BARS_PER_YEAR = 252;
/** profitFactor when closed trades made money and lost none (Infinity is not JSON). */
export const PROFIT_FACTOR_NO_LOSS = 999;

/** Over counted bar returns r_1..r_n (n >= 1), 252 bars a year. */
export type PerformanceMetrics = {
  /** prod(1 + r_t) - 1 */
  totalReturn: number;
  /** (1 + totalReturn)^(252 / n) - 1; -1 once equity is wiped out (a fractional power of a negative is NaN) */
  cagr: number;
  /** sampleStd(r) * sqrt(252), sample std with an n-1 denominator; 0 when n < 2 */
  volatility: number;
  /** mean(r) / sampleStd(r) * sqrt(252); 0 when the std is 0 or n < 2 */
  sharpe: number;
  /** mean(r) / downsideDev * sqrt(252), downsideDev = sqrt(sum(min(r, 0)^2) / n); 0 when downsideDev is 0 */
  sortino: number;
  /** min over t of equity_t / max_{s<=t} equity_s - 1, equity_t = prod_{s<=t}(1 + r_s) from 1 before the first bar; <= 0 */
  maxDrawdown: number;
  /** cagr / |maxDrawdown|; 0 when maxDrawdown is 0 */
  calmar: number;
  /** Entries: the position going from flat to nonzero, or flipping sign. */
  trades: number;
  /** Winning closed trades / closed trades; 0 when none. A trade's return is prod(1 + r) over its bars - 1. */
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
 * Performance metrics over counted bar returns r_1..r_n and the positions held during them,
 * accumulated in one pass with no per-bar allocation (it runs inside grid-search hot loops).
 * The position before the first counted bar is flat.
 */
export class MetricsAccumulator {
  private n = 0;
  // Welford's running mean and sum of squared deviations: stable where sum/sum-of-squares is not.
  private mean = 0;
  private m2 = 0;
  private downsideSq = 0;
  private equity = 1;
  private peak = 1;
  private maxDrawdown = 0;
  private exposed = 0;
  private position = 0;
  private trades = 0;
  private tradeGrowth = 1;
  private closed = 0;
  private wins = 0;
  private grossProfit = 0;
  private grossLoss = 0;

  /** Adds bar return r, earned while holding `position` (its sign is the side, 0 is flat). */
  push(r: number, position: number): void {
    const n = ++this.n;
    const delta = r - this.mean;
    this.mean += delta / n;
    this.m2 += delta * (r - this.mean);
    if (r < 0) this.downsideSq += r * r;

    this.equity *= 1 + r;
    if (this.equity > this.peak) this.peak = this.equity;
    else {
      const dd = this.equity / this.peak - 1;
      if (dd < this.maxDrawdown) this.maxDrawdown = dd;
    }

    const prev = this.position;
    if (position !== prev) {
      const enters = position !== 0 && (prev === 0 || position > 0 !== prev > 0);
      if (prev !== 0 && (position === 0 || enters)) this.closeTrade();
      if (enters) {
        this.trades++;
        this.tradeGrowth = 1;
      }
      this.position = position;
    }
    if (position !== 0) {
      this.exposed++;
      this.tradeGrowth *= 1 + r;
    }
  }

  private closeTrade(): void {
    const ret = this.tradeGrowth - 1;
    this.closed++;
    if (ret > 0) {
      this.wins++;
      this.grossProfit += ret;
    } else if (ret < 0) this.grossLoss -= ret;
  }

  /** The metrics so far (see PerformanceMetrics); a trade still open at the last bar is not a closed trade. */
  finish(): PerformanceMetrics {
    const n = this.n;
    if (n === 0) throw new InternalError("metrics: no bars counted");
    const annual = Math.sqrt(BARS_PER_YEAR);
    const sd = n < 2 ? 0 : Math.sqrt(this.m2 / (n - 1));
    const downsideDev = Math.sqrt(this.downsideSq / n);
    const cagr = this.equity <= 0 ? -1 : Math.pow(this.equity, BARS_PER_YEAR / n) - 1;
    return {
      totalReturn: this.equity - 1,
      cagr,
      volatility: sd * annual,
      sharpe: sd === 0 ? 0 : (this.mean / sd) * annual,
      sortino: downsideDev === 0 ? 0 : (this.mean / downsideDev) * annual,
      maxDrawdown: this.maxDrawdown,
      calmar: this.maxDrawdown === 0 ? 0 : cagr / -this.maxDrawdown,
      trades: this.trades,
      winRate: this.closed === 0 ? 0 : this.wins / this.closed,
      profitFactor:
        this.grossLoss === 0 ? (this.grossProfit > 0 ? PROFIT_FACTOR_NO_LOSS : 0) : this.grossProfit / this.grossLoss,
      exposure: this.exposed / n,
    };
  }
}
