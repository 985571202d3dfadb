/**
 * The limit the engine is measured against: the SMA crossover (long/flat, fills at the close, no
 * fees) and all eleven metrics written as one plain loop over typed arrays, with locals only. It
 * shares the engine's precomputations (each SMA window once, close-to-close returns once), so the
 * difference is what the engine's structure costs: params, cache lookups, the signal buffer, the
 * shared simulator. Pure: no I/O, so tests can run it in workerd.
 */
export interface PlainMetrics {
  totalReturn: number;
  cagr: number;
  volatility: number;
  sharpe: number;
  sortino: number;
  maxDrawdown: number;
  calmar: number;
  trades: number;
  winRate: number;
  profitFactor: number;
  exposure: number;
}

/** `ret[t]` = close_t / close_{t-1} - 1; `fastSma`, `slowSma` the SMAs of closes; counts bars slow .. n-1. */
export function plainSmaCrossover(ret: Float64Array, fastSma: Float64Array, slowSma: Float64Array, slow: number): PlainMetrics {
  const n = ret.length;
  let sum = 0;
  let sumSq = 0;
  let downSq = 0;
  let equity = 1;
  let peak = 1;
  let trough = 1;
  let maxDrawdown = 0;
  let prev = 0;
  let trades = 0;
  let exposed = 0;
  let growth = 1;
  let closed = 0;
  let wins = 0;
  let profit = 0;
  let loss = 0;
  let t = slow;
  for (; t < n; t++) {
    const p = fastSma[t - 1]! > slowSma[t - 1]! ? 1 : 0;
    const r = p * ret[t]!;
    equity *= 1 + r;
    if (equity <= 0) break;
    sum += r;
    sumSq += r * r;
    const neg = r < 0 ? r : 0;
    downSq += neg * neg;
    if (equity > peak) {
      const dd = trough / peak - 1;
      if (dd < maxDrawdown) maxDrawdown = dd;
      peak = equity;
      trough = equity;
    } else if (equity < trough) trough = equity;
    if (p !== prev) {
      if (p === 1) {
        trades++;
        growth = 1;
      } else {
        const x = growth - 1;
        closed++;
        if (x > 0) {
          wins++;
          profit += x;
        } else if (x < 0) loss -= x;
      }
      prev = p;
    }
    if (p === 1) {
      exposed++;
      growth *= 1 + r;
    }
  }
  let count = n - slow;
  if (t < n) {
    // Wiped out on bar t: it loses what was left, the long (only a long can lose) is liquidated,
    // and no later bar counts.
    equity = 0;
    sum -= 1;
    sumSq += 1;
    downSq += 1;
    trough = 0;
    exposed++;
    if (prev === 0) trades++;
    closed++;
    loss += 1;
    count = t - slow + 1;
  }
  const dd = trough / peak - 1;
  if (dd < maxDrawdown) maxDrawdown = dd;
  const mean = sum / count;
  const m2 = sumSq - sum * mean;
  const sd = count < 2 || !(m2 > 0) ? 0 : Math.sqrt(m2 / (count - 1));
  const down = Math.sqrt(downSq / count);
  const annual = Math.sqrt(252);
  const cagr = equity <= 0 ? -1 : Math.pow(equity, 252 / count) - 1;
  return {
    totalReturn: equity - 1,
    cagr,
    volatility: sd * annual,
    sharpe: sd === 0 ? 0 : (mean / sd) * annual,
    sortino: down === 0 ? 0 : (mean / down) * annual,
    maxDrawdown,
    calmar: maxDrawdown === 0 ? 0 : cagr / -maxDrawdown,
    trades,
    winRate: closed === 0 ? 0 : wins / closed,
    profitFactor: loss === 0 ? (profit > 0 ? 999 : 0) : profit / loss,
    exposure: exposed / count,
  };
}
