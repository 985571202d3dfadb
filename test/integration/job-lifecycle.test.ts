import { describe, expect, it } from "vitest";
import type { Job, Page, Task } from "../../schema";
import { api, d1TaskCounts, range, submit, synthetic, waitFor, waitForEnd } from "../helpers";

describe("a synthetic 10x10 grid", () => {
  it("finishes with every task succeeded and the exact Top-N", async () => {
    const job = await submit(synthetic({ a: range(1, 10), b: range(0, 90, 10) }, { topN: 5, concurrencyLimit: 3 }));
    expect(job.summary.total).toBe(100);
    const done = await waitForEnd(job.id);
    expect(done.status).toBe("succeeded");
    expect(done.summary).toMatchObject({ total: 100, finished: 100, succeeded: 100, failed: 0, canceled: 0, running: 0, queued: 0 });
    // Independently: every combination in grid order (b fastest), best score first, ties by index.
    const all = Array.from({ length: 100 }, (_, i) => ({ a: 1 + Math.floor(i / 10), b: (i % 10) * 10, index: i }));
    const expected = all.sort((x, y) => y.a + y.b - (x.a + x.b) || x.index - y.index).slice(0, 5);
    expect(done.summary.topN.map((e) => ({ ...e.params, index: e.index }))).toEqual(expected);
    expect(done.summary.topN.map((e) => e.score)).toEqual([100, 99, 98, 97, 96]);
    expect(done.summary.topN.every((e) => e.resultSummaryId !== null)).toBe(true);

    const counts = await waitFor(async () => {
      const c = await d1TaskCounts(job.id);
      return c.succeeded === 100 ? c : null;
    }, { what: "D1 projection" });
    expect(counts).toEqual({ succeeded: 100 });
    const tasks = await api<Page<Task>>("GET", `/api/v1/optimizations/${job.id}/tasks?limit=200`);
    expect(tasks.body.items).toHaveLength(100);
    expect(tasks.body.nextCursor).toBeNull();
    expect(tasks.body.items[37]).toMatchObject({ index: 37, params: { a: 4, b: 70 }, status: "succeeded", score: 74, attempt: 1, retries: 0 });
  });
});
