/**
 * `npm run bench:pipeline`: the whole pipeline (REST submit -> DO -> Queue -> consumer -> DO ->
 * `succeeded`) against the plain single-thread loop of bench/plain.ts, on the same grid and data.
 *
 * Starts the local stack (or uses --url, a server on 127.0.0.1), warms it up with a small job, then
 * submits the 10,000-combination `sma-crossover` grid on `sp500` (fast 2..101 x slow 110..308 step 2,
 * concurrencyLimit 64, sharpe max, topN 10) through REST and times submit to `succeeded` (status
 * polled every ~100 ms). In the same process it times the plain loop on the same combinations (the
 * same CSV parser, each SMA window once, the returns once; best of 3 passes) and checks that its best
 * Sharpe is the job's Top-N #1 (params equal, sharpe to 1e-9 relative): exit 1 if not. Prints both
 * times, combinations/s and pipeline / plain (target within 3x, reported, not enforced). Then the same
 * for a 100,000-combination grid (fast 1..200 x slow 501..1000), with the R2 objects written during
 * each job (blob files of the local R2 under .wrangler/state/v3/r2) and the job's DO storage (its
 * SQLite file under .wrangler/state/v3/do), sampled with workerd's memory while the job runs.
 *
 *   npm run bench:pipeline
 *   npm run bench:pipeline -- --skip-100k --timeout-s 300
 *   npm run bench:pipeline -- --url http://127.0.0.1:8787
 */
import { mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Job, type JobSpecInput, type TopNEntry } from "../schema";
import { parseOhlcvCsv } from "../worker/datasets/ohlcv-csv";
import { simpleReturns, sma } from "../worker/engine/indicators";
import { plainSmaCrossover } from "../bench/plain";
import { apiCall, benchMain, intFlag, isTerminal, sleep } from "./bench-common";
import { cpuByPart, startProfiler, type Part } from "./cpu-profile";

const USAGE = `Usage: npm run bench:pipeline -- [--url URL] [--timeout-s S] [--skip-100k] [--cpu-profile DIR]

  --url URL       use a running server on 127.0.0.1 (e.g. from \`npm run dev\`) instead of starting one;
                  R2 and DO storage are read from this checkout's .wrangler/state (skipped if not found)
  --timeout-s S   bound on each job, submit to its end (default 600); a job still running is canceled
  --skip-100k     run only the warm-up and the 10,000-combination grid
  --cpu-profile DIR  also save each job's CPU profile of the Worker's isolate there (.cpuprofile,
                  opens in Chrome DevTools' Performance panel); not with --url
  -h, --help      show this help`;

