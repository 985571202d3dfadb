import type { MaterializeMessage } from "../../schema";
import { taskErrorOf } from "../../lib/errors";
import type { Logger } from "../../lib/log";
import { acquireDatasetBars, datasetCacheKey } from "../datasets/service";
import type { SharedSeriesCache } from "../engine/series-cache";
import type { Env } from "../env";
import { jobStub } from "../job-ref";
import { resolveTask, resultDetailFor } from "../results/details";

/**
 * Computes and stores the details of a job's named tasks (its Top-N when it ends), one after
 * another; a task already stored costs one R2 read, so a redelivered message redoes nothing.
 * Tasks with no result (not succeeded, not in the grid) and runs that fail as ParamInvalid are
 * skipped, loudly; any other failure throws, for the queue to redeliver the message.
 */
export async function materializeDetails(message: MaterializeMessage, env: Env, seriesCache: SharedSeriesCache, log: Logger): Promise<{ stored: number; skipped: number }> {
  const { tenant, jobId } = message;
  const stub = jobStub(env, tenant, jobId);
  const job = await stub.status();
  if (!job) {
    log.warn("materialize.no_job");
    return { stored: 0, skipped: message.indexes.length };
  }
  const cache = seriesCache.forDataset(datasetCacheKey(tenant, job.spec.dataset));
  let stored = 0;
  let skipped = 0;
  for (const index of new Set(message.indexes)) {
    const resolved = await resolveTask(stub, tenant, job, index);
    if (!resolved.ok) {
      log.warn("materialize.skipped", { index, reason: resolved.reason });
      skipped++;
      continue;
    }
    try {
      await resultDetailFor({ bucket: env.RESULTS, loadBars: () => acquireDatasetBars(env, tenant, job.spec.dataset), cache }, resolved.run);
      stored++;
    } catch (err) {
      const error = taskErrorOf(err);
      if (error.kind !== "ParamInvalid") throw error;
      log.warn("materialize.skipped", { index, reason: error.message });
      skipped++;
    }
  }
  return { stored, skipped };
}
