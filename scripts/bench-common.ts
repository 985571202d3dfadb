/**
 * What the load scripts (`bench:slo`, `bench:load`) share: the demo tenants, flag parsing, the
 * main wrapper that starts the local stack (or uses --url), a bounded pool for requests, and the
 * bounded wait for many jobs to end.
 */
import { apiErrorOf } from "../client";
import type { JobStatus, Summary } from "../schema";
import { TERMINAL_JOB_STATUSES } from "../schema/job";
import { freePort, startLocalStack, type LocalStack } from "./local-stack";

/** The two demo tenants of .dev.vars (not secrets). */
export const TENANT_KEYS = ["demo-key", "demo2-key"] as const;
/** METRICS_TOKEN of .dev.vars. */
export const METRICS_TOKEN = "dev-metrics-token-0123456789";

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export const isTerminal = (status: JobStatus): boolean => TERMINAL_JOB_STATUSES.includes(status);

/** A flag's value as an integer >= min (1 unless told), or a clear error naming the flag. */
export function intFlag(name: string, value: string | undefined, min = 1): number {
  const n = Number(value);
  if (value === undefined || !/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new Error(`--${name} must be an integer >= ${min} (got ${value === undefined ? "nothing" : `"${value}"`})`);
  }
  return n;
}

/** Only loopback: these scripts load a local stack and must never send their traffic elsewhere. */
export function loopbackUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`--url: not a URL: "${value}"`);
  }
  if (url.protocol !== "http:" || !["127.0.0.1", "localhost", "[::1]"].includes(url.hostname)) {
    throw new Error(`--url must be http on 127.0.0.1 (got ${value}): the bench only loads a local stack`);
  }
  return url.origin;
}

/** Runs fn over items with at most `limit` calls in flight; results in item order. */
export async function mapPool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * The usual main of a bench: uses `url` or starts the local stack (stopped at the end whatever
 * happens), runs the bench, and turns its outcome into an exit code (errors printed, exit 1).
 */
export async function benchMain(
  url: string | undefined,
  run: (url: string, inspectorPort: number | null) => Promise<boolean>,
  options: { inspector?: boolean } = {},
): Promise<number> {
  let stack: LocalStack | undefined;
  try {
    // The inspector of a stack we start, for CPU profiles; a --url server's is not ours to attach to.
    const inspectorPort = url === undefined && options.inspector ? await freePort() : null;
    const target =
      url !== undefined ? loopbackUrl(url) : (stack = await startLocalStack({ log: (m) => console.log(`  · ${m}`), ...(inspectorPort ? { inspectorPort } : {}) })).url;
    const ok = await run(target, inspectorPort);
    const reloads = stack?.reloads() ?? 0;
    if (reloads > 0) console.log(`Note: wrangler dev reloaded the Worker ${reloads} time(s) during the run (a source file changed).`);
    return ok ? 0 : 1;
  } catch (err) {
    const api = apiErrorOf(err);
    console.error(api ? `API error ${api.code}: ${api.message}` : err instanceof Error ? err.message : String(err));
    return 1;
  } finally {
    await stack?.stop();
  }
}

const PLAIN_PROGRESS_MS = 10_000;

export interface PolledJob {
  status: JobStatus;
  summary: Pick<Summary, "total" | "finished">;
}

export interface WaitOptions<J extends PolledJob> {
  /** How many jobs there are; fetch(i) reads job i for i in 0..count-1. */
  count: number;
  fetch: (i: number) => Promise<J>;
  /** Epoch ms after which the wait gives up. */
  deadline: number;
  /** For the elapsed time in the progress line. */
  started: number;
  /** Called after each round with every job's latest read, by index (to act on jobs mid-way, e.g. cancel them). */
  onRound?: (latest: readonly (J | undefined)[]) => Promise<void>;
  intervalMs?: number;
  /** Requests in flight at once. Default 8. */
  concurrency?: number;
}

/**
 * Reads every job until all have ended or the deadline passes (bounded by both: at most one round
 * an interval), printing progress (one updating line on a TTY, a line every 10 s otherwise).
 * Ended jobs are not read again. Returns each job's last read (undefined if never read) and whether
 * all ended.
 */
export async function waitForJobs<J extends PolledJob>(options: WaitOptions<J>): Promise<{ latest: (J | undefined)[]; allEnded: boolean }> {
  const { count, deadline, started } = options;
  const intervalMs = options.intervalMs ?? 1000;
  const latest: (J | undefined)[] = new Array(count).fill(undefined);
  const indexes = Array.from({ length: count }, (_, i) => i);
  let printedAt = Date.now();
  let allEnded = false;
  while (Date.now() < deadline) {
    const roundStarted = Date.now();
    const open = indexes.filter((i) => latest[i] === undefined || !isTerminal(latest[i]!.status));
    await mapPool(open, options.concurrency ?? 8, async (i) => {
      latest[i] = await options.fetch(i);
    });
    const jobs = latest.filter((j): j is J => j !== undefined);
    const ended = jobs.filter((j) => isTerminal(j.status)).length;
    const finished = jobs.reduce((n, j) => n + j.summary.finished, 0);
    const total = jobs.reduce((n, j) => n + j.summary.total, 0);
    const line = `  ${ended}/${count} jobs ended, ${finished}/${total} tasks finished, ${((Date.now() - started) / 1000).toFixed(0)} s`;
    if (process.stdout.isTTY) process.stdout.write(`\r${line} `);
    else if (Date.now() - printedAt >= PLAIN_PROGRESS_MS) {
      printedAt = Date.now();
      console.log(line);
    }
    if (ended === count) {
      allEnded = true;
      break;
    }
    await options.onRound?.(latest);
    await sleep(Math.max(0, Math.min(intervalMs - (Date.now() - roundStarted), deadline - Date.now())));
  }
  if (process.stdout.isTTY) process.stdout.write("\n");
  return { latest, allEnded };
}

/** A REST call to /api/v1 answered with an error status (or a body that is not JSON). */
export class ApiCallError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/**
 * One REST call to `${url}/api/v1${path}` as tenant `apiKey`, bounded by timeoutMs (default 30 s).
 * Resolves with the parsed JSON body of a 2xx; throws ApiCallError naming the route, the status and
 * the API's error code otherwise. Never retried here: a repeated POST would be a second job.
 */
export async function apiCall(url: string, apiKey: string, method: "GET" | "POST", path: string, body?: unknown, timeoutMs = 30_000): Promise<unknown> {
  const res = await fetch(`${url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!res.ok || json === undefined) {
    const error = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiCallError(res.status, error?.code, `${method} /api/v1${path}: ${res.status} ${error?.code ?? ""} ${error?.message ?? text.slice(0, 200)}`);
  }
  return json;
}
