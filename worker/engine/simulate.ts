import type { EquityPoint, TradeRecord } from "../../schema";
import { InternalError, ParamInvalid } from "../../lib/errors";
import { simpleReturns } from "./indicators";
import { metricsOf, type MetricsTotals } from "./metrics";
import type { BacktestResult, Bars, RunContext } from "./types";

/** Most points of a result's equity curve. */
export const EQUITY_POINTS = 300;

/**
 * What a strategy hands to simulate(): the position it wants after bar t is 1 (long) when
 * a[t] > b[t], else `otherwise` (0: flat, -1: short), defined for t >= first (first <= length - 2).
 * A crossover passes its two indicator series as they come from the cache; a strategy with state
 * (hysteresis) writes its wanted position into signalBuffer() and passes zeroSeries() as b.
 * NaN compares false, so an undefined value reads as `otherwise`.
 */
export interface Signal {
  a: Float64Array;
  b: Float64Array;
  otherwise: 0 | -1;
  first: number;
}

let scratch = new Float64Array(0);

/**
 * A series of at least `length` entries for computed signals, shared by every run in the isolate
 * (one buffer, not one per parameter set). A strategy fills it and hands it to simulate() in the
 * same synchronous step: the next run overwrites it. Entries before `first` are stale.
 */
export function signalBuffer(length: number): Float64Array {
  if (scratch.length < length) scratch = new Float64Array(Math.max(length, 2 * scratch.length));
  return scratch;
}

/** Zeros, one per bar, computed once per series cache: the b of a signal held in signalBuffer(). */
export const zeroSeries = (ctx: RunContext): Float64Array => ctx.cache.get("zero", () => new Float64Array(ctx.bars.length));

/** Close-to-close returns of the bars, computed once per series cache. */
export const closeReturns = (ctx: RunContext): Float64Array => ctx.cache.get("ret:close", () => simpleReturns(ctx.bars.close));

/**
 * The two legs of a bar on which the position changes: `gap[t]` is earned by the old position,
 * `hold[t]` by the new one. Fills at the close: 0 and close_t / close_{t-1} - 1. Fills at the next
 * open: open_t / close_{t-1} - 1 and close_t / open_t - 1. Cached per series cache.
 */
function legs(ctx: RunContext, nextOpen: boolean): { gap: Float64Array; hold: Float64Array } {
  if (!nextOpen) return { gap: zeroSeries(ctx), hold: closeReturns(ctx) };
  const { open, close, length } = ctx.bars;
  return {
    gap: ctx.cache.get("ret:close-open", () => {
      const out = new Float64Array(length);
      for (let t = 1; t < length; t++) out[t] = (open[t] as number) / (close[t - 1] as number) - 1;
      return out;
    }),
    hold: ctx.cache.get("ret:open-close", () => {
      const out = new Float64Array(length);
      for (let t = 0; t < length; t++) {
        const o = open[t] as number;
        // Retrying would not help: the data cannot fill at its opens.
        if (!(o > 0) || !Number.isFinite(o)) {
          throw new ParamInvalid(`execution "next-open" needs positive opens; bar ${t} (${new Date(ctx.bars.time[t] as number).toISOString().slice(0, 10)}) has open ${o}`);
        }
        out[t] = (close[t] as number) / o - 1;
      }
      return out;
    }),
  };
}

/** The loop's inputs, resolved once per run. */
interface Run {
  /** Close-to-close returns. */
  ret: Float64Array;
  /** See legs(). */
  gap: Float64Array;
  hold: Float64Array;
  a: Float64Array;
  b: Float64Array;
  otherwise: number;
  first: number;
  n: number;
  /** (feeBps + slippageBps) / 10000 */
  cost: number;
  /** Fills at the next open (else at the close). */
  nextOpen: boolean;
}

/**
 * Turns a signal into positions, bar returns and metrics (plus, unless ctx.detail is false, the
 * equity curve and the trade list). Every strategy ends here.
 *
 * s_t (see Signal: 1 or `otherwise`, so a run is long/flat or long/short) is the position wanted
 * from the information of bars 0..t. The position held during bar t is p_t = s_{t-1} for t > first,
 * and p_first = 0. Bars t = first+1 .. length-1 are counted. With c = (feeBps + slippageBps) / 10000 charged on the traded fraction of equity:
 *
 * - execution "close" (fills at the close of the signal's bar):
 *   r_t = p_t * (close_t / close_{t-1} - 1) - c * |p_t - p_{t-1}|.
 * - execution "next-open" (fills at the open of the next bar): a bar whose position does not change
 *   returns as with "close", r_t = p_t * (close_t / close_{t-1} - 1). On a bar where it changes, the
 *   old position is held from the previous close to the open and the new one from the open to the
 *   close: r_t = p_{t-1} * (open_t / close_{t-1} - 1) + p_t * (close_t / open_t - 1) - c * |p_t - p_{t-1}|.
 *   (Exact for an entry from flat or an exit to flat; the legs add like the fee does, to first order.)
 *
 * Trades (and the trade metrics): a trade's return compounds the bars it is held and, on the bar
 * that ends it, its closing leg: the whole bar when it exits to flat; on a flip,
 * p_{t-1} * (open_t / close_{t-1} - 1) (next-open; 0 with close) - c * |p_{t-1}|, the rest of the
 * bar going to the new trade. Under "close" a trade is entered at the close of bar t-1 (time and
 * price) when bar t is its first, and exits at the close of bar t-1 when bar t ends it; under
 * "next-open" both are at the open of bar t.
 *
 * A bar that takes equity to 0 or below wipes the account out: its return counts as -1, the trade
 * open after it is liquidated at its close (return -1), and no later bar counts (see MetricsAccumulator).
 */
