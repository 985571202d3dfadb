/** Bucket upper bounds in seconds; they resolve the SLO's 30 s mean and 120 s p95 of queue wait. */
export const QUEUE_WAIT_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600] as const;
/** One backtest takes from tens of microseconds (SMA on daily bars) to seconds (synthetic sleeps). */
export const EXEC_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30] as const;

export interface HistogramDef {
  kind: "histogram";
  name: string;
  help: string;
  buckets: readonly number[];
}
export interface CounterDef {
  kind: "counter" | "gauge";
  name: string;
  help: string;
}
export type MetricDef = HistogramDef | CounterDef;

export const QUEUE_WAIT: HistogramDef = {
  kind: "histogram",
  name: "queue_wait_seconds",
  help: "Time from a chunk's enqueue to the consumer starting each of its tasks.",
  buckets: QUEUE_WAIT_BUCKETS,
};
export const JOB_EXEC: HistogramDef = { kind: "histogram", name: "job_exec_seconds", help: "Execution time of one backtest attempt.", buckets: EXEC_BUCKETS };
export const JOB_RETRY: CounterDef = { kind: "counter", name: "job_retry_total", help: "Task attempts retried, by error kind." };
export const TASKS_ENDED: CounterDef = { kind: "counter", name: "optimizer_tasks_total", help: "Tasks that reached a terminal status, by status." };
export const JOBS_ENDED: CounterDef = { kind: "counter", name: "optimizer_jobs_total", help: "Jobs that reached a terminal status, by status." };
export const TASKS_IN_FLIGHT: CounterDef = { kind: "gauge", name: "optimizer_tasks_in_flight", help: "Tasks dispatched and not yet reported, over running jobs." };

export const ALL_METRICS: readonly MetricDef[] = [QUEUE_WAIT, JOB_EXEC, JOB_RETRY, TASKS_ENDED, JOBS_ENDED, TASKS_IN_FLIGHT];

/** One stored series: a metric's sample name (with _bucket/_sum/_count) and its canonical label string. */
export interface SeriesKey {
  name: string;
  labels: string;
}

/** A series and its value: a counter's total or an increment not yet flushed. */
export interface Sample extends SeriesKey {
  value: number;
}

export const labelString = (labels: Record<string, string>): string =>
  Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k]!.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")}"`)
    .join(",");

export const seriesId = ({ name, labels }: SeriesKey): string => `${name}{${labels}}`;

/** The series an observation adds to: its (non-cumulative) bucket, the sum and the count. */
export function histogramSeries(def: HistogramDef, seconds: number): { key: SeriesKey; add: number }[] {
  const bucket = def.buckets.find((b) => seconds <= b);
  return [
    { key: { name: `${def.name}_bucket`, labels: labelString({ le: bucket === undefined ? "+Inf" : String(bucket) }) }, add: 1 },
    { key: { name: `${def.name}_sum`, labels: "" }, add: seconds },
    { key: { name: `${def.name}_count`, labels: "" }, add: 1 },
  ];
}
