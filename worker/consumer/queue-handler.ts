import { TaskChunkMessage, type ResultSummary } from "../../schema";
import { loadConfig } from "../../lib/config";
import { acquireDatasetBars, datasetCacheKey } from "../datasets/service";
import { createSeriesCache } from "../engine/series-cache";
import { getStrategy } from "../engine/strategies";
import type { Env } from "../env";
import { jobStub } from "../job-ref";
import { createLogger } from "../../lib/log";
import { putResultSummary } from "../results/store";
import { runChunk } from "./run-chunk";

/** Indicator series survive across chunks in this isolate, within a memory budget. */
const seriesCache = createSeriesCache();


/** Queue consumer: each message is one chunk; chunks of a batch run side by side. */
export async function handleTaskBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const config = loadConfig(env);
  const log = createLogger({ level: config.LOG_LEVEL });
  await Promise.all(
    batch.messages.map(async (message) => {
      const parsed = TaskChunkMessage.safeParse(message.body);
      if (!parsed.success) {
        // A malformed message would fail the same way on every delivery: drop it, loudly.
        log.error("queue.bad_message", { messageId: message.id, issues: parsed.error.issues.length });
        message.ack();
        return;
      }
      const chunk = parsed.data;
      const strategy = getStrategy(chunk.strategy);
      const chunkLog = log.with({ jobId: chunk.jobId, tenant: chunk.tenant, chunkId: chunk.chunkId });
      if (!strategy) {
        chunkLog.error("queue.unknown_strategy", { strategy: chunk.strategy });
        message.ack();
        return;
      }
      const stub = jobStub(env, chunk.tenant, chunk.jobId);
      try {
        const { ran, stopped } = await runChunk(chunk, {
          strategy,
          loadBars: () => acquireDatasetBars(env, chunk.tenant, chunk.dataset),
          // Upload ids are unique within a tenant only: the cache key includes the tenant.
          cache: seriesCache.forDataset(datasetCacheKey(chunk.tenant, chunk.dataset)),
          report: (report) => stub.report(report),
          saveSummary: (summary: ResultSummary) => putResultSummary(env.RESULTS, summary),
        });
        chunkLog.debug("chunk.consumed", { tasks: chunk.tasks.length, ran, stopped });
        message.ack();
      } catch (err) {
        // The job's DO did not take the report: redeliver; it ignores whatever it already counted.
        chunkLog.warn("chunk.report_failed", { attempts: message.attempts, message: err instanceof Error ? err.message : String(err) });
        message.retry({ delaySeconds: Math.min(30, 2 ** message.attempts) });
      }
    }),
  );
}
