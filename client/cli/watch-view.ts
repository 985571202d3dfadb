import cliProgress from "cli-progress";
import type { JobSpec } from "../../schema/job";
import { isTerminalStatus } from "../../schema/status";
import { duration, integer, rate } from "../format";
import type { LiveJob } from "../live";
import { progressLine, topNTable } from "./render";

/** Where a watch draws: the terminal in place, plain lines for a pipe, or one JSON object a line. */
export interface WatchView {
  update(job: LiveJob): void;
  /** The last state, drawn for good (the final Top-N stays on the screen). */
  finish(job: LiveJob): void;
  /** Leaves the terminal as it was (the cursor shown) when the watch ends without a last state. */
  abort(): void;
}

export interface ViewOutput {
  write(text: string): void;
  isTTY: boolean;
  columns?: number;
}

/** Least time between two plain lines: a pipe gets a line a second, not one per update. */
const PLAIN_EVERY_MS = 1_000;

/** A terminal: a progress bar with counts, rate and ETA, and the Top-N table below it, redrawn in place. */
function ttyView(out: NodeJS.WriteStream | ViewOutput, spec: Pick<JobSpec, "objective" | "params">): WatchView {
  const stream = out as NodeJS.WriteStream;
  const multi = new cliProgress.MultiBar(
    {
      stream,
      format: (_options, params, payload: { text?: string }) =>
        payload.text ?? `${cliProgress.Format.BarFormat(params.progress, _options)} ${integer(params.value)}/${integer(params.total)}`,
      hideCursor: true,
      clearOnComplete: false,
      barsize: 30,
      autopadding: true,
      // The watch decides when to draw (on each update); no timer of the bar's own.
      noTTYOutput: false,
      forceRedraw: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const bar = multi.create(1, 0, {});
  const status = multi.create(1, 0, { text: "" });
  const lines: cliProgress.SingleBar[] = [];
  const paramNames = Object.keys(spec.params);
  const draw = (job: LiveJob) => {
    const s = job.summary;
    bar.setTotal(Math.max(1, s.total));
    bar.update(s.finished);
    status.update(0, { text: `${job.status}  ${integer(s.succeeded)} ok  ${integer(s.failed)} failed  ${integer(s.running)} running  ${rate(job.stats.throughputPerSec)}${isTerminalStatus(job.status) ? "" : `  ETA ${duration(job.stats.etaSeconds)}`}` });
    const rows = s.topN.length > 0 ? topNTable(s.topN, spec.objective.metric, paramNames).split("\n") : [];
    while (lines.length < rows.length) lines.push(multi.create(1, 0, { text: "" }));
    lines.forEach((line, i) => line.update(0, { text: rows[i] ?? "" }));
  };
  return {
    update: draw,
    finish(job) {
      draw(job);
      multi.stop();
    },
    abort: () => multi.stop(),
  };
}

/** A pipe or a file: a progress line at most every second, the Top-N table once at the end. */
function plainView(out: ViewOutput, spec: Pick<JobSpec, "objective" | "params">, now: () => number): WatchView {
  let last = -Infinity;
  let lastLine = "";
  const line = (job: LiveJob) => {
    lastLine = progressLine(job);
    out.write(`${lastLine}\n`);
  };
  return {
    update(job) {
      if (now() - last < PLAIN_EVERY_MS) return;
      last = now();
      line(job);
    },
    finish(job) {
      if (progressLine(job) !== lastLine) line(job);
      if (job.summary.topN.length > 0) out.write(`\nTop ${job.summary.topN.length} by ${spec.objective.metric} (${spec.objective.mode}):\n${topNTable(job.summary.topN, spec.objective.metric, Object.keys(spec.params))}\n`);
    },
    abort: () => undefined,
  };
}

/** `--json`: each update as one JSON line (NDJSON), the last one the job as it ended (never twice). */
function jsonView(out: ViewOutput): WatchView {
  let lastLine = "";
  const write = (job: LiveJob) => {
    const line = JSON.stringify(job);
    if (line === lastLine) return;
    lastLine = line;
    out.write(`${line}\n`);
  };
  return { update: write, finish: write, abort: () => undefined };
}

export function createWatchView(out: ViewOutput, spec: Pick<JobSpec, "objective" | "params">, json: boolean, now: () => number = Date.now): WatchView {
  if (json) return jsonView(out);
  return out.isTTY ? ttyView(out, spec) : plainView(out, spec, now);
}
