import { describe, expect, it } from "vitest";
import type { Job } from "../../schema/job";
import { createWatchView } from "./watch-view";
import { EXIT, exitCodeFor } from "./exit-codes";
import { parseParam, specFrom } from "./spec-flags";
import { UsageError } from "./exit-codes";

const spec = { objective: { metric: "sharpe", mode: "max" as const }, params: { fast: { min: 5, max: 50, step: 5 } } };
const entry = (fast: number, sharpe: number) => ({ taskId: `j.${fast}`, index: fast, params: { fast }, score: sharpe, metrics: { sharpe, trades: 3 }, resultSummaryId: null });
const job = (status: Job["status"], finished: number, topN = [entry(10, 0.5)]): Job =>
  ({
    id: "j",
    status,
    summary: { total: 10, finished, succeeded: finished, failed: 0, canceled: 0, running: 0, queued: 10 - finished, retries: 0, topN },
    stats: { throughputPerSec: 12.5, etaSeconds: 3, queueWait: {}, exec: {}, retries: 0 },
  }) as unknown as Job;

function capture(isTTY: boolean) {
  let text = "";
  return { out: { write: (t: string) => (text += t), isTTY, columns: 100 }, text: () => text };
}

describe("gridopt watch output", () => {
  it("plain (a pipe): a line at most every second, then the final line and the Top-N once", () => {
    const { out, text } = capture(false);
    let now = 0;
    const view = createWatchView(out, spec, false, () => now);
    view.update(job("running", 2));
    now = 500;
    view.update(job("running", 4));
    now = 1_000;
    view.update(job("running", 6));
    view.finish(job("succeeded", 10, [entry(10, 0.5), entry(20, 0.4)]));
    const lines = text().split("\n");
    expect(lines.slice(0, 3)).toEqual(["running  2/10 (20.0%)  12.5 tasks/s  ETA 3 s", "running  6/10 (60.0%)  12.5 tasks/s  ETA 3 s", "succeeded  10/10 (100.0%)  12.5 tasks/s"]);
    expect(text()).toContain("Top 2 by sharpe (max):");
    expect(lines.filter((l) => /^│ \d /.test(l)).map((l) => l.replace(/\s+/g, " "))).toEqual(["│ 1 │ 10 │ 0.500 │ 3 │", "│ 2 │ 20 │ 0.400 │ 3 │"]);
  });

  it("a terminal: the bar and the Top-N redrawn in place (cursor moves), the last state left on screen", () => {
    const { out, text } = capture(true);
    const view = createWatchView(out, spec, false);
    view.update(job("running", 3));
    view.finish(job("succeeded", 10, [entry(30, 0.7)]));
    expect(text()).toMatch(/\u001b\[\d*[AF]|\u001b\[1G|\r/);
    expect(text()).toContain("succeeded  10 ok  0 failed");
    expect(text()).not.toMatch(/succeeded [^\n]*ETA/);
    expect(text()).toMatch(/│ 1 +│ +30 │ +0\.700 │/);
  });

  it("--json: one JSON object a line, the final job once though the watch also passed it as an update", () => {
    const { out, text } = capture(true);
    const view = createWatchView(out, spec, true);
    view.update(job("running", 3));
    view.update(job("succeeded", 10));
    view.finish(job("succeeded", 10));
    expect(text().trim().split("\n").map((l) => (JSON.parse(l) as Job).summary.finished)).toEqual([3, 10]);
  });
});

describe("gridopt's spec flags and exit codes", () => {
  it("reads axes, rules and the objective; flags override the spec file's fields", () => {
    expect(parseParam("fast=5:50:5")).toEqual(["fast", { min: 5, max: 50, step: 5 }]);
    expect(parseParam("allowShort=true,false")).toEqual(["allowShort", { values: [true, false] }]);
    expect(parseParam("mode=a,b")).toEqual(["mode", { values: ["a", "b"] }]);
    expect(() => parseParam("fast")).toThrow(UsageError);
    const spec = specFrom(
      { strategy: "sma-crossover", dataset: "sp500", params: { fast: { values: [1] }, slow: { values: [9] } }, objective: { metric: "sharpe", mode: "max" }, topN: 3 },
      { param: ["fast=5:10:5"], constraint: ["fast < slow", "slow >= 20", "fast != true"], resultConstraint: ["trades >= 5"], earlyStop: "sharpe>=1.5", topN: "7", objective: "calmar:max" },
    );
    expect(spec).toEqual({
      strategy: "sma-crossover",
      dataset: "sp500",
      params: { fast: { min: 5, max: 10, step: 5 }, slow: { values: [9] } },
      objective: { metric: "calmar", mode: "max" },
      topN: 7,
      earlyStopPolicy: { metric: "sharpe", threshold: 1.5, mode: "max" },
      // The right side is a param's name or a number, as the API takes it: "true" stays text (a name the API then refuses).
      constraints: [
        { left: "fast", op: "<", right: "slow" },
        { left: "slow", op: ">=", right: 20 },
        { left: "fast", op: "!=", right: "true" },
      ],
      resultConstraints: [{ metric: "trades", op: ">=", value: 5 }],
    });
    expect(() => specFrom(null, { param: [], constraint: [], resultConstraint: [], strategy: "x" })).toThrow(/no dataset/);
    expect(() => specFrom(null, { param: ["a=1:2:1"], constraint: [], resultConstraint: [], strategy: "x", dataset: "d", objective: "m:best" })).toThrow(/--objective/);
    expect(() => specFrom(null, { param: ["a=1:2:1"], constraint: [], resultConstraint: [], strategy: "x", dataset: "d", objective: "m:max", earlyStop: "m>1" })).toThrow(/--early-stop/);
  });

  it("exits 0 for a job that succeeded or stopped early, distinct codes otherwise", () => {
    expect([exitCodeFor("succeeded"), exitCodeFor("early-stopped"), exitCodeFor("running"), exitCodeFor("failed"), exitCodeFor("canceled")]).toEqual([EXIT.ok, EXIT.ok, EXIT.ok, EXIT.failed, EXIT.canceled]);
    expect(new Set(Object.values(EXIT)).size).toBe(Object.values(EXIT).length);
  });
});
