/**
 * npm run bench: the engine, a plain typed-array loop (the limit) and grademark, side by side on
 * the same data (sp500: its first 2500 bars, then all 5105) and the same sma-crossover grid.
 * It first checks that the engine and the plain loop agree on every combination (totalReturn and
 * sharpe to 1e-9 relative) and exits 1 if not; then prints ns per bar (run time / (combinations x
 * bars in the dataset)), combinations per second, and the ratios. Grademark runs a time-boxed,
 * evenly spread sample of the grid (it is thousands of times slower) and only its speed and trade
 * counts are compared: its rules differ (next-open fills, a bar's pause after each fill).
 * Runs under Node 22 through tsx; reads the CSV from node_modules by path.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DataFrame, Series } from "data-forge";
import { analyze, backtest, type IBar, type IStrategy } from "grademark";
import { parseOhlcvCsv } from "../worker/datasets/ohlcv-csv";
import { sma } from "../worker/engine/indicators";
import { runBacktest } from "../worker/engine/run-backtest";
import { createSeriesCache } from "../worker/engine/series-cache";
import { smaCrossover } from "../worker/engine/strategies/sma-crossover";
import type { Bars, RunContext } from "../worker/engine/types";
import type { BacktestOptions } from "../schema";
import { checkAgreement, type RunPair } from "./check";
import { plainSmaCrossover } from "./plain";

const CSV = fileURLToPath(new URL("../node_modules/vega-datasets/data/sp500-2000.csv", import.meta.url));
/** Each timed measurement repeats whole grid passes for at least this long and keeps the fastest pass. */
const MIN_MS = Number(process.env.BENCH_MIN_MS ?? 1500);
/** Grademark's time box per dataset size. */
const GRADEMARK_MS = Number(process.env.BENCH_GRADEMARK_MS ?? 12_000);
const TOLERANCE = 1e-9;

const GRID: { fast: number; slow: number }[] = [];
for (let fast = 2; fast <= 50; fast += 2) for (let slow = 10; slow <= 250; slow += 10) if (fast < slow) GRID.push({ fast, slow });

const slice = (bars: Bars, length: number): Bars => ({
  length,
  time: bars.time.subarray(0, length),
  open: bars.open.subarray(0, length),
  high: bars.high.subarray(0, length),
  low: bars.low.subarray(0, length),
  close: bars.close.subarray(0, length),
  volume: bars.volume.subarray(0, length),
  // The first years of daily S&P 500 data: trading days, like the whole (252 a year, as bench/plain.ts annualises).
  annualisation: bars.annualisation,
});

/**
 * The fastest pass of each, in ms. Passes take turns (a, b, c, a, b, c...) for at least MIN_MS
 * after a warm-up, so a busy machine slows all of them alike and the ratios stay fair.
 */
async function timeTogether(passes: Record<string, () => unknown>): Promise<Record<string, number>> {
  const names = Object.keys(passes);
  for (let i = 0; i < 5; i++) for (const name of names) await passes[name]!();
  const best: Record<string, number> = Object.fromEntries(names.map((name) => [name, Infinity]));
  const until = performance.now() + MIN_MS * names.length;
  let rounds = 0;
  while (rounds < 5 || performance.now() < until) {
    for (const name of names) {
      const t0 = performance.now();
      await passes[name]!();
      best[name] = Math.min(best[name]!, performance.now() - t0);
    }
    rounds++;
  }
  return best;
}

const CLOSE: BacktestOptions = { feeBps: 0, slippageBps: 0, execution: "close" };

