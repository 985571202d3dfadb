/**
 * `npm run demo`: starts the Worker locally (D1 migrations + wrangler dev), submits a real grid
 * search (SMA crossover on the S&P 500, 190 combinations) through the typed tRPC client, follows
 * it to the end and prints the summary and the Top-N table. Exits 0 only when the job succeeded
 * with a non-empty Top-N.
 *
 *   npm run demo                              # start a local stack on a free port
 *   npm run demo -- --port 8787               # ... on this port
 *   npm run demo -- --url http://127.0.0.1:8787 --key demo-key   # use a running server
 */
import { parseArgs } from "node:util";
import { apiErrorOf, createTrpcClient, type Job, type JobSpecInput, type TrpcClient, type TopNEntry } from "../client";
import { TERMINAL_JOB_STATUSES } from "../schema/job";
import { startLocalStack, type LocalStack } from "./local-stack";

const POLL_INTERVAL_MS = 250;
const POLL_TIMEOUT_MS = 3 * 60_000;
const PLAIN_PROGRESS_EVERY_MS = 2_000;
const MAX_FAILED_TASK_PAGES = 20;
const MAX_FAILED_POLLS = 8;
const REQUEST_TIMEOUT_MS = 20_000;

const SPEC = {
  name: "demo: SMA crossover on the S&P 500",
  strategy: "sma-crossover",
  dataset: "sp500",
  params: {
    fast: { min: 5, max: 50, step: 5 },
    slow: { min: 20, max: 200, step: 10 },
  },
  constraints: [{ left: "fast", op: "<", right: "slow" }],
  objective: { metric: "sharpe", mode: "max" },
  topN: 10,
  concurrencyLimit: 4,
} satisfies JobSpecInput;

const USAGE = `Usage: npm run demo -- [--port N | --url URL] [--key KEY]

  --port N    run the local stack (wrangler dev) on 127.0.0.1:N instead of a free port
  --url URL   use an already running server (e.g. one from \`npm run dev\`) instead of starting one
  --key KEY   API key to use (default: demo-key, from .dev.vars)
  -h, --help  show this help`;

class UsageError extends Error {}

interface Args {
  port?: number;
  url?: string;
  key: string;
}

function parseCli(argv: string[]): Args | "help" {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: "string" },
        url: { type: "string" },
        key: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return "help";
  const args: Args = { key: values.key ?? "demo-key" };
  if (values.port !== undefined && values.url !== undefined) throw new UsageError("--port and --url cannot be used together");
  if (values.port !== undefined) {
    const port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port < 1 || port > 65535) throw new UsageError(`--port: expected 1..65535, got "${values.port}"`);
    args.port = port;
  }
  if (values.url !== undefined) {
    let parsed: URL;
    try {
      parsed = new URL(values.url);
    } catch {
      throw new UsageError(`--url: not a URL: "${values.url}"`);
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new UsageError(`--url: expected http(s), got "${values.url}"`);
    args.url = parsed.origin;
  }
  if (args.key.trim() === "") throw new UsageError("--key: empty");
  return args;
}

// ---------------------------------------------------------------------------------------------
// Output helpers

const isTTY = process.stdout.isTTY === true;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const say = (line = "") => process.stdout.write(`${line}\n`);
const note = (line: string) => say(`  · ${line}`);

let progressShown = false;
function clearProgress(): void {
  if (progressShown) {
    process.stdout.write("\r\u001b[2K");
    progressShown = false;
  }
}

function progressLine(job: Job, elapsedMs: number): string {
  const s = job.summary;
  return `${job.status.padEnd(9)} ${s.finished}/${s.total} finished, ${s.running} running, ${s.failed} failed, ${seconds(elapsedMs)}`;
}

/** Columns of strings; numbers (anything but the first column) right-aligned. */
function table(header: string[], rows: string[][], alignLeft: ReadonlySet<number> = new Set()): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (alignLeft.has(i) ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)];
}

const fixed = (value: number | undefined, digits: number) => (value === undefined || !Number.isFinite(value) ? "-" : value.toFixed(digits));
const percent = (value: number | undefined) => (value === undefined || !Number.isFinite(value) ? "-" : `${(value * 100).toFixed(1)}%`);
const param = (entry: TopNEntry, name: string) => (entry.params[name] === undefined ? "-" : String(entry.params[name]));

