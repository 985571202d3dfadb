export interface ChunkSizeInput {
  /** Moving average of one task's execution time; null before any task has reported. */
  avgExecMs: number | null;
  targetChunkMs: number;
  /** Work below which a chunk costs more in messages and reports than it saves by spreading. */
  minChunkMs: number;
  maxChunkTasks: number;
  /** Tasks that could still be dispatched now. */
  remaining: number;
  /** Chunks that may start now under the concurrency limit. */
  freeSlots: number;
}

/**
 * Tasks for the next chunk: about `targetChunkMs` of work (one task until times are known), spread
 * so that the free slots share the remaining work, but never below `minChunkMs` of work: a 10,000
 * combination grid of 0.03 ms backtests is 300 ms of work, and 64 chunks of 5 ms would spend more
 * on their messages and check-ins than on the backtests.
 */
export function nextChunkSize({ avgExecMs, targetChunkMs, minChunkMs, maxChunkTasks, remaining, freeSlots }: ChunkSizeInput): number {
  if (avgExecMs === null) return 1;
  const perTask = Math.max(avgExecMs, 0.001);
  const byTime = Math.floor(targetChunkMs / perTask);
  const bySpread = Math.max(Math.ceil(remaining / Math.max(1, freeSlots)), Math.floor(minChunkMs / perTask));
  return Math.max(1, Math.min(byTime, bySpread, maxChunkTasks, remaining));
}

/** Exponential moving average of task execution time; recent chunks weigh most. */
export const updateAvgExecMs = (avg: number | null, sample: number): number => (avg === null ? sample : avg * 0.8 + sample * 0.2);

/**
 * Groups messages for `sendBatch`, which takes at most 100 messages and 256 KB a call. Sizes are the
 * messages' JSON lengths; a margin covers per-message overhead.
 */
export function packSendBatches<T>(messages: readonly T[], sizeOf: (m: T) => number, maxCount = 100, maxBytes = 240_000): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size = sizeOf(m) + 100;
    if (current.length > 0 && (current.length >= maxCount || bytes + size > maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(m);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