async function benchSize(all: Bars, length: number): Promise<boolean> {
  const bars = slice(all, length);
  const cache = createSeriesCache();
  const ctxOf = (fast: number, slow: number, options = CLOSE, detail = false): RunContext => ({
    bars,
    params: { fast, slow },
    attempt: 1,
    cache,
    options,
    detail,
  });

  // The plain loop's own precomputations: each window once, returns once.
  const smas = new Map<number, Float64Array>();
  const smaOf = (w: number): Float64Array => {
    let s = smas.get(w);
    if (!s) smas.set(w, (s = sma(bars.close, w)));
    return s;
  };
  const ret = new Float64Array(length);
  for (let t = 1; t < length; t++) ret[t] = bars.close[t]! / bars.close[t - 1]! - 1;
  const plain = (fast: number, slow: number) => plainSmaCrossover(ret, smaOf(fast), smaOf(slow), slow);

  // Correctness first.
  const pairs: RunPair[] = [];
  for (const { fast, slow } of GRID) {
    const { metrics } = await runBacktest(smaCrossover, ctxOf(fast, slow));
    pairs.push({ label: `fast=${fast} slow=${slow}`, a: metrics, b: { ...plain(fast, slow) } });
  }
  const mismatches = checkAgreement(pairs, ["totalReturn", "sharpe"], TOLERANCE);
  const allMismatches = checkAgreement(pairs, Object.keys(pairs[0]!.b), TOLERANCE);
  console.log(
    `\n== sp500, first ${length} bars; grid fast 2..50 step 2 x slow 10..250 step 10, fast < slow: ${GRID.length} combinations`,
  );
  console.log(
    `check engine vs plain, ${GRID.length} combinations, totalReturn and sharpe to ${TOLERANCE} relative: ${mismatches.length === 0 ? "OK" : `${mismatches.length} MISMATCHES`}` +
      ` (all 11 metrics: ${allMismatches.length === 0 ? "agree too" : `${allMismatches.length} differ`})`,
  );
  if (mismatches.length > 0) {
    for (const m of mismatches.slice(0, 10)) console.error(`  ${m.label} ${m.metric}: engine ${m.a} plain ${m.b} (rel ${m.relError})`);
    return false;
  }

  let sink = 0;
  const times = await timeTogether({
    engine: async () => {
      for (const { fast, slow } of GRID) sink += (await runBacktest(smaCrossover, ctxOf(fast, slow))).metrics.sharpe!;
    },
    plain: () => {
      for (const { fast, slow } of GRID) sink += plain(fast, slow).sharpe;
    },
    detail: async () => {
      for (const { fast, slow } of GRID) sink += (await runBacktest(smaCrossover, ctxOf(fast, slow, CLOSE, true))).metrics.sharpe!;
    },
  });
  const { engine: engineMs, plain: plainMs, detail: detailMs } = times as { engine: number; plain: number; detail: number };
  if (Number.isNaN(sink)) console.log("(sink)");

  // Grademark: the same bars as a data-forge DataFrame, the SMAs as columns, backtest then analyze.
  const rows = Array.from({ length }, (_, i) => ({
    time: new Date(bars.time[i]!),
    open: bars.open[i]!,
    high: bars.high[i]!,
    low: bars.low[i]!,
    close: bars.close[i]!,
    volume: bars.volume[i]!,
  }));
  const base = new DataFrame(rows);
  type SmaBar = IBar & { fast: number; slow: number };
  const strategy: IStrategy<SmaBar> = {
    entryRule: (enter, args) => {
      if (args.bar.fast > args.bar.slow) enter();
    },
    exitRule: (exit, args) => {
      if (!(args.bar.fast > args.bar.slow)) exit();
    },
  };
  const grademarkRun = (fast: number, slow: number) => {
    const input = base.withSeries("fast", new Series(smaOf(fast))).withSeries("slow", new Series(smaOf(slow)));
    const trades = backtest(strategy, input as never);
    analyze(1, trades);
    return trades.length;
  };
  // A sample spread over the grid, as much as the time box allows (at least 3 combinations).
  const order = spread(GRID.length);
  const gmTrades: number[] = [];
  const gmIdx: number[] = [];
  grademarkRun(GRID[0]!.fast, GRID[0]!.slow); // warm-up
  const g0 = performance.now();
  for (const i of order) {
    const { fast, slow } = GRID[i]!;
    gmTrades.push(grademarkRun(fast, slow));
    gmIdx.push(i);
    if (gmIdx.length >= 3 && performance.now() - g0 > GRADEMARK_MS) break;
  }
  const gmMs = performance.now() - g0;

  // Trade counts. Grademark fills at the next open, and after each fill it skips a bar's rules (no
  // exit check on the entry bar, no entry check on the exit bar), so it misses crosses one bar
  // apart. gmRules replays those rules on the same SMAs to show that this is the whole difference.
  let sameEngine = 0;
  let sameRules = 0;
  let maxDiff = 0;
  for (const [k, i] of gmIdx.entries()) {
    const { fast, slow } = GRID[i]!;
    const engine = (await runBacktest(smaCrossover, ctxOf(fast, slow, { ...CLOSE, execution: "next-open" }))).metrics.trades!;
    if (engine === gmTrades[k]) sameEngine++;
    if (gmRules(smaOf(fast), smaOf(slow)) === gmTrades[k]) sameRules++;
    maxDiff = Math.max(maxDiff, Math.abs(engine - gmTrades[k]!));
  }

  const combos = GRID.length;
  const nsPerBar = (ms: number, runs: number) => (ms * 1e6) / (runs * length);
  const perSec = (ms: number, runs: number) => (runs / ms) * 1000;
  const row = (name: string, ms: number, runs: number) =>
    console.log(`${name.padEnd(34)} ${nsPerBar(ms, runs).toFixed(2).padStart(10)} ns/bar ${Math.round(perSec(ms, runs)).toLocaleString("en-US").padStart(10)} combinations/s`);
  row("plain typed-array loop (limit)", plainMs, combos);
  row("engine (runBacktest, detail off)", engineMs, combos);
  row("engine (detail on: equity, trades)", detailMs, combos);
  row(`grademark 0.3.0 (${gmIdx.length} of ${combos} combos)`, gmMs, gmIdx.length);
  const enginePerCombo = engineMs / combos;
  const gmPerCombo = gmMs / gmIdx.length;
  const ratioPlain = engineMs / plainMs;
  const ratioGm = gmPerCombo / enginePerCombo;
  console.log(`engine / plain: ${ratioPlain.toFixed(2)}x (goal <= 1.5x: ${ratioPlain <= 1.5 ? "met" : "NOT met"})`);
  console.log(`grademark / engine: ${Math.round(ratioGm).toLocaleString("en-US")}x (goal > 100x: ${ratioGm > 100 ? "met" : "NOT met"})`);
  console.log(
    `trade counts vs grademark on its ${gmIdx.length} combinations: engine equal on ${sameEngine} (max difference ${maxDiff}); grademark's own rules replayed on the same SMAs equal on ${sameRules}`,
  );
  return true;
}