function topNTable(topN: TopNEntry[]): string[] {
  return table(
    ["rank", "fast", "slow", "sharpe", "totalReturn", "maxDrawdown", "trades"],
    topN.map((e, i) => [
      String(i + 1),
      param(e, "fast"),
      param(e, "slow"),
      fixed(e.metrics.sharpe, 3),
      percent(e.metrics.totalReturn),
      percent(e.metrics.maxDrawdown),
      fixed(e.metrics.trades, 0),
    ]),
  );
}

/** Failed tasks grouped by error kind, with one example message each (bounded number of pages). */
async function describeFailures(client: TrpcClient, jobId: string): Promise<string[]> {
  const byKind = new Map<string, { count: number; example: string }>();
  let cursor: string | undefined;
  for (let page = 0; page < MAX_FAILED_TASK_PAGES; page++) {
    const res = await client.optimizations.tasks.query({ id: jobId, status: "failed", limit: 500, ...(cursor ? { cursor } : {}) });
    for (const task of res.items) {
      const kind = task.errorKind ?? "unknown";
      const entry = byKind.get(kind) ?? { count: 0, example: task.errorMessage ?? "" };
      entry.count++;
      byKind.set(kind, entry);
    }
    if (!res.nextCursor) break;
    cursor = res.nextCursor;
  }
  return [...byKind].map(([kind, { count, example }]) => `${count} ${kind}${example ? `, e.g. "${example}"` : ""}`);
}

/** fetch with a per-request time limit, so a hung server cannot stall the demo past its bounds. */
const boundedFetch: typeof fetch = (input, init) => {
  const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  return fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout });
};

// ---------------------------------------------------------------------------------------------

async function checkServer(url: string): Promise<void> {
  let status: number;
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5_000) });
    await res.body?.cancel();
    status = res.status;
  } catch (err) {
    throw new Error(`no server answers at ${url} (${describeError(err)}); start one with \`npm run dev\` or leave out --url`);
  }
  if (status !== 200) throw new Error(`${url}/health answered ${status}, not 200; is this the optimizer Worker?`);
}

