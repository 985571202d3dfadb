/**
 * `npm run bench:load`: many synthetic jobs from both demo tenants at once against the local stack
 * (or --url), with a mix of retried, permanently failing, canceled and early-stopped work, then a
 * consistency check of every job: its summary against its task rows from REST and from the local D1.
 * Bounded: jobs still running at --timeout-s are canceled and the run fails; every loop is bounded
 * in rounds and time. Exits 1 on any lost or doubled task or any mismatch.
 *
 *   npm run bench:load                                  # 30 jobs x 2000 tasks on a fresh local stack
 *   npm run bench:load -- --jobs 6 --tasks 200
 *   npm run bench:load -- --url http://127.0.0.1:8787   # a server already running from this checkout
 */
import { parseArgs } from "node:util";
import { Job, Page, Task, type JobSpecInput, type ParamValue, type Summary, type TaskStatus } from "../schema";
import { apiCall, ApiCallError, benchMain, intFlag, isTerminal, loopbackUrl, mapPool, sleep, TENANT_KEYS, waitForJobs } from "./bench-common";
import { runWrangler } from "./local-stack";

const USAGE = `Usage: npm run bench:load -- [--jobs N] [--tasks N] [--timeout-s S] [--concurrency N] [--sleep-ms MS] [--url URL] [--skip-d1]

  --jobs N         jobs to submit, alternating the two demo tenants (default 30; 50 takes ~10 min on 2 cores)
  --tasks N        grid combinations per job (default 2000: axes a 0..39 x b 0..49)
  --timeout-s S    give the jobs this long to end; then cancel what is left and fail (default 600)
  --concurrency N  each job's concurrencyLimit (default 4)
  --sleep-ms MS    the synthetic sleepMs of every task (default 0)
  --url URL        use a server already running on 127.0.0.1 instead of starting one
  --skip-d1        do not read the local D1 (for a --url server whose .wrangler state is elsewhere)
  -h, --help       show this help`;

