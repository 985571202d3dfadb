import { describe, expect, it } from "vitest";
import type { Page, Task } from "../../schema";
import sp500Csv from "../../node_modules/vega-datasets/data/sp500-2000.csv";
import { api, submit, waitForEnd } from "../helpers";

/**
 * The issue's definitions written out plainly, from the raw CSV, without any engine code: an
 * independent check of what the whole pipeline (API, DO, Queue, consumer, engine) reports.
 */
function reference(closes: number[], fast: number, slow: number) {
  const sma = (w: number, t: number) => {
    let s = 0;
    for (let i = t - w + 1; i <= t; i++) s += closes[i]!;
    return s / w;
  };
  const r: number[] = [];
  const positions: number[] = [];
  for (let t = slow; t < closes.length; t++) {
    const p = sma(fast, t - 1) > sma(slow, t - 1) ? 1 : 0;
    positions.push(p);
    r.push(p * (closes[t]! / closes[t - 1]! - 1));
  }
  const n = r.length;
  const mean = r.reduce((a, b) => a + b, 0) / n;
  const std = Math.sqrt(r.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  let equity = 1;
  let peak = 1;
  let maxDrawdown = 0;
  for (const x of r) {
    equity *= 1 + x;
    peak = Math.max(peak, equity);
    maxDrawdown = Math.min(maxDrawdown, equity / peak - 1);
  }
  const trades = positions.filter((p, i) => p !== 0 && (i === 0 ? 0 : positions[i - 1]) === 0).length;
  return {
    totalReturn: equity - 1,
    sharpe: std === 0 ? 0 : (mean / std) * Math.sqrt(252),
    volatility: std * Math.sqrt(252),
    maxDrawdown,
    trades,
    exposure: positions.filter((p) => p !== 0).length / n,
  };
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

describe("a 20x20 SMA grid on the S&P 500 through REST", () => {
  it("reports, for every task, metrics equal to the definitions computed independently", async () => {
    const closes = sp500Csv
      .trim()
      .split("\n")
      .slice(1)
      .map((line) => Number(line.split(",")[4]));
    expect(closes).toHaveLength(5105);
    const job = await submit({
      strategy: "sma-crossover",
      dataset: "sp500",
      params: { fast: { min: 5, max: 100, step: 5 }, slow: { min: 110, max: 300, step: 10 } },
      objective: { metric: "sharpe", mode: "max" },
      concurrencyLimit: 4,
    });
    expect(job.summary.total).toBe(400);
    const done = await waitForEnd(job.id);
    expect(done.summary).toMatchObject({ succeeded: 400, failed: 0 });
    const tasks: Task[] = [];
    for (let cursor: string | null = null; ; ) {
      const page: { body: Page<Task> } = await api<Page<Task>>("GET", `/api/v1/optimizations/${job.id}/tasks?limit=500${cursor ? `&cursor=${cursor}` : ""}`);
      tasks.push(...page.body.items);
      cursor = page.body.nextCursor;
      if (!cursor) break;
    }
    expect(tasks).toHaveLength(400);
    const mismatches: string[] = [];
    for (const task of tasks) {
      const expected = reference(closes, task.params.fast as number, task.params.slow as number);
      for (const [metric, value] of Object.entries(expected)) {
        if (!close(task.metrics![metric]!, value)) mismatches.push(`${JSON.stringify(task.params)} ${metric}: ${task.metrics![metric]} vs ${value}`);
      }
    }
    expect(mismatches).toEqual([]);
    const best = [...tasks].sort((a, b) => b.score! - a.score! || a.index - b.index)[0]!;
    expect(done.summary.topN[0]!.params).toEqual(best.params);
  });
});
