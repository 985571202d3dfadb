import Table from "cli-table3";
import type { Job, JobListItem, Task, TopNEntry } from "../../schema/job";
import type { StrategyInfo } from "../../schema/catalog";
import type { Dataset } from "../../schema/dataset";
import type { ResultSummary } from "../../schema/result";
import { KEY_METRICS, duration, integer, metric, paramValue, percent, rate } from "../format";
import type { LiveJob } from "../live";

const table = (head: string[], rows: string[][], alignLeft = 1): string => {
  const t = new Table({
    head,
    style: { head: [], border: [], compact: true },
    colAligns: head.map((_, i) => (i < alignLeft ? "left" : "right")),
    chars: { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" },
  });
  t.push(...rows);
  return t.toString();
};

/** The Top-N as a table: rank, the params, the objective, key metrics. */
export function topNTable(topN: readonly TopNEntry[], objective: string, paramNames: readonly string[]): string {
  const extra = KEY_METRICS.filter((m) => m !== objective && topN.some((e) => m in e.metrics));
  return table(
    ["#", ...paramNames, objective, ...extra],
    topN.map((e, i) => [String(i + 1), ...paramNames.map((p) => paramValue(e.params[p])), metric(objective, e.score), ...extra.map((m) => metric(m, e.metrics[m]))]),
  );
}

/** One line: status, finished/total (percent), failures, rate, ETA. */
export function progressLine(job: LiveJob): string {
  const s = job.summary;
  const share = s.total > 0 ? s.finished / s.total : 0;
  const eta = job.status === "queued" || job.status === "running" ? `  ETA ${duration(job.stats.etaSeconds)}` : "";
  const failed = s.failed > 0 ? `  ${integer(s.failed)} failed` : "";
  return `${job.status}  ${integer(s.finished)}/${integer(s.total)} (${percent(share)})${failed}  ${rate(job.stats.throughputPerSec)}${eta}`;
}

export function stopReasonLine(job: Pick<Job, "stopReason">): string | null {
  const r = job.stopReason;
  if (!r) return null;
  if (r.kind === "cancel") return `canceled${r.reason ? `: ${r.reason}` : ""} at ${r.at}`;
  return `early stop: ${r.metric} reached ${metric(r.metric, r.value)} (${r.mode === "max" ? ">=" : "<="} ${r.threshold}) at task ${r.taskId}`;
}

/** What `status` prints: the job, its counts and its Top-N. */
export function jobReport(job: Job): string {
  const s = job.summary;
  const lines = [
    `job      ${job.id}${job.name ? ` (${job.name})` : ""}`,
    `status   ${job.status}`,
    `grid     ${job.strategy} on ${job.dataset}, ${integer(s.total)} tasks: ${integer(s.succeeded)} succeeded, ${integer(s.failed)} failed, ${integer(s.canceled)} canceled, ${integer(s.running)} running, ${integer(s.queued)} queued, ${integer(s.retries)} retries`,
    `progress ${progressLine(job)}`,
  ];
  const reason = stopReasonLine(job);
  if (reason) lines.push(`stopped  ${reason}`);
  if (s.topN.length > 0) lines.push("", `Top ${s.topN.length} by ${job.spec.objective.metric} (${job.spec.objective.mode}):`, topNTable(s.topN, job.spec.objective.metric, Object.keys(job.spec.params)));
  return lines.join("\n");
}

export const jobsTable = (jobs: readonly JobListItem[]): string =>
  table(
    ["id", "name", "strategy", "dataset", "status", "finished", "created"],
    jobs.map((j) => [j.id, j.name ?? "", j.strategy, j.dataset, j.status, `${integer(j.summary.finished)}/${integer(j.summary.total)}`, j.createdAt]),
    5,
  );

export const tasksTable = (tasks: readonly Task[]): string =>
  table(
    ["index", "status", "attempt", "params", "score", "error"],
    tasks.map((t) => [
      String(t.index),
      t.status,
      String(t.attempt),
      Object.entries(t.params)
        .map(([k, v]) => `${k}=${paramValue(v)}`)
        .join(" "),
      t.score === null ? "" : String(t.score),
      t.errorKind ? `${t.errorKind}: ${t.errorMessage ?? ""}` : "",
    ]),
    4,
  );

export const strategiesTable = (strategies: readonly StrategyInfo[]): string =>
  strategies
    .map((s) => {
      const params = s.params.map((p) => `  ${p.name}${p.optional ? " (optional)" : ""}: ${p.description} default ${JSON.stringify(p.default)}`);
      return [`${s.id}: ${s.description}`, ...params, `  metrics: ${s.metrics.join(", ")}${s.openParams ? "; takes any other params" : ""}`].join("\n");
    })
    .join("\n\n");

export const datasetsTable = (datasets: readonly Dataset[]): string =>
  table(
    ["id", "kind", "bars", "first", "last", "description"],
    datasets.map((d) => [d.id, d.kind, integer(d.bars), d.firstDate, d.lastDate, d.description ?? ""]),
    2,
  );

export function resultReport(r: ResultSummary): string {
  const params = Object.entries(r.params)
    .map(([k, v]) => `${k}=${paramValue(v)}`)
    .join(" ");
  const metrics = Object.entries(r.metrics).map(([k, v]) => `  ${k.padEnd(14)} ${metric(k, v)}`);
  const first = r.equity[0];
  const last = r.equity.at(-1);
  return [
    `result   ${r.id} (job ${r.jobId}, task ${r.index}, attempt ${r.attempt})`,
    `backtest ${r.strategy} on ${r.dataset}: ${params}`,
    ...metrics,
    `equity   ${r.equity.length} points${first && last ? `, ${new Date(first[0]).toISOString().slice(0, 10)} to ${new Date(last[0]).toISOString().slice(0, 10)}, ${last[1].toFixed(3)}x` : ""}`,
    `trades   ${r.trades.length} listed${r.tradesOmitted > 0 ? `, ${r.tradesOmitted} omitted` : ""}`,
  ].join("\n");
}