/** Entries under grademark's state machine (none -> enter -> position -> exit -> none, one state per bar). */
function gmRules(fast: Float64Array, slow: Float64Array): number {
  let state: "none" | "enter" | "position" | "exit" = "none";
  let entries = 0;
  for (let i = 0; i < fast.length; i++) {
    const up = fast[i]! > slow[i]!;
    if (state === "none") state = up ? "enter" : "none";
    else if (state === "enter") {
      entries++;
      state = "position";
    } else if (state === "position") state = up ? "position" : "exit";
    else state = "none";
  }
  return entries;
}

/** 0..count-1 in an order that spreads any prefix over the range (bit-reversal-like halving). */
function spread(count: number): number[] {
  const seen = new Set<number>();
  const out: number[] = [];
  for (let parts = 1; out.length < count; parts *= 2) {
    for (let k = 0; k < parts; k++) {
      const i = Math.floor(((2 * k + 1) * count) / (2 * parts));
      if (i < count && !seen.has(i)) {
        seen.add(i);
        out.push(i);
      }
    }
    if (parts > count * 2) for (let i = 0; i < count; i++) if (!seen.has(i)) (seen.add(i), out.push(i));
  }
  return out;
}

const started = performance.now();
const all = parseOhlcvCsv(readFileSync(CSV, "utf8"));
console.log(`node ${process.version}, ${all.length} bars of sp500 from ${CSV.replace(/.*node_modules/, "node_modules")}`);
let ok = true;
for (const length of (process.env.BENCH_SIZES ?? `2500,${all.length}`).split(",").map(Number)) ok = (await benchSize(all, length)) && ok;
console.log(`\ndone in ${((performance.now() - started) / 1000).toFixed(1)} s`);
process.exit(ok ? 0 : 1);