export function simulate(ctx: RunContext, signal: Signal, equityPoints = EQUITY_POINTS): BacktestResult {
  const n = ctx.bars.length;
  const { a, b, first } = signal;
  if (!Number.isInteger(first) || first < 0 || first > n - 2 || a.length < n || b.length < n) {
    throw new InternalError(`simulate: bad signal (first ${first}, series of ${a.length} and ${b.length}) for ${n} bars`);
  }
  const { feeBps, slippageBps, execution } = ctx.options;
  const nextOpen = execution === "next-open";
  const run: Run = {
    ret: closeReturns(ctx),
    ...legs(ctx, nextOpen),
    a,
    b,
    otherwise: signal.otherwise < 0 ? -1 : 0,
    first,
    n,
    cost: (feeBps + slippageBps) / 10_000,
    nextOpen,
  };
  const totals = countedTotals(run);
  const metrics = metricsOf(totals, ctx.bars.annualisation.barsPerYear);
  if (ctx.detail === false) return { metrics };
  return { metrics, ...details(run, ctx.bars, equityPoints, totals.n) };
}

/**
 * The hot loop: the bar returns and MetricsAccumulator's updates inlined on locals, with no
 * allocation and no call per bar. Tests check it against MetricsAccumulator fed the documented
 * returns, and against details(), which computes the returns with the same operations.
 *
 * Written for V8: every operation in the loop runs in any run with an entry and an exit (close and
 * next-open fills differ only in the legs' arrays, flips only in a value picked), so the optimised
 * code has no never-taken path left without type feedback (such a path made the loop ~35% slower).
 * Positions are -1, 0 or 1, so a change enters unless it goes flat and ends a trade unless it comes
 * from flat.
 */
function countedTotals(run: Run): MetricsTotals {
  const { ret, gap, hold, a, b, first, n, cost } = run;
  const below = run.otherwise;
  const shift = varianceShift(run);
  let sum = 0;
  let sumSq = 0;
  let downsideSq = 0;
  let equity = 1;
  let peak = 1;
  let trough = 1;
  let maxDrawdown = 0;
  let exposed = 0;
  let trades = 0;
  let closed = 0;
  let wins = 0;
  let grossProfit = 0;
  let grossLoss = 0;
  let growth = 1;
  let prev = 0;
  let counted = n - first - 1;
  let t = first + 1;
  for (; t < n; t++) {
    const p = (a[t - 1] as number) > (b[t - 1] as number) ? 1 : below;
    let r: number;
    let held: number;
    if (p === prev) {
      r = p * (ret[t] as number);
      held = r;
    } else {
      const gapLeg = gap[t] as number;
      r = prev * gapLeg + p * (hold[t] as number) - cost * Math.abs(p - prev);
      held = r;
      if (prev !== 0) {
        const flipLeg = prev * gapLeg - cost * Math.abs(prev);
        const closing = p === 0 ? r : flipLeg;
        const tradeReturn = growth * (1 + closing) - 1;
        closed++;
        if (tradeReturn > 0) {
          wins++;
          grossProfit += tradeReturn;
        } else if (tradeReturn < 0) grossLoss -= tradeReturn;
        held = r - closing;
      }
      if (p !== 0) {
        trades++;
        growth = 1;
      }
      prev = p;
    }
    equity *= 1 + r;
    // Wiped out: counted after the loop, which keeps this rare path out of the hot one.
    if (equity <= 0) break;
    const d = r - shift;
    sum += d;
    sumSq += d * d;
    const neg = r < 0 ? r : 0;
    downsideSq += neg * neg;
    if (equity > peak) {
      const dd = trough / peak - 1;
      if (dd < maxDrawdown) maxDrawdown = dd;
      peak = equity;
      trough = equity;
    } else if (equity < trough) trough = equity;
    if (p !== 0) {
      exposed++;
      growth *= 1 + held;
    }
  }
  if (t < n) {
    // Bar t wiped the account out (see MetricsAccumulator.push): it loses what was left, -1, the
    // trade open after it (the position is prev by now) is liquidated, and it is the last bar counted.
    equity = 0;
    const d = -1 - shift;
    sum += d;
    sumSq += d * d;
    downsideSq += 1;
    trough = 0;
    if (prev !== 0) {
      exposed++;
      closed++;
      grossLoss += 1;
    }
    counted = t - first;
  }
  return {
    n: counted,
    shift,
    sum,
    sumSq,
    downsideSq,
    equity,
    peak,
    trough,
    maxDrawdown,
    exposed,
    trades,
    closed,
    wins,
    grossProfit,
    grossLoss,
  };
}