async function followJob(client: TrpcClient, submitted: Job, startedAt: number): Promise<Job> {
  let job = submitted;
  let lastPlain = 0;
  let failedPolls = 0;
  const deadline = startedAt + POLL_TIMEOUT_MS;
  while (!TERMINAL_JOB_STATUSES.includes(job.status)) {
    if (Date.now() >= deadline) {
      clearProgress();
      say(`The job did not finish within ${seconds(POLL_TIMEOUT_MS)}; canceling it.`);
      try {
        job = await client.optimizations.cancel.mutate({ id: job.id, reason: "demo timed out" });
      } catch (err) {
        say(`  (cancel failed: ${describeError(err)})`);
        job = await client.optimizations.status.query({ id: job.id }).catch(() => job);
      }
      return job;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    try {
      job = await client.optimizations.status.query({ id: job.id });
      failedPolls = 0;
    } catch (err) {
      // A network blip (e.g. wrangler dev reloading) is retried a few times; an API error is not.
      if (apiErrorOf(err) || ++failedPolls > MAX_FAILED_POLLS) throw err;
      continue;
    }
    const elapsed = Date.now() - startedAt;
    if (isTTY) {
      process.stdout.write(`\r\u001b[2K  ${progressLine(job, elapsed)}`);
      progressShown = true;
    } else if (Date.now() - lastPlain >= PLAIN_PROGRESS_EVERY_MS) {
      lastPlain = Date.now();
      say(`  ${progressLine(job, elapsed)}`);
    }
  }
  clearProgress();
  return job;
}

async function runDemo(url: string, key: string, stack: LocalStack | undefined): Promise<boolean> {
  const client = createTrpcClient({ url, apiKey: key, fetch: boundedFetch });
  const grid = Object.entries(SPEC.params)
    .map(([name, r]) => `${name} ${r.min}..${r.max} step ${r.step}`)
    .join(", ");
  say();
  say(`Submitting "${SPEC.name}"`);
  note(`strategy ${SPEC.strategy} on dataset ${SPEC.dataset} (S&P 500 daily, 2000..2020)`);
  note(`grid: ${grid}, fast < slow; objective: ${SPEC.objective.mode} ${SPEC.objective.metric}; topN ${SPEC.topN}; concurrency ${SPEC.concurrencyLimit}`);

  const startedAt = Date.now();
  const submitted = await client.optimizations.submit.mutate(SPEC);
  currentJobId = submitted.id;
  note(`job ${submitted.id}: ${submitted.summary.total} combinations`);
  say();

  const job = await followJob(client, submitted, startedAt);
  const elapsed = Date.now() - startedAt;
  const s = job.summary;
  const serverMs = job.finishedAt ? Date.parse(job.finishedAt) - Date.parse(job.createdAt) : NaN;

  say(`Job      ${job.id}`);
  say(`Status   ${job.status}`);
  say(`Tasks    ${s.total} total: ${s.succeeded} succeeded, ${s.failed} failed, ${s.canceled} canceled, ${s.retries} retries`);
  if (s.failed > 0) {
    try {
      for (const line of await describeFailures(client, job.id)) say(`         failed: ${line}`);
    } catch (err) {
      say(`         (could not list failed tasks: ${describeError(err)})`);
    }
  }
  say(`Elapsed  ${seconds(elapsed)}${Number.isFinite(serverMs) ? ` (created to finished on the server: ${seconds(serverMs)})` : ""}`);
  if (job.stopReason) say(`Stopped  ${JSON.stringify(job.stopReason)}`);
  const reloads = stack?.reloads() ?? 0;
  if (reloads > 0) {
    say(`Note     wrangler dev reloaded the Worker ${reloads} time(s) during the run because a source file changed;`);
    say(`         work it interrupted is retried only once its lease expires, which slows the job (log: ${stack?.logFile}).`);
  }
  say();

  if (s.topN.length > 0) {
    say(`Top ${s.topN.length} by ${SPEC.objective.metric} (${SPEC.objective.mode}):`);
    for (const line of topNTable(s.topN)) say(`  ${line}`);
    say();
  }

  if (job.status !== "succeeded") {
    say(`FAILED: the job ended as "${job.status}", not "succeeded".`);
    return false;
  }
  if (s.topN.length === 0) {
    say("FAILED: the job succeeded but its Top-N is empty (no combination produced a score).");
    return false;
  }
  say("OK: the demo optimization succeeded.");
  return true;
}

function describeError(err: unknown): string {
  const api = apiErrorOf(err);
  if (api) {
    const details = api.details?.map((d) => `\n    ${d.path || "(root)"}: ${d.message}`).join("") ?? "";
    return `API error ${api.code}: ${api.message}${details}`;
  }
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? err.cause : undefined;
  if (err.name === "TimeoutError" || cause?.name === "TimeoutError") {
    return `the server did not answer within ${seconds(REQUEST_TIMEOUT_MS)} (${err.message})`;
  }
  return cause && !err.message.includes(cause.message) ? `${err.message}: ${cause.message}` : err.message;
}

const SIGNAL_EXIT_CODE: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };
let interrupted: NodeJS.Signals | undefined;
let currentJobId: string | undefined;

async function main(): Promise<number> {
  let args: Args | "help";
  try {
    args = parseCli(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`demo: ${err.message}\n\n${USAGE}\n`);
    return 1;
  }
  if (args === "help") {
    say(USAGE);
    return 0;
  }

  let stack: LocalStack | undefined;
  // Ctrl-C: the local stack stops itself on signals (and is killed on exit in any case); here we
  // only make the interruption read as such, and exit when there is no stack to wait for.
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = signal;
    clearProgress();
    say(`\nInterrupted (${signal}).${currentJobId && args.url ? ` Job ${currentJobId} keeps running on ${args.url}.` : ""}`);
    if (!stack) process.exit(SIGNAL_EXIT_CODE[signal] ?? 1);
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, onSignal);
  try {
    let url: string;
    if (args.url) {
      url = args.url;
      say(`Using the server at ${url}`);
      await checkServer(url);
    } else {
      say("Starting the local stack (first run may take a little longer)...");
      stack = await startLocalStack({ ...(args.port ? { port: args.port } : {}), log: note });
      url = stack.url;
    }
    return (await runDemo(url, args.key, stack)) ? 0 : 1;
  } catch (err) {
    clearProgress();
    if (interrupted) return SIGNAL_EXIT_CODE[interrupted] ?? 1;
    process.stderr.write(`\ndemo failed: ${describeError(err)}\n`);
    return 1;
  } finally {
    if (stack) {
      say("Stopping the local stack...");
      await stack.stop();
    }
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${describeError(err)}\n`);
    process.exit(1);
  },
);