const { values: args } = parseArgs({
  options: {
    url: { type: "string" },
    "timeout-s": { type: "string", default: "600" },
    "skip-100k": { type: "boolean", default: false },
    "cpu-profile": { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
  strict: true,
  allowPositionals: false,
});

const API_KEY = "demo-key";
const POLL_MS = 100;
/** DO size and workerd memory are sampled at most this often while a job runs. */
const SAMPLE_MS = 1_000;
const TOLERANCE = 1e-9;
const TARGET_RATIO = 3;
const PLAIN_PASSES = 3;
/** After a job ends, how long to wait for its Top-N details to land in R2 (sent by the DO as it ends). */
const R2_SETTLE_MAX_MS = 15_000;
const R2_SETTLE_QUIET_MS = 3_000;
const CANCEL_TIMEOUT_MS = 10_000;

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const CSV = path.join(REPO_ROOT, "node_modules/vega-datasets/data/sp500-2000.csv");
const STATE = path.join(REPO_ROOT, ".wrangler/state/v3");
/** Miniflare keeps each R2 object's body as one file here (metadata in a SQLite db beside it). */
const R2_BLOBS = path.join(STATE, "r2/optimizer-results/blobs");
/** ... and each Durable Object's storage as one SQLite file (plus -wal, -shm) here. */
const DO_DIR = path.join(STATE, "do/grid-optimizer-OptimizationJob");

interface Axis {
  min: number;
  max: number;
  step: number;
}
interface Grid {
  label: string;
  fast: Axis;
  slow: Axis;
}

const WARMUP: Grid = { label: "warm-up", fast: { min: 2, max: 11, step: 1 }, slow: { min: 110, max: 128, step: 2 } };
const GRID_10K: Grid = { label: "10k", fast: { min: 2, max: 101, step: 1 }, slow: { min: 110, max: 308, step: 2 } };
const GRID_100K: Grid = { label: "100k", fast: { min: 1, max: 200, step: 1 }, slow: { min: 501, max: 1000, step: 1 } };

const axisValues = ({ min, max, step }: Axis): number[] => Array.from({ length: Math.floor((max - min) / step) + 1 }, (_, i) => min + i * step);
const axisText = ({ min, max, step }: Axis) => `${min}..${max}${step === 1 ? "" : ` step ${step}`}`;
const gridText = (g: Grid) => `fast ${axisText(g.fast)} x slow ${axisText(g.slow)}`;
/** Grid order as the job enumerates it: the last parameter (slow) varies fastest. */
const combos = (g: Grid) => axisValues(g.fast).flatMap((fast) => axisValues(g.slow).map((slow) => ({ fast, slow })));

const specOf = (g: Grid): JobSpecInput => ({
  name: `pipeline-bench ${g.label}`,
  strategy: "sma-crossover",
  dataset: "sp500",
  params: { fast: g.fast, slow: g.slow },
  // Every fast < every slow on these grids, so no constraint is needed: all combinations are accepted.
  objective: { metric: "sharpe", mode: "max" },
  topN: 10,
  concurrencyLimit: 64,
});

const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
const relErr = (a: number, b: number) => {
  const scale = Math.max(Math.abs(a), Math.abs(b));
  return scale === 0 ? 0 : Math.abs(a - b) / scale;
};

// ---------------------------------------------------------------------------------------------
// Local state: R2 blob files, DO SQLite files, workerd memory. All read-only.

function listDir(dir: string): string[] | null {
  try {
    return readdirSync(dir);
  } catch {
    return null;
  }
}

const fileSize = (file: string): number => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};

/** The DO's storage: its SQLite file and its write-ahead log (where recent writes sit until a checkpoint). */
const doBytes = (dbFile: string) => ({ db: fileSize(path.join(DO_DIR, dbFile)), wal: fileSize(path.join(DO_DIR, `${dbFile}-wal`)) });

const dirBytes = (dir: string, names: readonly string[]) => names.reduce((n, name) => n + fileSize(path.join(dir, name)), 0);

/** The workerd processes run from this checkout (wrangler dev's, ours or a --url one started here). */
function workerdPids(): string[] {
  const pids: string[] = [];
  for (const pid of listDir("/proc") ?? []) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (path.basename(readlinkSync(`/proc/${pid}/exe`)) === "workerd" && readlinkSync(`/proc/${pid}/cwd`) === REPO_ROOT) pids.push(pid);
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

/** Their resident memory, summed; null when there is none. */
function workerdRssBytes(pids: readonly string[]): number | null {
  let total: number | null = null;
  for (const pid of pids) {
    try {
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (rss) total = (total ?? 0) + Number(rss[1]) * 1024;
    } catch {
      // gone
    }
  }
  return total;
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** Their CPU time (user + system) in ms, summed; null when there is none. */
function workerdCpuMs(pids: readonly string[]): number | null {
  let total: number | null = null;
  for (const pid of pids) {
    try {
      // Fields after the ")" that ends the command name: state is field 3, utime 14, stime 15.
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      total = (total ?? 0) + ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
    } catch {
      // gone
    }
  }
  return total;
}

/** The machine's busy and total CPU time in ms, from /proc/stat (all cores). */
function machineCpuMs(): { busy: number; total: number } | null {
  try {
    const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
    const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: ((total - idle) * 1000) / CLOCK_TICKS, total: (total * 1000) / CLOCK_TICKS };
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// A job through REST, timed.

interface Sample {
  finished: number;
  doBytes: number | null;
  rss: number | null;
}

interface JobRun {
  job: Job;
  /** JavaScript CPU ms by part (CPU_PARTS) while the job ran, from a profile of the Worker's isolate; null without one. */
  cpuParts: Map<string, number> | null;
  ms: number;
  polls: number;
  samples: Sample[];
  /** The job's DO SQLite file (the one that appeared in DO_DIR when it was submitted), if found. */
  doFile: string | null;
  r2New: number | null;
  r2Before: number;
  /** workerd's CPU time during the job (ms), and the whole machine's busy share of its CPU time then. */
  cpu: { workerdMs: number | null; machineBusy: number | null; cores: number };
  /** The consumer's Queue batches during the job, from wrangler dev's log (null when there is none). */
  batches: { count: number; chunks: number; busyMs: number } | null;
}

/** wrangler dev's log, where scripts/local-stack.ts writes it for a stack on this port. */
const wranglerLog = (url: string) => path.join(REPO_ROOT, ".tmp", `wrangler-dev-${new URL(url).port}.log`);

/**
 * The lines wrangler dev printed for the consumer's batches since byte `from` of its log
 * ("QUEUE optimizer-tasks 10/10 (214ms)"): locally one batch runs at a time, so their durations add
 * up to the time the consumer was busy.
 */
function queueBatchesSince(logFile: string, from: number): JobRun["batches"] {
  let text: string;
  try {
    text = readFileSync(logFile).subarray(from).toString("utf8");
  } catch {
    return null;
  }
  let count = 0;
  let chunks = 0;
  let busyMs = 0;
  for (const m of text.matchAll(/QUEUE optimizer-tasks (\d+)\/(\d+) \((\d+)ms\)/g)) {
    count++;
    chunks += Number(m[2]);
    busyMs += Number(m[3]);
  }
  return { count, chunks, busyMs };
}

/**
 * Where workerd's JavaScript CPU goes, by the functions on each sampled stack, first match wins:
 * the backtests, the consumer around them, the job's DO (its RPC entry points and the shell's
 * steps; a status poll's DO call counted apart), the API's request handling; the rest ("other") is
 * the runtime's own: Queue broker, D1, RPC (de)serialisation, GC.
 */
const CPU_PARTS: Part[] = [
  { name: "backtests", functions: ["runBacktest"] },
  { name: "consumer", functions: ["handleQueueBatch", "handleTaskBatch", "consumeChunk", "runChunk", "runTasks", "materializeDetails"] },
  { name: "status polls", functions: ["status", "listTasks"] },
  { name: "job DO", functions: ["report", "start", "alarm", "cancel", "abandonChunk", "apply", "flushD1", "arm", "sendMaterialize"] },
  { name: "API", functions: ["fetch", "submitJob"] },
];

async function runJob(url: string, grid: Grid, timeoutS: number, log = true, inspectorPort: number | null = null): Promise<JobRun> {
  // No blob directory yet on a fresh state: nothing stored so far (the job's Top-N will create it).
  const r2Before = listDir(R2_BLOBS) ?? [];
  const doBefore = new Set(listDir(DO_DIR) ?? []);
  const logFrom = fileSize(wranglerLog(url));
  const pids = workerdPids();
  const cpu0 = workerdCpuMs(pids);
  const machine0 = machineCpuMs();
  const profiler = inspectorPort === null ? null : await startProfiler(inspectorPort).catch((err: Error) => (console.log(`  (no CPU profile: ${err.message})`), null));
  const t0 = performance.now();
  const deadline = t0 + timeoutS * 1000;
  const submitted = Job.parse(await apiCall(url, API_KEY, "POST", "/optimizations", specOf(grid)));
  let job = submitted;
  let polls = 0;
  let doFile: string | null = null;
  const samples: Sample[] = [];
  let sampledAt = -Infinity;
  let printedAt = performance.now();
  const maxPolls = Math.ceil((timeoutS * 1000) / POLL_MS) + 1;
  while (!isTerminal(job.status) && performance.now() < deadline && polls < maxPolls) {
    const pollStarted = performance.now();
    job = Job.parse(await apiCall(url, API_KEY, "GET", `/optimizations/${submitted.id}/status`));
    polls++;
    if (isTerminal(job.status)) break;
    const now = performance.now();
    if (now - sampledAt >= SAMPLE_MS) {
      sampledAt = now;
      doFile ??= (listDir(DO_DIR) ?? []).find((f) => f.endsWith(".sqlite") && !doBefore.has(f)) ?? null;
      const size = doFile ? doBytes(doFile) : null;
      samples.push({ finished: job.summary.finished, doBytes: size ? size.db + size.wal : null, rss: workerdRssBytes(pids) });
    }
    if (log && now - printedAt >= 10_000) {
      printedAt = now;
      console.log(`  · ${grid.label}: ${fmt(job.summary.finished)}/${fmt(job.summary.total)} finished, ${((now - t0) / 1000).toFixed(0)} s`);
    }
    await sleep(Math.max(0, Math.min(POLL_MS - (performance.now() - pollStarted), deadline - performance.now())));
  }
  const ms = performance.now() - t0;
  const profile = profiler ? await profiler.stop().catch(() => null) : null;
  const cpuParts = profile ? cpuByPart(profile, CPU_PARTS) : null;
  if (profile && args["cpu-profile"]) {
    mkdirSync(args["cpu-profile"], { recursive: true });
    const file = path.join(args["cpu-profile"], `${grid.label}-${submitted.id}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    console.log(`  (CPU profile: ${file})`);
  }
  const batches = queueBatchesSince(wranglerLog(url), logFrom);
  const cpu1 = workerdCpuMs(pids);
  const machine1 = machineCpuMs();
  const cpu = {
    workerdMs: cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null,
    machineBusy: machine0 && machine1 && machine1.total > machine0.total ? (machine1.busy - machine0.busy) / (machine1.total - machine0.total) : null,
    cores: os.availableParallelism(),
  };
  if (!isTerminal(job.status)) {
    console.log(`  ${grid.label}: still ${job.status} after ${timeoutS} s (${fmt(job.summary.finished)}/${fmt(job.summary.total)}): canceling it`);
    await apiCall(url, API_KEY, "POST", `/optimizations/${job.id}/cancel`, { reason: "pipeline-bench timeout" }, CANCEL_TIMEOUT_MS).catch(() => undefined);
  }
  doFile ??= (listDir(DO_DIR) ?? []).find((f) => f.endsWith(".sqlite") && !doBefore.has(f)) ?? null;
  if (doFile) {
    const size = doBytes(doFile);
    samples.push({ finished: job.summary.finished, doBytes: size.db + size.wal, rss: workerdRssBytes(pids) });
  }
  const r2Count = await r2NewObjects(new Set(r2Before), job.summary.topN.length);
  const r2New = listDir(R2_BLOBS) === null ? null : r2Count;
  return { job, ms, polls, samples, doFile, r2New, r2Before: r2Before.length, cpu, batches, cpuParts };
}

/**
 * R2 blob files that were not there before the job. The DO asks the consumer to store the Top-N's
 * details as the job ends, so they land just after `succeeded`: wait (bounded) until `expected` are
 * there or nothing has changed for a few seconds (details are content-keyed: ones an earlier run
 * stored are not written again).
 */
async function r2NewObjects(before: ReadonlySet<string>, expected: number): Promise<number> {
  const started = Date.now();
  let count = -1;
  let changedAt = Date.now();
  while (Date.now() - started < R2_SETTLE_MAX_MS) {
    const now = (listDir(R2_BLOBS) ?? []).filter((f) => !before.has(f)).length;
    if (now !== count) [count, changedAt] = [now, Date.now()];
    if (count >= expected || Date.now() - changedAt >= R2_SETTLE_QUIET_MS) break;
    await sleep(250);
  }
  return count;
}

// ---------------------------------------------------------------------------------------------
// The plain loop, in-process.

interface PlainRun {
  bestMs: number;
  passMs: number[];
  smaMs: number;
  windows: number;
  best: { index: number; fast: number; slow: number; sharpe: number };
  top: number[];
}

/** bench/plain.ts over the grid, in grid order: the SMAs once per window (not timed in the passes), best of PLAIN_PASSES. */
function runPlain(grid: Grid, close: Float64Array, ret: Float64Array, topN: number): PlainRun {
  const list = combos(grid);
  const s0 = performance.now();
  const smas = new Map<number, Float64Array>();
  for (const w of [...axisValues(grid.fast), ...axisValues(grid.slow)]) if (!smas.has(w)) smas.set(w, sma(close, w));
  const smaMs = performance.now() - s0;
  const sharpes = new Float64Array(list.length);
  const passMs: number[] = [];
  let bestIndex = -1;
  for (let pass = 0; pass < PLAIN_PASSES; pass++) {
    const t0 = performance.now();
    let best = -Infinity;
    let at = -1;
    for (let i = 0; i < list.length; i++) {
      const { fast, slow } = list[i]!;
      const sharpe = plainSmaCrossover(ret, smas.get(fast)!, smas.get(slow)!, slow).sharpe;
      sharpes[i] = sharpe;
      if (sharpe > best) [best, at] = [sharpe, i]; // ties: the lower index, as the job's Top-N
    }
    passMs.push(performance.now() - t0);
    bestIndex = at;
  }
  const top = Array.from(sharpes.keys())
    .sort((a, b) => sharpes[b]! - sharpes[a]! || a - b)
    .slice(0, topN);
  const { fast, slow } = list[bestIndex]!;
  return { bestMs: Math.min(...passMs), passMs, smaMs, windows: smas.size, best: { index: bestIndex, fast, slow, sharpe: sharpes[bestIndex]! }, top };
}

// ---------------------------------------------------------------------------------------------
// Reports.

/** Prints the comparison of one grid; false when the job failed or its #1 is not the plain loop's best. */
function report(grid: Grid, run: JobRun, plain: PlainRun): boolean {
  const { job } = run;
  const n = combos(grid).length;
  const s = job.stats;
  const serverMs = job.finishedAt ? Date.parse(job.finishedAt) - Date.parse(job.createdAt) : NaN;
  console.log(`\n== ${fmt(n)} combinations: sma-crossover on sp500, ${gridText(grid)}, concurrencyLimit 64, sharpe max, topN 10`);
  console.log(
    `job ${job.id}: ${job.status}; ${fmt(job.summary.succeeded)} succeeded, ${fmt(job.summary.failed)} failed, ${fmt(job.summary.retries)} retries (${run.polls} status polls)`,
  );
  console.log(
    `pipeline   REST submit -> ${job.status}: ${(run.ms / 1000).toFixed(2).padStart(8)} s  ${fmt((n / run.ms) * 1000).padStart(9)} combinations/s` +
      `  (server: created -> finished ${(serverMs / 1000).toFixed(2)} s)`,
  );
  console.log(
    `plain loop bench/plain.ts, best of ${PLAIN_PASSES}: ${(plain.bestMs / 1000).toFixed(3).padStart(8)} s  ${fmt((n / plain.bestMs) * 1000).padStart(9)} combinations/s` +
      `  (passes ${plain.passMs.map((ms) => ms.toFixed(0)).join(", ")} ms; ${plain.windows} SMA windows once: ${plain.smaMs.toFixed(0)} ms, not counted)`,
  );
  const ratio = run.ms / plain.bestMs;
  console.log(
    `pipeline / plain: ${ratio.toFixed(1)}x (target: within ${TARGET_RATIO}x: ${ratio <= TARGET_RATIO ? "met" : "NOT met"}; reported, not enforced: a shared 2-core machine is noisy)`,
  );
  if (s.exec.mean !== null) {
    const execTotalMs = s.exec.mean * job.summary.succeeded;
    console.log(
      `where the time goes (job stats): exec mean ${s.exec.mean.toFixed(3)} ms/task (p95 ${s.exec.p95?.toFixed(3)}), sum ${(execTotalMs / 1000).toFixed(2)} s` +
        ` = ${(execTotalMs / plain.bestMs).toFixed(1)}x the plain loop; queue wait mean ${s.queueWait.mean?.toFixed(0)} ms (p95 ${s.queueWait.p95?.toFixed(0)})`,
    );
  }
  if (run.batches && run.batches.count > 0) {
    const { count, chunks, busyMs } = run.batches;
    console.log(
      `consumer (wrangler dev log): ${count} Queue batches, ${chunks} chunk messages, busy ${(busyMs / 1000).toFixed(2)} s of the ${(run.ms / 1000).toFixed(2)} s` +
        ` (${((busyMs / plain.bestMs)).toFixed(1)}x the plain loop); idle between batches ${(Math.max(0, run.ms - busyMs) / 1000).toFixed(2)} s`,
    );
  }
  if (run.cpuParts) {
    const parts = [...run.cpuParts];
    const sum = parts.reduce((a, [, v]) => a + v, 0);
    const doMs = run.cpuParts.get("job DO") ?? 0;
    console.log(
      `workerd CPU by part (profile of the Worker's isolate, ${(sum / 1000).toFixed(2)} s sampled): ` +
        parts.map(([name, v]) => `${name} ${(v / 1000).toFixed(2)} s`).join(", ") +
        `; backtests = ${((run.cpuParts.get("backtests") ?? 0) / plain.bestMs).toFixed(1)}x the plain loop; job DO per outcome ${((doMs * 1000) / Math.max(1, job.summary.succeeded + job.summary.failed)).toFixed(0)} µs`,
    );
  }
  const { workerdMs, machineBusy, cores } = run.cpu;
  if (workerdMs !== null || machineBusy !== null) {
    console.log(
      `CPU during the job: workerd ${workerdMs === null ? "not found" : `${(workerdMs / 1000).toFixed(2)} s (${(workerdMs / run.ms).toFixed(2)} of one core)`}` +
        (machineBusy === null ? "" : `; the whole machine ${(machineBusy * 100).toFixed(0)}% busy of ${cores} cores (this bench, wrangler, and anything else running)`),
    );
  }
  storageReport(run);

  if (job.status !== "succeeded") {
    console.log(`FAIL: the job ended ${job.status}, not succeeded.`);
    return false;
  }
  const top1: TopNEntry | undefined = job.summary.topN[0];
  const b = plain.best;
  const plainText = `fast=${b.fast} slow=${b.slow} sharpe=${b.sharpe}`;
  if (!top1) {
    console.log(`FAIL: the job has no Top-N; the plain loop's best is ${plainText}.`);
    return false;
  }
  const jobSharpe = top1.metrics.sharpe ?? NaN;
  const jobText = `fast=${top1.params.fast} slow=${top1.params.slow} sharpe=${jobSharpe}`;
  const same = top1.params.fast === b.fast && top1.params.slow === b.slow && top1.index === b.index && relErr(jobSharpe, b.sharpe) <= TOLERANCE && relErr(top1.score, b.sharpe) <= TOLERANCE;
  const topAgree = plain.top.filter((index, i) => job.summary.topN[i]?.index === index).length;
  console.log(
    `check: plain best ${plainText} vs job Top-N #1 ${jobText} (rel ${relErr(jobSharpe, b.sharpe).toExponential(1)}): ${same ? "OK" : "MISMATCH"}` +
      `; Top-${plain.top.length} in the same order: ${topAgree}/${plain.top.length}`,
  );
  return same;
}

function storageReport(run: JobRun): void {
  const n = run.job.summary.total;
  if (run.r2New === null) console.log(`R2: skipped (no local R2 blobs at ${path.relative(REPO_ROOT, R2_BLOBS)}: a --url server with its state elsewhere?)`);
  else
    console.log(
      `R2 objects written during the job: ${run.r2New} (Top-N ${run.job.summary.topN.length}, 0 results opened; blob files under .wrangler/state/v3/r2: ${run.r2Before} before, ${run.r2Before + run.r2New} after)` +
        (run.r2New === 0 ? ": none new, details are content-keyed and an earlier run stored these" : ""),
    );
  if (!run.doFile) {
    console.log(`DO storage: skipped (no new SQLite file in ${path.relative(REPO_ROOT, DO_DIR)}: a --url server with its state elsewhere?)`);
    return;
  }
  const size = doBytes(run.doFile);
  const total = size.db + size.wal;
  console.log(
    `DO storage (${run.doFile.slice(0, 12)}….sqlite): 0 before, ${mb(total)} after (file ${mb(size.db)} + WAL ${mb(size.wal)}), ${fmt(total / Math.max(1, n))} bytes per task; all job DOs: ${mb(dirBytes(DO_DIR, listDir(DO_DIR) ?? []))}`,
  );
  const withDo = run.samples.filter((s) => s.doBytes !== null);
  if (withDo.length >= 2) {
    const picks = [...new Set(Array.from({ length: 6 }, (_, k) => withDo[Math.round((k * (withDo.length - 1)) / 5)]!))];
    console.log(`  DO size by tasks finished (${withDo.length} samples): ${picks.map((s) => `${fmt(s.finished)}: ${mb(s.doBytes!)}`).join(", ")}`);
  }
  const rss = run.samples.map((s) => s.rss).filter((r): r is number => r !== null);
  if (rss.length >= 2) console.log(`  workerd memory (RSS, ${rss.length} samples): first ${mb(rss[0]!)}, max ${mb(Math.max(...rss))}, last ${mb(rss[rss.length - 1]!)}`);
  else console.log(`  workerd memory: not sampled (no workerd process running from ${REPO_ROOT})`);
}

// ---------------------------------------------------------------------------------------------

async function run(url: string, timeoutS: number, inspectorPort: number | null): Promise<boolean> {
  const bars = parseOhlcvCsv(readFileSync(CSV, "utf8"));
  const ret = simpleReturns(bars.close);
  console.log(`node ${process.version}, ${bars.length} bars of sp500; server ${url}; state ${path.relative(process.cwd(), STATE) || STATE}`);

  const warm = await runJob(url, WARMUP, timeoutS, false);
  console.log(`warm-up: ${fmt(combos(WARMUP).length)} combinations (${gridText(WARMUP)}) ${warm.job.status} in ${(warm.ms / 1000).toFixed(2)} s`);
  if (warm.job.status !== "succeeded") return false;

  const grids = args["skip-100k"] ? [GRID_10K] : [GRID_10K, GRID_100K];
  let ok = true;
  for (const grid of grids) {
    console.log(`\nsubmitting ${grid.label}: ${fmt(combos(grid).length)} combinations (${gridText(grid)})...`);
    const job = await runJob(url, grid, timeoutS, true, inspectorPort);
    const plain = runPlain(grid, bars.close, ret, 10);
    ok = report(grid, job, plain) && ok;
  }
  if (args["skip-100k"]) console.log("\n(100,000-combination grid skipped: --skip-100k)");
  console.log(ok ? "\nOK: each job's Top-N #1 is the plain loop's best." : "\nFAIL: see above.");
  return ok;
}

if (args.help) console.log(USAGE);
else {
  let timeoutS = 0;
  try {
    timeoutS = intFlag("timeout-s", args["timeout-s"]); // before the stack starts
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
  process.exitCode = await benchMain(args.url, (url, inspectorPort) => run(url, timeoutS, inspectorPort), { inspector: true });
}
