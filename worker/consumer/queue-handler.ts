import { z } from "zod";
import { isMaterializeMessage, MaterializeMessage, TaskChunkMessage } from "../../schema";
import { loadConfig } from "../../lib/config";
import { createLogger, type Logger } from "../../lib/log";
import { acquireDatasetBars, datasetCacheKey } from "../datasets/service";
import { createSeriesCache } from "../engine/series-cache";
import { getStrategy } from "../engine/strategies";
import type { Strategy } from "../engine/types";
import type { Env } from "../env";
import { jobStub } from "../job-ref";
import { createGridCache } from "./chunk-tasks";
import { materializeDetails } from "./materialize";
import { runChunk } from "./run-chunk";

/** The dead-letter queue of the task queue (wrangler.toml): its messages are chunks the queue gave up on. */
export const DEAD_LETTER_QUEUE = "optimizer-tasks-dlq";

/** Indicator series survive across chunks in this isolate, within a memory budget. */
const seriesCache = createSeriesCache();
/** So do jobs' grids: a job's chunks ask its DO for the grid once per isolate. */
const grids = createGridCache();

/** Just enough of a message to find its job, when the rest cannot be read (another version's format). */
const ChunkRef = z.object({ jobId: z.string().min(1), tenant: z.string().min(1), chunkId: z.string().min(1) });

export function handleQueueBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  return batch.queue === DEAD_LETTER_QUEUE ? handleDeadLetters(batch, env) : handleTaskBatch(batch, env);
}

const issuesOf = (error: z.ZodError): string => error.issues.slice(0, 3).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");

const redeliver = (message: Message<unknown>) => message.retry({ delaySeconds: Math.min(30, 2 ** message.attempts) });

/**
 * Queue consumer: each message is one chunk, or a job's results to materialize. Chunks of CPU-bound
 * strategies run one after another (an isolate has one thread: side by side they would only stretch
 * each other's wall time, which is what the DO sizes chunks by); the rest run side by side.
 */
export async function handleTaskBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const config = loadConfig(env);
  const log = createLogger({ level: config.LOG_LEVEL });
  let cpuBound: Promise<void> = Promise.resolve();
  await Promise.all(
    batch.messages.map(async (message) => {
      if (isMaterializeMessage(message.body)) return handleMaterialize(message, env, log);
      const parsed = TaskChunkMessage.safeParse(message.body);
      if (!parsed.success) {
        // It would fail the same way on every delivery: tell the job, if the message names one, and drop it.
        const issues = issuesOf(parsed.error);
        log.error("queue.bad_message", { messageId: message.id, issues });
        await abandon(env, log, message, `the consumer could not read the chunk's message (${issues})`);
        return;
      }
      const chunk = parsed.data;
      const strategy = getStrategy(chunk.strategy);
      const chunkLog = log.with({ jobId: chunk.jobId, tenant: chunk.tenant, chunkId: chunk.chunkId });
      if (!strategy) {
        chunkLog.error("queue.unknown_strategy", { strategy: chunk.strategy });
        await abandon(env, chunkLog, message, `this version of the consumer has no strategy "${chunk.strategy}"`);
        return;
      }
      const run = () => consumeChunk(message, chunk, strategy, env, chunkLog);
      if (strategy.waitsOnIo) return run();
      cpuBound = cpuBound.then(run);
      return cpuBound;
    }),
  );
}

/** Runs one chunk, acks its message, or redelivers it when the job's DO did not take a report. */
async function consumeChunk(message: Message<unknown>, chunk: TaskChunkMessage, strategy: Strategy, env: Env, log: Logger): Promise<void> {
  const stub = jobStub(env, chunk.tenant, chunk.jobId);
  try {
    const { ran, stopped } = await runChunk(chunk, {
      strategy,
      loadBars: () => acquireDatasetBars(env, chunk.tenant, chunk.dataset),
      // Upload ids are unique within a tenant only: the cache key includes the tenant.
      cache: seriesCache.forDataset(datasetCacheKey(chunk.tenant, chunk.dataset)),
      grids,
      report: (report) => stub.report(report),
    });
    log.debug("chunk.consumed", { ran, stopped });
    message.ack();
  } catch (err) {
    // The job's DO did not take the report: redeliver; it ignores whatever it already counted.
    log.warn("chunk.report_failed", { attempts: message.attempts, message: err instanceof Error ? err.message : String(err) });
    redeliver(message);
  }
}

/** Stores the details of a job's Top-N (see materializeDetails); a failure redelivers the message, up to the queue's retries. */
async function handleMaterialize(message: Message<unknown>, env: Env, log: Logger): Promise<void> {
  const parsed = MaterializeMessage.safeParse(message.body);
  if (!parsed.success) {
    // It would fail the same way on every delivery; its results are computed when opened instead.
    log.error("queue.bad_message", { messageId: message.id, issues: issuesOf(parsed.error) });
    message.ack();
    return;
  }
  const { jobId, tenant, indexes } = parsed.data;
  const jobLog = log.with({ jobId, tenant });
  try {
    const done = await materializeDetails(parsed.data, env, seriesCache, jobLog);
    jobLog.info("results.materialized", { tasks: indexes.length, ...done });
    message.ack();
  } catch (err) {
    jobLog.warn("results.materialize_failed", { attempts: message.attempts, message: err instanceof Error ? err.message : String(err) });
    redeliver(message);
  }
}

/** The queue gave up on these chunks after its retries: each job's DO fails their attempts, so the job goes on. */
export async function handleDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const log = createLogger({ level: loadConfig(env).LOG_LEVEL });
  await Promise.all(
    batch.messages.map(async (message) => {
      if (!isMaterializeMessage(message.body)) return abandon(env, log, message, "the queue gave up on the chunk's message after its retries (dead-lettered)");
      // Nothing waits for it: those results are computed when first opened instead.
      log.warn("results.materialize_dead_lettered", { messageId: message.id });
      message.ack();
    }),
  );
}

/** Tells a message's job that its chunk will never run, then acks it; a message naming no job is dropped, loudly. */
async function abandon(env: Env, log: Logger, message: Message<unknown>, reason: string): Promise<void> {
  const ref = ChunkRef.safeParse(message.body);
  if (!ref.success) {
    log.error("queue.unattributable_message", { messageId: message.id, reason });
    message.ack();
    return;
  }
  try {
    await jobStub(env, ref.data.tenant, ref.data.jobId).abandonChunk(ref.data.chunkId, reason);
    message.ack();
  } catch (err) {
    log.warn("queue.abandon_failed", { messageId: message.id, message: err instanceof Error ? err.message : String(err) });
    redeliver(message);
  }
}