function parseCli() {
  try {
    return parseArgs({
      options: {
        url: { type: "string" },
        jobs: { type: "string", default: "30" },
        tasks: { type: "string", default: "2000" },
        "timeout-s": { type: "string", default: "600" },
        concurrency: { type: "string", default: "4" },
        "sleep-ms": { type: "string", default: "0" },
        "skip-d1": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
}
const args = parseCli();

const POLL_INTERVAL_MS = 500;
/** A cancel job is canceled once this share of its tasks finished, or once partly done after CANCEL_AFTER_MS. */
const CANCEL_AT = 0.25;
const CANCEL_AFTER_MS = 30_000;
/** Cancel jobs' tasks take at least this sleepMs, so they are still running at CANCEL_AT. */
const CANCEL_SLEEP_MS = 5;
const REQUEST_TIMEOUT_MS = 30_000;
const GET_ATTEMPTS = 3;
const TASK_PAGE = 500;
/** After a timeout: how long the canceled jobs get to report canceled. */
const CANCEL_SETTLE_MS = 30_000;
/** How long the D1 projection gets to catch up with the ended jobs. */
const D1_WAIT_MS = 90_000;
const D1_RETRY_MS = 2_000;
const D1_QUERY_TIMEOUT_MS = 60_000;
/** Pause before the second read of stopped jobs (their summary must not move). */
const REREAD_AFTER_MS = 2_000;
const SHOW_MISMATCHES = 10;

// ---------------------------------------------------------------------------------------------
// REST, as documented in the README (Bearer key, JSON errors).

class Rest {
  constructor(
    readonly base: string,
    readonly apiKey: string,
  ) {}

  private request(method: "GET" | "POST", path: string, body?: unknown): Promise<unknown> {
    return apiCall(this.base, this.apiKey, method, path, body, REQUEST_TIMEOUT_MS);
  }

  /** GETs are safe to repeat: a network error or a 5xx is tried again (bounded). */
  async get(path: string): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.request("GET", path);
      } catch (err) {
        const retryable = !(err instanceof ApiCallError) || err.status >= 500;
        if (!retryable || attempt >= GET_ATTEMPTS) throw err;
        await sleep(500 * attempt);
      }
    }
  }

  /** Never repeated: a second submit would be a second job. */
  post(path: string, body: unknown): Promise<unknown> {
    return this.request("POST", path, body);
  }

  async job(id: string): Promise<Job> {
    return Job.parse(await this.get(`/optimizations/${id}/status`));
  }

  /** Every task row, paged by cursor until nextCursor is null (bounded: the cursor must move, pages <= total / page + 10). */
  async tasks(id: string, total: number): Promise<{ rows: Task[]; error?: string }> {
    const rows: Task[] = [];
    const maxPages = Math.ceil(total / TASK_PAGE) + 10;
    let cursor: string | null = null;
    for (let page = 0; page < maxPages; page++) {
      const query: string = `limit=${TASK_PAGE}${cursor === null ? "" : `&cursor=${cursor}`}`;
      const res = Page(Task).parse(await this.get(`/optimizations/${id}/tasks?${query}`));
      rows.push(...res.items);
      if (res.nextCursor === null) return { rows };
      if (cursor !== null && Number(res.nextCursor) <= Number(cursor)) return { rows, error: `cursor did not move (${cursor} -> ${res.nextCursor})` };
      cursor = res.nextCursor;
    }
    return { rows, error: `still a nextCursor after ${maxPages} pages` };
  }
}

// ---------------------------------------------------------------------------------------------
// The mix of jobs.

type Kind = "retry" | "cancel" | "early-stop" | "invalid" | "plain";
const KINDS: readonly Kind[] = ["retry", "cancel", "early-stop", "invalid", "plain"];

interface Plan {
  index: number;
  kind: Kind;
  tenant: number;
  spec: JobSpecInput;
  maxRetries: number;
  /** For retry/invalid jobs: each task's planned failures. */
  failKind?: "UpstreamError" | "ParamInvalid";
  threshold?: number;
}

/** n = rows x cols with rows the largest divisor of n <= sqrt(n): 2000 = 40 x 50, 200 = 10 x 20. */
function gridDims(n: number): [number, number] {
  let rows = Math.floor(Math.sqrt(n));
  while (n % rows !== 0) rows--;
  return [rows, n / rows];
}

/** Retry jobs (maxRetries 2): per column, 1 or 2 failures then success, and some with 3 that exhaust the budget. */
const retryFailures = (col: number) => (col % 20 === 3 ? 3 : col % 5 === 1 ? 1 : col % 10 === 2 ? 2 : 0);
/** ParamInvalid jobs: one column in ten fails on its first attempt, for good. */
const invalidFailures = (col: number) => (col % 10 === 5 ? 1 : 0);

function planJobs(jobs: number, tasks: number, sleepMs: number, concurrencyLimit: number): Plan[] {
  const [rows, cols] = gridDims(tasks);
  const a = { min: 0, max: rows - 1, step: 1 };
  const b = { min: 0, max: cols - 1, step: 1 };
  return Array.from({ length: jobs }, (_, index): Plan => {
    const kind = KINDS[index % KINDS.length]!;
    const base = {
      name: `load-bench ${index + 1}/${jobs} ${kind}`,
      strategy: "synthetic",
      dataset: "sp500",
      objective: { metric: "score", mode: "max" },
      concurrencyLimit,
      topN: 5,
    } satisfies Partial<JobSpecInput>;
    const sleep = { values: [sleepMs] };
    const columns = (f: (col: number) => number) => ({ values: Array.from({ length: cols }, (_, col) => f(col)) });
    const tenant = index % TENANT_KEYS.length;
    switch (kind) {
      case "retry":
        return { index, kind, tenant, maxRetries: 2, failKind: "UpstreamError", spec: { ...base, maxRetries: 2, params: { a, failTimes: columns(retryFailures), sleepMs: sleep } } };
      case "invalid":
        return {
          index,
          kind,
          tenant,
          maxRetries: 3,
          failKind: "ParamInvalid",
          spec: { ...base, params: { a, failTimes: columns(invalidFailures), failKind: { values: ["ParamInvalid"] }, sleepMs: sleep } },
        };
      case "early-stop": {
        // score = a + b, grid order b fastest: a + b >= threshold first at a = floor(rows / 2), b = cols - 1.
        const threshold = Math.floor(rows / 2) + cols - 1;
        return { index, kind, tenant, maxRetries: 3, threshold, spec: { ...base, params: { a, b, sleepMs: sleep }, earlyStopPolicy: { metric: "score", threshold, mode: "max" } } };
      }
      case "cancel":
        // A few ms a task, so that a poll sees it partly done before it ends, even on a small run.
        return { index, kind, tenant, maxRetries: 3, spec: { ...base, params: { a, b, sleepMs: { values: [Math.max(sleepMs, CANCEL_SLEEP_MS)] } } } };
      case "plain":
        return { index, kind, tenant, maxRetries: 3, spec: { ...base, params: { a, b, sleepMs: sleep } } };
    }
  });
}

/** What a retry/invalid task should end as, from its failTimes. */
function expectedTask(plan: Plan, failTimes: number): { status: TaskStatus; retries: number } {
  if (plan.failKind === "ParamInvalid") return { status: failTimes > 0 ? "failed" : "succeeded", retries: 0 };
  return { status: failTimes > plan.maxRetries ? "failed" : "succeeded", retries: Math.min(failTimes, plan.maxRetries) };
}

// ---------------------------------------------------------------------------------------------
// Checks.

interface Mismatch {
  check: string;
  job: string;
  detail: string;
}

const TASK_STATUSES: readonly TaskStatus[] = ["succeeded", "failed", "canceled", "running", "queued"];
const ENDED_TASK_STATUSES: readonly TaskStatus[] = ["succeeded", "failed", "canceled"];
type StatusCounts = Record<TaskStatus, number>;
const zeroCounts = (): StatusCounts => ({ succeeded: 0, failed: 0, canceled: 0, running: 0, queued: 0 });

/** Task rows of one job from one source, reduced to what the checks compare. */
interface RowTally {
  /** Rows by status (a duplicate row counts twice). */
  counts: StatusCounts;
  rows: number;
  distinct: number;
  /** Distinct task indexes with an ended status. */
  endedDistinct: number;
  retries: number;
  maxRetries: number;
}

function tallyRest(rows: readonly Task[]): RowTally {
  const counts = zeroCounts();
  const seen = new Set<number>();
  const ended = new Set<number>();
  let retries = 0;
  let maxRetries = 0;
  for (const t of rows) {
    counts[t.status]++;
    seen.add(t.index);
    if (ENDED_TASK_STATUSES.includes(t.status)) ended.add(t.index);
    retries += t.retries;
    maxRetries = Math.max(maxRetries, t.retries);
  }
  return { counts, rows: rows.length, distinct: seen.size, endedDistinct: ended.size, retries, maxRetries };
}

/**
 * lost: tasks the summary counts as ended that no ended row shows (missing rows, rows never
 * terminal, or fewer rows of a status than the summary says). doubled: rows beyond the distinct
 * tasks or beyond total, or more rows of an ended status than the summary says.
 */
function lostAndDoubled(summary: Summary, t: RowTally): { lost: number; doubled: number } {
  const ended = summary.succeeded + summary.failed + summary.canceled;
  const short = ENDED_TASK_STATUSES.reduce((n, s) => n + Math.max(0, summary[s] - t.counts[s]), 0);
  const over = ENDED_TASK_STATUSES.reduce((n, s) => n + Math.max(0, t.counts[s] - summary[s]), 0);
  return {
    lost: Math.max(short, ended - t.endedDistinct, 0),
    doubled: Math.max(over, t.rows - t.distinct + Math.max(0, t.distinct - summary.total)),
  };
}

/** The checks a job's rows from one source must pass against its summary. */
function compareRows(source: string, job: Job, t: RowTally, push: (check: string, detail: string) => void): void {
  const s = job.summary;
  for (const status of TASK_STATUSES) {
    if (t.counts[status] !== s[status]) push(`${source} ${status} rows = summary`, `${t.counts[status]} rows, summary ${s[status]}`);
  }
  if (t.rows !== s.total) push(`${source} rows = total`, `${t.rows} rows, total ${s.total}`);
  if (t.distinct !== t.rows) push(`${source} one row per task`, `${t.rows} rows for ${t.distinct} task indexes`);
  if (t.maxRetries > job.spec.maxRetries) push(`${source} retries <= maxRetries`, `a task has ${t.maxRetries} retries, maxRetries ${job.spec.maxRetries}`);
  if (t.retries !== s.retries) push(`${source} sum of retries = summary.retries`, `rows ${t.retries}, summary ${s.retries}`);
}

interface D1Row {
  job_id: string;
  status: TaskStatus;
  n: number;
  d: number;
  r: number;
  mr: number;
}

interface D1JobRow {
  id: string;
  status: string;
  total: number;
  succeeded: number;
  failed: number;
  canceled: number;
  running: number;
  queued: number;
  retries: number;
}

async function readD1(ids: readonly string[]): Promise<{ tasks: D1Row[]; jobs: D1JobRow[] }> {
  for (const id of ids) if (!/^[0-9a-f-]{36}$/i.test(id)) throw new Error(`unexpected job id ${id}`);
  const list = ids.map((id) => `'${id}'`).join(",");
  const sql =
    `SELECT job_id, status, count(*) AS n, count(DISTINCT idx) AS d, coalesce(sum(retries), 0) AS r, coalesce(max(retries), 0) AS mr ` +
    `FROM optimization_tasks WHERE job_id IN (${list}) GROUP BY job_id, status; ` +
    `SELECT id, status, total, succeeded, failed, canceled, running, queued, retries FROM optimization_jobs WHERE id IN (${list});`;
  const { stdout } = await runWrangler(["d1", "execute", "DB", "--local", "--json", "--command", sql], D1_QUERY_TIMEOUT_MS);
  const start = stdout.indexOf("[");
  if (start < 0) throw new Error(`wrangler d1 execute printed no JSON: ${stdout.slice(0, 300)}`);
  const results = JSON.parse(stdout.slice(start)) as { results: unknown[]; success: boolean }[];
  if (results.length !== 2 || !results.every((r) => r.success)) throw new Error(`unexpected wrangler d1 execute output: ${stdout.slice(0, 300)}`);
  return { tasks: results[0]!.results as D1Row[], jobs: results[1]!.results as D1JobRow[] };
}

function tallyD1(rows: readonly D1Row[]): RowTally {
  const t: RowTally = { counts: zeroCounts(), rows: 0, distinct: 0, endedDistinct: 0, retries: 0, maxRetries: 0 };
  for (const r of rows) {
    t.counts[r.status] = (t.counts[r.status] ?? 0) + r.n;
    t.rows += r.n;
    t.distinct += r.d; // (job_id, idx) is the primary key: a task has one status
    if (ENDED_TASK_STATUSES.includes(r.status)) t.endedDistinct += r.d;
    t.retries += r.r;
    t.maxRetries = Math.max(t.maxRetries, r.mr);
  }
  return t;
}

// ---------------------------------------------------------------------------------------------

interface Tracked {
  plan: Plan;
  id: string;
  rest: Rest;
  cancelSent?: "accepted" | "too late";
  /** Still running at --timeout-s, so canceled by the bench: its kind's plan no longer applies. */
  timeoutCanceled?: boolean;
  /** The first read that showed the job ended. */
  endRead?: Job;
}

interface Options {
  jobs: number;
  tasks: number;
  timeoutS: number;
  concurrency: number;
  sleepMs: number;
}

/** The flags, checked before anything starts. */
function options(): Options {
  return {
    jobs: intFlag("jobs", args.jobs),
    tasks: intFlag("tasks", args.tasks),
    timeoutS: intFlag("timeout-s", args["timeout-s"]),
    concurrency: intFlag("concurrency", args.concurrency),
    sleepMs: intFlag("sleep-ms", args["sleep-ms"], 0),
  };
}

async function run(url: string, { jobs, tasks, timeoutS, concurrency, sleepMs }: Options): Promise<boolean> {
  const rests = TENANT_KEYS.map((key) => new Rest(url, key));
  const plans = planJobs(jobs, tasks, sleepMs, concurrency);
  const [rows, cols] = gridDims(tasks);
  const kindCounts = KINDS.map((k) => `${plans.filter((p) => p.kind === k).length} ${k}`).join(", ");
  console.log(`Load check: ${jobs} jobs x ${tasks} synthetic tasks (a 0..${rows - 1} x b 0..${cols - 1}, sleepMs ${sleepMs}, concurrencyLimit ${concurrency}) from ${rests.length} tenants on ${url}`);
  console.log(`  mix: ${kindCounts} (cancel jobs: sleepMs >= ${CANCEL_SLEEP_MS}, canceled at ${CANCEL_AT * 100}% finished or after ${CANCEL_AFTER_MS / 1000} s)`);

  // Submit everything at once (a small pool: the submits themselves are part of the load).
  const started = Date.now();
  const tracked: Tracked[] = await mapPool(plans, 8, async (plan) => {
    const rest = rests[plan.tenant]!;
    const job = Job.parse(await rest.post("/optimizations", plan.spec));
    if (job.summary.total !== tasks) throw new Error(`job ${job.id} (${plan.kind}) has ${job.summary.total} tasks, expected ${tasks}`);
    return { plan, id: job.id, rest };
  });
  console.log(`  submitted ${jobs} jobs in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const cancelMidway = async (latest: readonly (Job | undefined)[]) => {
    await mapPool(tracked, 8, async (t, i) => {
      const job = latest[i];
      if (t.plan.kind !== "cancel" || t.cancelSent || !job || isTerminal(job.status)) return;
      const due = job.summary.finished >= Math.max(1, Math.floor(job.summary.total * CANCEL_AT)) || (job.summary.finished > 0 && Date.now() - started >= CANCEL_AFTER_MS);
      if (!due) return;
      t.cancelSent = await cancel(t, "load-bench: canceled mid-way");
    });
  };
  const wait = await waitForJobs<Job>({
    count: jobs,
    fetch: async (i) => {
      const t = tracked[i]!;
      const job = await t.rest.job(t.id);
      if (isTerminal(job.status)) t.endRead ??= job;
      return job;
    },
    deadline: started + timeoutS * 1000,
    started,
    intervalMs: POLL_INTERVAL_MS,
    onRound: cancelMidway,
  });
  const seconds = (Date.now() - started) / 1000;
  let timedOut = false;
  if (!wait.allEnded) {
    timedOut = true;
    const open = tracked.filter((t) => !t.endRead);
    console.log(`Timed out after ${timeoutS} s: canceling the ${open.length} jobs still running.`);
    for (const t of open) t.timeoutCanceled = true;
    await mapPool(open, 8, (t) => cancel(t, "load-bench timeout").catch(() => undefined));
    const settle = Date.now() + CANCEL_SETTLE_MS;
    while (Date.now() < settle && tracked.some((t) => !t.endRead)) {
      await mapPool(
        tracked.filter((t) => !t.endRead),
        8,
        async (t) => {
          const job = await t.rest.job(t.id);
          if (isTerminal(job.status)) t.endRead = job;
        },
      );
      await sleep(POLL_INTERVAL_MS);
    }
  }

  // --- the consistency check --------------------------------------------------------------
  console.log(`Checking ${jobs} jobs: summaries against task rows (REST${args["skip-d1"] ? "" : " and D1"})...`);
  const mismatches: Mismatch[] = [];
  const pushFor = (list: Mismatch[], t: Tracked) => (check: string, detail: string) => list.push({ check, job: `${t.id.slice(0, 8)} ${t.plan.kind}`, detail });
  const notes: string[] = [];
  let lostRest = 0;
  let doubledRest = 0;
  const finals: Job[] = await mapPool(tracked, 4, async (t) => {
    const push = pushFor(mismatches, t);
    const job = await t.rest.job(t.id);
    const s = job.summary;
    if (!isTerminal(job.status)) push("terminal job", `status ${job.status}`);
    if (s.finished !== s.succeeded + s.failed) push("summary finished = succeeded + failed", JSON.stringify(s));
    if (s.total !== s.finished + s.canceled + s.running + s.queued) push("summary total = finished + canceled + running + queued", JSON.stringify(s));
    if (s.total !== tasks) push("summary total = grid size", `total ${s.total}, grid ${tasks}`);
    if (s.retries !== job.stats.retries) push("summary.retries = stats.retries", `${s.retries} vs ${job.stats.retries}`);

    const { rows: taskRows, error } = await t.rest.tasks(t.id, s.total);
    if (error) push("REST task paging", error);
    const tally = tallyRest(taskRows);
    compareRows("REST", job, tally, push);
    const ld = lostAndDoubled(s, tally);
    lostRest += ld.lost;
    doubledRest += ld.doubled;
    if (t.timeoutCanceled) return job;
    checkPlan(t, job, taskRows, push, notes);
    return job;
  });

  let lostD1 = 0;
  let doubledD1 = 0;
  let d1Reads = 0;
  if (!args["skip-d1"]) {
    const d1Deadline = Date.now() + D1_WAIT_MS;
    let d1Mismatches: Mismatch[] = [];
    for (;;) {
      d1Reads++;
      const d1 = await readD1(tracked.map((t) => t.id));
      d1Mismatches = [];
      lostD1 = 0;
      doubledD1 = 0;
      tracked.forEach((t, i) => {
        const job = finals[i]!;
        const push = pushFor(d1Mismatches, t);
        const tally = tallyD1(d1.tasks.filter((r) => r.job_id === t.id));
        compareRows("D1", job, tally, push);
        const ld = lostAndDoubled(job.summary, tally);
        lostD1 += ld.lost;
        doubledD1 += ld.doubled;
        const row = d1.jobs.find((r) => r.id === t.id);
        if (!row) return push("D1 job row", "missing");
        const s = job.summary;
        const want = { status: job.status, total: s.total, succeeded: s.succeeded, failed: s.failed, canceled: s.canceled, running: s.running, queued: s.queued, retries: s.retries };
        const got = { status: row.status, total: row.total, succeeded: row.succeeded, failed: row.failed, canceled: row.canceled, running: row.running, queued: row.queued, retries: row.retries };
        if (JSON.stringify(want) !== JSON.stringify(got)) push("D1 job row = summary", `D1 ${JSON.stringify(got)}, REST ${JSON.stringify(want)}`);
      });
      if (d1Mismatches.length === 0 || Date.now() + D1_RETRY_MS >= d1Deadline) break;
      await sleep(D1_RETRY_MS);
    }
    mismatches.push(...d1Mismatches);
  }

  // A stopped job's summary is frozen: read the canceled and early-stopped ones again, later.
  const stopped = tracked.map((t, i) => ({ t, first: t.endRead ?? finals[i]! })).filter(({ first }) => first.status === "canceled" || first.status === "early-stopped");
  await sleep(REREAD_AFTER_MS);
  await mapPool(stopped, 4, async ({ t, first }) => {
    const again = await t.rest.job(t.id);
    const frozen = (j: Job) => JSON.stringify({ status: j.status, summary: j.summary, stopReason: j.stopReason, finishedAt: j.finishedAt });
    if (frozen(again) !== frozen(first)) pushFor(mismatches, t)("stopped job unchanged when read again", `first ${frozen(first)}\n      later ${frozen(again)}`);
  });

  // --- the summary ------------------------------------------------------------------------
  const sum = (f: (j: Job) => number) => finals.reduce((n, j) => n + f(j), 0);
  const byStatus = [...new Set(finals.map((j) => j.status))].map((st) => `${finals.filter((j) => j.status === st).length} ${st}`).join(", ");
  const finished = sum((j) => j.summary.finished);
  const lost = lostRest + lostD1;
  const doubled = doubledRest + doubledD1;
  console.log("");
  console.log(`jobs      ${jobs} (${byStatus})`);
  console.log(`tasks     ${sum((j) => j.summary.total)} (${sum((j) => j.summary.succeeded)} succeeded, ${sum((j) => j.summary.failed)} failed, ${sum((j) => j.summary.canceled)} canceled)`);
  console.log(`retries   ${sum((j) => j.summary.retries)}`);
  console.log(`seconds   ${seconds.toFixed(1)} (submit to the last job ended${timedOut ? "; TIMED OUT" : ""})`);
  console.log(`tasks/s   ${(finished / seconds).toFixed(0)} finished (${((finished + sum((j) => j.summary.retries)) / seconds).toFixed(0)} attempts/s)`);
  console.log(`lost      ${lost} (REST ${lostRest}${args["skip-d1"] ? "" : `, D1 ${lostD1}`})`);
  console.log(`doubled   ${doubled} (REST ${doubledRest}${args["skip-d1"] ? "" : `, D1 ${doubledD1}`})`);
  if (!args["skip-d1"]) console.log(`D1 reads  ${d1Reads} (wrangler d1 execute DB --local, until the projection caught up or ${D1_WAIT_MS / 1000} s)`);
  for (const note of notes.slice(0, SHOW_MISMATCHES)) console.log(`note: ${note}`);
  if (mismatches.length > 0) {
    const perCheck = new Map<string, number>();
    for (const m of mismatches) perCheck.set(m.check, (perCheck.get(m.check) ?? 0) + 1);
    console.log(`mismatches ${mismatches.length}: ${[...perCheck].map(([c, n]) => `${c} x${n}`).join("; ")}`);
    for (const m of mismatches.slice(0, SHOW_MISMATCHES)) console.log(`  - [${m.check}] job ${m.job}: ${m.detail}`);
    if (mismatches.length > SHOW_MISMATCHES) console.log(`  ... and ${mismatches.length - SHOW_MISMATCHES} more`);
  } else {
    console.log("mismatches 0");
  }
  const ok = !timedOut && lost === 0 && doubled === 0 && mismatches.length === 0;
  console.log(ok ? "OK: every job consistent." : "FAILED");
  return ok;
}

async function cancel(t: Tracked, reason: string): Promise<"accepted" | "too late"> {
  try {
    await t.rest.post(`/optimizations/${t.id}/cancel`, { reason });
    return "accepted";
  } catch (err) {
    if (err instanceof ApiCallError && err.status === 409) return "too late"; // it ended otherwise first
    throw err;
  }
}

/** What the job's kind planned: its end status and, for retry/invalid jobs, each task's outcome. */
function checkPlan(t: Tracked, job: Job, taskRows: readonly Task[], push: (check: string, detail: string) => void, notes: string[]): void {
  const { plan } = t;
  switch (plan.kind) {
    case "plain":
      if (job.status !== "succeeded" || job.summary.succeeded !== job.summary.total) push("plan: plain job succeeds", `status ${job.status}, ${job.summary.succeeded}/${job.summary.total} succeeded`);
      return;
    case "cancel":
      if (t.cancelSent === "too late" || t.cancelSent === undefined) {
        notes.push(`job ${t.id.slice(0, 8)} (cancel) ended ${job.status} before it was canceled (${t.cancelSent ?? "never reached the cancel point"})`);
        return;
      }
      if (job.status !== "canceled" || job.stopReason?.kind !== "cancel") push("plan: canceled job", `status ${job.status}, stopReason ${JSON.stringify(job.stopReason)}`);
      else if (job.summary.canceled === 0) notes.push(`job ${t.id.slice(0, 8)} (cancel) was canceled with nothing left to cancel`);
      return;
    case "early-stop": {
      const r = job.stopReason;
      if (job.status !== "early-stopped" || r?.kind !== "early-stop" || r.value < plan.threshold!) push("plan: early-stopped job", `status ${job.status}, stopReason ${JSON.stringify(r)}`);
      else if (job.summary.canceled === 0) notes.push(`job ${t.id.slice(0, 8)} (early-stop) stopped with nothing left to cancel`);
      return;
    }
    case "retry":
    case "invalid": {
      if (job.status !== "succeeded") push(`plan: ${plan.kind} job succeeds`, `status ${job.status}`);
      let wrong = 0;
      let example = "";
      for (const task of taskRows) {
        const failTimes = task.params.failTimes as ParamValue;
        const want = expectedTask(plan, Number(failTimes));
        const kindOk = want.status !== "failed" || task.errorKind === plan.failKind;
        if (task.status !== want.status || task.retries !== want.retries || !kindOk) {
          wrong++;
          example ||= `task ${task.index} failTimes ${failTimes}: ${task.status} retries ${task.retries} ${task.errorKind ?? ""}, expected ${want.status} retries ${want.retries}`;
        }
      }
      if (wrong > 0) push(`plan: ${plan.kind} task outcomes`, `${wrong} tasks differ, e.g. ${example}`);
      return;
    }
  }
}

if (args.help) {
  console.log(USAGE);
} else {
  let opts: Options | undefined;
  try {
    opts = options();
    if (args.url !== undefined) loopbackUrl(args.url);
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
  }
  if (opts) process.exitCode = await benchMain(args.url, (url) => run(url, opts));
}
