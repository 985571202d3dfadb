import { ResultSummary } from "../../schema";
import { UpstreamError } from "../../lib/errors";

export const resultSummaryIdOf = (jobId: string, index: number, attempt: number): string => `${jobId}.${index}.a${attempt}`;

/** Result summaries live under the tenant's prefix: a lookup can never reach another tenant's. */
const keyOf = (tenant: string, id: string): string => `${tenant}/results/${id}.json`;

export async function putResultSummary(bucket: R2Bucket, summary: ResultSummary): Promise<void> {
  await bucket.put(keyOf(summary.tenant, summary.id), JSON.stringify(summary), { httpMetadata: { contentType: "application/json" } });
}

export async function getResultSummary(bucket: R2Bucket, tenant: string, id: string): Promise<ResultSummary | null> {
  let object: R2ObjectBody | null;
  try {
    object = await bucket.get(keyOf(tenant, id));
  } catch (err) {
    throw new UpstreamError(`reading result ${id} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  return object ? ResultSummary.parse(await object.json()) : null;
}
