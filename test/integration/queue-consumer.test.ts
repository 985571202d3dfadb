import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
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
      tasks: [{ index: 0, attempt: 1, params: { a: 1 } }],
    };
    const batch = createMessageBatch("optimizer-tasks", [{ id: "m2", timestamp: new Date(), attempts: 1, body }]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual(["m2"]);
    expect(await env.RESULTS.list({ prefix: "tenant-a/results/no-such-job" })).toMatchObject({ objects: [] });
  });
});
