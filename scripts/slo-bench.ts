/**
 * Load baseline against the queue SLO (mean queue wait <= 30 s, p95 <= 2 min): starts the local stack
 * (or uses --url), runs many synthetic jobs at once from two tenants, then reads queue_wait_seconds
 * from /metrics (before/after deltas, so earlier runs don't count) and prints mean and p95 against the
 * SLO. Bounded: jobs still running at --timeout-s are canceled and the run fails.
 */
import { parseArgs } from "node:util";
import { createTrpcClient } from "../client";
import { benchMain, intFlag, METRICS_TOKEN, sleep, TENANT_KEYS, waitForJobs } from "./bench-common";

const SLO_MEAN_S = 30;
const SLO_P95_S = 120;

const { values: args } = parseArgs({
  options: {
    url: { type: "string" },
    jobs: { type: "string", default: "20" },
    tasks: { type: "string", default: "2000" },
    "sleep-ms": { type: "string", default: "20" },
    concurrency: { type: "string", default: "4" },
    "timeout-s": { type: "string", default: "420" },
  },
});
const int = (name: keyof typeof args) => intFlag(name, args[name] as string | undefined);

interface Histogram {
  buckets: [number, number][];
  sum: number;
  count: number;
}

async function scrapeQueueWait(url: string): Promise<Histogram> {
  const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  if (!res.ok) throw new Error(`/metrics answered ${res.status}: ${await res.text()}`);
  const text = await res.text();
  const buckets: [number, number][] = [];
  let sum = 0;
  let count = 0;
  for (const line of text.split("\n")) {
    const bucket = line.match(/^queue_wait_seconds_bucket\{le="([^"]+)"\} (\S+)$/);
    if (bucket) buckets.push([bucket[1] === "+Inf" ? Infinity : Number(bucket[1]), Number(bucket[2])]);
    if (line.startsWith("queue_wait_seconds_sum ")) sum = Number(line.split(" ")[1]);
    if (line.startsWith("queue_wait_seconds_count ")) count = Number(line.split(" ")[1]);
  }
  return { buckets, sum, count };
}

/** Prometheus' histogram_quantile: linear interpolation inside the bucket that holds the rank. */
function histogramQuantile(q: number, h: Histogram): number {
  const rank = q * h.count;
  let prevBound = 0;
  let prevCount = 0;
  for (const [bound, cumulative] of h.buckets) {
    if (cumulative >= rank) {
      if (bound === Infinity) return prevBound;
      return prevBound + ((bound - prevBound) * (rank - prevCount)) / Math.max(1, cumulative - prevCount);
    }
    [prevBound, prevCount] = [bound, cumulative];
  }
  return prevBound;
}

async function run(url: string): Promise<boolean> {
  const [jobs, tasks, sleepMs, concurrency, timeoutS] = [int("jobs"), int("tasks"), int("sleep-ms"), int("concurrency"), int("timeout-s")];
  const clients = TENANT_KEYS.map((apiKey) => createTrpcClient({ url, apiKey }));
  const before = await scrapeQueueWait(url);
  console.log(`Submitting ${jobs} jobs x ${tasks} synthetic tasks (sleepMs ${sleepMs}, concurrencyLimit ${concurrency}) from ${clients.length} tenants...`);
  const started = Date.now();
  const submitted = await Promise.all(
    Array.from({ length: jobs }, (_, i) =>
      clients[i % clients.length]!.optimizations.submit.mutate({
        name: `slo-bench ${i + 1}/${jobs}`,
        strategy: "synthetic",
        dataset: "sp500",
        params: { a: { min: 1, max: tasks, step: 1 }, sleepMs: { values: [sleepMs] } },
        objective: { metric: "score", mode: "max" },
        concurrencyLimit: concurrency,
      }),
    ),
  );
  const client = (i: number) => clients[i % clients.length]!;
  const { allEnded } = await waitForJobs({
    count: jobs,
    fetch: (i) => client(i).optimizations.status.query({ id: submitted[i]!.id }),
    deadline: started + timeoutS * 1000,
    started,
  });
  const elapsedS = (Date.now() - started) / 1000;
  if (!allEnded) {
    console.log(`Timed out after ${timeoutS} s: canceling the jobs still running.`);
    await Promise.all(submitted.map((j, i) => client(i).optimizations.cancel.mutate({ id: j.id, reason: "slo-bench timeout" }).catch(() => undefined)));
    return false;
  }
  // The D1 projection (and with it /metrics) trails the jobs by a flush.
  let after = await scrapeQueueWait(url);
  for (let i = 0; i < 20 && after.count - before.count < jobs * tasks; i++) {
    await sleep(500);
    after = await scrapeQueueWait(url);
  }
  const delta: Histogram = {
    buckets: after.buckets.map(([bound, c], i) => [bound, c - (before.buckets[i]?.[1] ?? 0)]),
    sum: after.sum - before.sum,
    count: after.count - before.count,
  };
  const mean = delta.sum / delta.count;
  const p95 = histogramQuantile(0.95, delta);
  const ok = mean <= SLO_MEAN_S && p95 <= SLO_P95_S;
  console.log(`Ran ${delta.count} task attempts in ${elapsedS.toFixed(1)} s (${(delta.count / elapsedS).toFixed(0)} tasks/s).`);
  console.log(`queue_wait_seconds mean ${mean.toFixed(3)} s (SLO <= ${SLO_MEAN_S} s)  p95 ${p95.toFixed(3)} s (SLO <= ${SLO_P95_S} s): ${ok ? "within the SLO" : "SLO MISSED"}`);
  return ok;
}

process.exitCode = await benchMain(args.url, run);
