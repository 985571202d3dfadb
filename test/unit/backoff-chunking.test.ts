import { describe, expect, it } from "vitest";
import { retryDelayMs } from "../../durable-objects/backoff";
import { nextChunkSize, packSendBatches, updateAvgExecMs } from "../../durable-objects/chunking";

describe("retry backoff", () => {
  const opts = { baseMs: 100, capMs: 1_000 };
  it("doubles per retry within [ceiling/2, ceiling], capped", () => {
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(n, opts, () => 0))).toEqual([50, 100, 200, 400, 500]);
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(n, opts, () => 1))).toEqual([100, 200, 400, 800, 1000]);
    expect(retryDelayMs(2, opts, () => 0.5)).toBe(150);
  });
});

describe("chunk sizing", () => {
  const base = { targetChunkMs: 1_000, minChunkMs: 0, maxChunkTasks: 256, remaining: 10_000, freeSlots: 4 };
  it("starts with one task until execution times are known", () => {
    expect(nextChunkSize({ ...base, avgExecMs: null })).toBe(1);
  });
  it("aims at the target duration, within the cap", () => {
    expect(nextChunkSize({ ...base, avgExecMs: 50 })).toBe(20);
    expect(nextChunkSize({ ...base, avgExecMs: 2_000 })).toBe(1);
    expect(nextChunkSize({ ...base, avgExecMs: 0.01 })).toBe(256);
  });
  it("spreads the last tasks over the free slots", () => {
    expect(nextChunkSize({ ...base, avgExecMs: 1, remaining: 10 })).toBe(3);
    expect(nextChunkSize({ ...base, avgExecMs: 1, remaining: 1 })).toBe(1);
  });
  it("keeps at least minChunkMs of work in a chunk however many slots are free", () => {
    const fast = { ...base, minChunkMs: 100, maxChunkTasks: 100_000, freeSlots: 64, avgExecMs: 0.03 };
    expect(nextChunkSize(fast)).toBe(3333);
    expect(nextChunkSize({ ...fast, minChunkMs: 0 })).toBe(157);
    // Slow tasks: the spread wins, and the target still bounds a chunk.
    expect(nextChunkSize({ ...fast, avgExecMs: 50 })).toBe(20);
    expect(nextChunkSize({ ...fast, avgExecMs: 5, remaining: 100 })).toBe(20);
  });
  it("averages execution times, recent ones weighing most", () => {
    expect(updateAvgExecMs(null, 10)).toBe(10);
    expect(updateAvgExecMs(10, 20)).toBeCloseTo(12);
  });
});

describe("sendBatch packing", () => {
  it("respects both the count and the byte limit", () => {
    const small = Array.from({ length: 250 }, (_, i) => i);
    expect(packSendBatches(small, () => 10).map((b) => b.length)).toEqual([100, 100, 50]);
    const big = Array.from({ length: 5 }, (_, i) => i);
    expect(packSendBatches(big, () => 100_000).map((b) => b.length)).toEqual([2, 2, 1]);
  });
});
