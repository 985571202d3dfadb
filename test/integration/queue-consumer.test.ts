import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, range, submit, synthetic, waitFor } from "../helpers";
import type { TaskChunkMessage } from "../../schema";
import worker from "../../worker/index";

describe("the Queue consumer", () => {
  it("acks and drops a malformed message instead of redelivering it forever", async () => {
    const batch = createMessageBatch("optimizer-tasks", [{ id: "m1", timestamp: new Date(), attempts: 1, body: { hello: "world" } }]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual(["m1"]);
    expect(result.retryMessages).toEqual([]);
  });

  it("acks a chunk whose job does not exist without running it", async () => {
    const body: TaskChunkMessage = {
      v: 1,
      jobId: "no-such-job",
      tenant: "tenant-a",
      chunkId: "c1",
      strategy: "synthetic",
      dataset: "sp500",
      options: { feeBps: 0, slippageBps: 0, execution: "close" },
      enqueuedAt: Date.now(),
      tasks: [{ index: 0, attempt: 1 }],
    };
    const batch = createMessageBatch("optimizer-tasks", [{ id: "m2", timestamp: new Date(), attempts: 1, body }]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual(["m2"]);
    expect((await env.RESULTS.list()).objects).toEqual([]);
  });
});

describe("chunks whose message will never run", () => {
  it("a dead letter or an unreadable message fails its chunk's attempt, and the job goes on to its end", async () => {
    // Two chunks of one slow task each: both are in flight while the test speaks for the queue.
    const job = await submit(synthetic({ a: range(1, 2), sleepMs: { values: [2_500] } }, { concurrencyLimit: 2, maxRetries: 0 }));
    const ref = { jobId: job.id, tenant: "tenant-a" };
    const dead = createMessageBatch("optimizer-tasks-dlq", [{ id: "d1", timestamp: new Date(), attempts: 1, body: { v: 1, ...ref, chunkId: "c1", tasks: [] } }]);
    const unreadable = createMessageBatch("optimizer-tasks", [{ id: "u1", timestamp: new Date(), attempts: 1, body: { v: 99, ...ref, chunkId: "c2" } }]);
    const ctx = createExecutionContext();
    await worker.queue(dead, env);
    await worker.queue(unreadable, env);
    expect((await getQueueResult(dead, ctx)).explicitAcks).toEqual(["d1"]);
    expect((await getQueueResult(unreadable, ctx)).explicitAcks).toEqual(["u1"]);
    const ended = await waitFor(async () => {
      const res = await api<{ status: string }>("GET", `/api/v1/optimizations/${job.id}`);
      return res.body.status === "failed" ? res.body : null;
    }, { what: "the job to fail" });
    expect(ended).toMatchObject({ status: "failed", summary: { failed: 2, succeeded: 0 } });
    const tasks = await api<{ items: { errorKind: string; errorMessage: string }[] }>("GET", `/api/v1/optimizations/${job.id}/tasks`);
    expect(tasks.body.items.map((t) => t.errorKind)).toEqual(["InternalError", "InternalError"]);
    expect(tasks.body.items.map((t) => t.errorMessage)).toEqual([expect.stringMatching(/dead-lettered/), expect.stringMatching(/could not read the chunk's message/)]);
  });
});
