import { describe, expect, it } from "vitest";
import type { ApiErrorBody, Page, Task } from "../../schema";
import { api, range, submit, synthetic, waitForEnd } from "../helpers";

describe("parameter constraints", () => {
  it("never dispatch or count the combinations they reject", async () => {
    const job = await submit({
      strategy: "sma-crossover",
      dataset: "sp500",
      params: { fast: range(10, 50, 10), slow: range(20, 60, 20) },
      constraints: [{ left: "fast", op: "<", right: "slow" }],
      objective: { metric: "sharpe", mode: "max" },
    });
    // fast 10..50 x slow 20,40,60 = 15 combinations, 9 with fast < slow.
    expect(job.summary.total).toBe(9);
    const done = await waitForEnd(job.id);
    expect(done.summary).toMatchObject({ total: 9, succeeded: 9, failed: 0 });
    const tasks = await api<Page<Task>>("GET", `/api/v1/optimizations/${job.id}/tasks`);
    expect(tasks.body.items.map((t) => [t.params.fast, t.params.slow])).toEqual([
      [10, 20], [10, 40], [10, 60], [20, 40], [20, 60], [30, 40], [30, 60], [40, 60], [50, 60],
    ]);
  });

  it("page through every accepted combination", async () => {
    const job = await submit(
      synthetic({ fast: range(1, 10), slow: range(1, 10), sleepMs: { values: [50] } }, { constraints: [{ left: "fast", op: "<", right: "slow" }] }),
    );
    expect(job.summary.total).toBe(45);
    const seen: number[] = [];
    for (let cursor: string | null = null, pages = 0; pages < 10; pages++) {
      const page: { body: Page<Task> } = await api<Page<Task>>("GET", `/api/v1/optimizations/${job.id}/tasks?limit=10${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...page.body.items.map((t) => t.index));
      cursor = page.body.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toHaveLength(45);
    expect(new Set(seen).size).toBe(45);
    await api("POST", `/api/v1/optimizations/${job.id}/cancel`);
  });

  it("are checked at submit: unknown names, ordering of strings, nothing left", async () => {
    const cases = [
      { constraints: [{ left: "a", op: "<", right: "zz" }], path: "constraints.0" },
      { constraints: [{ left: "s", op: "<", right: "a" }], path: "constraints.0.op" },
      { constraints: [{ left: "a", op: ">", right: 100 }], path: "params" },
    ] as const;
    for (const c of cases) {
      const res = await api<ApiErrorBody>("POST", "/api/v1/optimizations", {
        body: synthetic({ a: range(1, 3), s: { values: ["x", "y"] } }, { constraints: [...c.constraints] }),
      });
      expect(res.status, JSON.stringify(c)).toBe(422);
      expect(res.body.error.details?.map((d) => d.path)).toContain(c.path);
    }
  });
});

describe("result constraints", () => {
  it("keep breaking results out of Top-N and early stop, and mark them", async () => {
    const job = await submit(
      synthetic({ a: range(1, 10) }, {
        concurrencyLimit: 1,
        resultConstraints: [{ metric: "score", op: ">=", value: 5 }],
        earlyStopPolicy: { metric: "score", threshold: 2, mode: "max" },
      }),
    );
    const done = await waitForEnd(job.id);
    // a = 2..4 reach the threshold but break the constraint; a = 5 is the first that stops the job.
    expect(done.status).toBe("early-stopped");
    expect(done.stopReason).toMatchObject({ value: 5 });
    expect(done.summary.succeeded).toBe(5);
    expect(done.summary.topN.map((e) => e.score)).toEqual([5]);
    const tasks = await api<Page<Task>>("GET", `/api/v1/optimizations/${job.id}/tasks?status=succeeded`);
    expect(tasks.body.items.map((t) => t.resultConstraintsMet)).toEqual([false, false, false, false, true]);
  });

  it("must name a metric of the strategy", async () => {
    const res = await api<ApiErrorBody>("POST", "/api/v1/optimizations", {
      body: synthetic({ a: range(1, 3) }, { resultConstraints: [{ metric: "trades", op: ">=", value: 1 }] }),
    });
    expect(res.status).toBe(422);
    expect(res.body.error.details?.map((d) => d.path)).toEqual(["resultConstraints.0.metric"]);
  });
});