/** The variance shift (see MetricsTotals): the first counted bar's return were it unchanged, near the mean in practice. */
const varianceShift = ({ a, b, ret, otherwise, first }: Run): number =>
  ((a[first] as number) > (b[first] as number) ? 1 : otherwise) * (ret[first + 1] as number);

/**
 * The k-th (k from 0) of at most `max` (>= 2) indices of `count` points, evenly spaced, strictly
 * increasing, always the first (0) and the last (count - 1); -1 past the last one.
 */
export function pickAt(k: number, count: number, max: number): number {
  const picked = count < max ? count : max;
  if (k >= picked) return -1;
  if (count <= max) return k;
  return k === max - 1 ? count - 1 : Math.round((k * (count - 1)) / (max - 1));
}

/** All the indices of pickAt, in order. */
export function pickEvenly(count: number, max: number): number[] {
  if (!Number.isInteger(max) || max < 2) throw new InternalError(`pickEvenly: max must be an integer >= 2, got ${max}`);
  const out: number[] = [];
  for (let k = 0, i = pickAt(0, count, max); i >= 0; i = pickAt(++k, count, max)) out.push(i);
  return out;
}

/**
 * The equity curve and the trade list: a second pass over the same `count` counted bars as
 * countedTotals (the same operations, so the curve ends at exactly 1 + totalReturn and closed
 * trades match winRate). Allocates the curve's points and one record per trade; the open trade
 * lives in locals.
 */
function details(run: Run, bars: Bars, equityPoints: number, count: number): { equity: EquityPoint[]; trades: TradeRecord[] } {
  const { ret, gap, hold, a, b, first, cost, nextOpen } = run;
  const below = run.otherwise;
  const { open, close, time } = bars;
  // The curve: equity 1 at the close of bar `first` (before any counted return), then at most
  // equityPoints - 1 counted bars, evenly spaced, always the first and the last.
  const max = Math.max(2, Math.floor(equityPoints) - 1);
  const curve: EquityPoint[] = [[time[first] as number, 1]];
  let pick = 0;
  let pickBar = first + 1 + pickAt(0, count, max);
  const trades: TradeRecord[] = [];
  // The open trade: side 0 when there is none.
  let side = 0;
  let entryTime = 0;
  let entryPrice = 0;
  let growth = 1;
  let equity = 1;
  let prev = 0;
  const last = first + count;
  for (let t = first + 1; t <= last; t++) {
    const p = (a[t - 1] as number) > (b[t - 1] as number) ? 1 : below;
    let r: number;
    let held: number;
    if (p === prev) {
      r = p * (ret[t] as number);
      held = r;
    } else {
      const gapLeg = gap[t] as number;
      r = prev * gapLeg + p * (hold[t] as number) - cost * Math.abs(p - prev);
      held = r;
      // An exit or entry on this bar fills here.
      const fillTime = nextOpen ? (time[t] as number) : (time[t - 1] as number);
      const fillPrice = nextOpen ? (open[t] as number) : (close[t - 1] as number);
      if (prev !== 0) {
        const flipLeg = prev * gapLeg - cost * Math.abs(prev);
        const closing = p === 0 ? r : flipLeg;
        trades.push({
          side: side > 0 ? 1 : -1,
          entryTime,
          entryPrice,
          exitTime: fillTime,
          exitPrice: fillPrice,
          return: growth * (1 + closing) - 1,
        });
        side = 0;
        held = r - closing;
      }
      if (p !== 0) {
        side = p;
        entryTime = fillTime;
        entryPrice = fillPrice;
        growth = 1;
      }
      prev = p;
    }
    equity *= 1 + r;
    if (side !== 0) growth *= 1 + held;
    // Wiped out: countedTotals stopped counting here, and liquidated the open trade.
    if (equity <= 0) {
      equity = 0;
      if (side !== 0) {
        trades.push({ side: side > 0 ? 1 : -1, entryTime, entryPrice, exitTime: time[t] as number, exitPrice: close[t] as number, return: -1 });
        side = 0;
      }
    }
    if (t === pickBar) {
      curve.push([time[t] as number, equity]);
      const next = pickAt(++pick, count, max);
      pickBar = next < 0 ? -1 : first + 1 + next;
    }
  }
  if (side !== 0) trades.push({ side: side > 0 ? 1 : -1, entryTime, entryPrice, exitTime: null, exitPrice: null, return: growth - 1 });
  return { equity: curve, trades };
}
