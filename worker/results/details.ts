import { type BacktestOptions, type Job, type ParamSet, type ResultDetail, type ResultSummary, type Task } from "../../schema";
import { createAdmittedGrid } from "../../lib/grid";
import type { Lease } from "../datasets/byte-budget-cache";
import { runBacktest } from "../engine/run-backtest";
import { getStrategy } from "../engine/strategies";
import type { Bars, SeriesCache, Strategy } from "../engine/types";
import type { Env } from "../env";
import { jobStub } from "../job-ref";
import { acquireDatasetBars } from "../datasets/service";
import { barsDigest, dataRefOf, detailKeyOf, type DataIdentity } from "./content-key";
import { getResultDetail, putResultDetail } from "./store";
import { resultDetailOf, resultSummaryOf } from "./summary";

/** One succeeded task's backtest, as its job's spec and the grid define it. */
export interface DetailRun {
  tenant: string;
  strategy: Strategy;
  dataset: string;
  params: ParamSet;
  options: BacktestOptions;
  /** The attempt that succeeded (only the synthetic strategy reads it). */
  attempt: number;
}

export interface DetailDeps {
  bucket: R2Bucket;
  /** The run's bars, held until released (worker/datasets/service.ts acquireDatasetBars). */
  loadBars: () => Promise<Lease<Bars>>;
  cache: SeriesCache;
}

/**
 * A run's detail: from R2 under its content key when stored, else computed with details on and
 * stored there. Built-ins are keyed by their content (the bars load once per isolate, so that is
 * cheap); uploads by tenant and pinned id, so a hit reads no bars at all.
 */
export async function resultDetailFor(deps: DetailDeps, run: DetailRun): Promise<ResultDetail> {
  const held: { lease?: Lease<Bars> } = {};
  const bars = async () => (held.lease ??= await deps.loadBars()).value;
  try {
    const ref = dataRefOf(run.tenant, run.dataset, run.strategy.needsBars);
    const data: DataIdentity | null = ref?.kind === "builtin" ? { kind: "builtin", id: run.dataset, digest: await barsDigest(await bars()) } : ref;
    const key = data && (await detailKeyOf(run.strategy, data, run.params, run.options));
    const stored = key && (await getResultDetail(deps.bucket, key));
    if (stored) return stored;
    const runBars = run.strategy.needsBars ? await bars() : null;
    const result = await runBacktest(run.strategy, { bars: runBars!, params: run.params, attempt: run.attempt, cache: deps.cache, options: run.options, detail: true });
    const detail = resultDetailOf(result, runBars?.annualisation ?? null);
    if (key) await putResultDetail(deps.bucket, key, detail);
    return detail;
  } finally {
    held.lease?.release();
  }
}

type JobStub = ReturnType<typeof jobStub>;

/** A task whose result can be detailed, with its backtest; or why there is none. */
export type ResolvedTask = { ok: true; task: Task; run: DetailRun } | { ok: false; reason: string };

/** The job's task at `index` if it succeeded, and its backtest (params from the grid, as the job dispatched them). */
export async function resolveTask(stub: JobStub, tenant: string, job: Job, index: number): Promise<ResolvedTask> {
  const missing = { ok: false, reason: `job ${job.id} has no task ${index}` } as const;
  const grid = createAdmittedGrid(job.spec.params, job.spec.constraints);
  if (index >= grid.size || !grid.accepts(index)) return missing;
  // Tasks list in grid order: the page after index - 1 starts with this one.
  const page = await stub.listTasks({ limit: 1, ...(index > 0 ? { cursor: String(index - 1) } : {}) });
  const task = page?.items[0];
  if (!task || task.index !== index) return missing;
  if (task.status !== "succeeded") return { ok: false, reason: `task ${task.taskId} is ${task.status}: only a succeeded task has a result` };
  const strategy = getStrategy(job.strategy);
  if (!strategy) return { ok: false, reason: `this version has no strategy "${job.strategy}"` };
  const { feeBps, slippageBps, execution } = job.spec;
  const options = { feeBps, slippageBps, execution };
  return { ok: true, task, run: { tenant, strategy, dataset: job.spec.dataset, params: grid.paramsAt(index), options, attempt: task.attempt } };
}

const RESULT_ID = /^(.+)\.(\d+)(?:\.a\d+)?$/;

/** The job and task index a result summary id names (ids checked by schema's ResultSummaryId). */
export function resultRefOf(id: string): { jobId: string; index: number } {
  const m = RESULT_ID.exec(id)!;
  return { jobId: m[1]!, index: Number(m[2]) };
}

/**
 * The result summary of a tenant's task, computed on demand (see resultDetailFor). `missing` says
 * why there is none: no such job for this tenant (its DO is named by tenant and job id, so another
 * tenant's job is never found), no such task, or a task that has not succeeded.
 */
export async function resultSummaryFor(
  env: Env,
  tenant: string,
  id: string,
  deps: Omit<DetailDeps, "bucket" | "loadBars">,
): Promise<{ ok: true; summary: ResultSummary } | { ok: false; reason: string }> {
  const { jobId, index } = resultRefOf(id);
  const stub = jobStub(env, tenant, jobId);
  const job = await stub.status();
  if (!job) return { ok: false, reason: `no result ${id}` };
  const resolved = await resolveTask(stub, tenant, job, index);
  if (!resolved.ok) return resolved;
  const { task, run } = resolved;
  const detail = await resultDetailFor({ ...deps, bucket: env.RESULTS, loadBars: () => acquireDatasetBars(env, tenant, run.dataset) }, run);
  const identity = {
    id: task.taskId,
    jobId,
    tenant,
    index,
    attempt: task.attempt,
    strategy: job.strategy,
    dataset: run.dataset,
    params: run.params,
    execMs: task.execMs ?? 0,
    createdAt: job.createdAt,
  };
  return { ok: true, summary: resultSummaryOf(identity, detail) };
}
