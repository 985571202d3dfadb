import type { Dataset } from "../../schema/dataset";
import type { JobContext } from "../jobs/service";
import { uploadQuotaError, utcDay } from "./limits";

/**
 * Runs a dataset upload charged to the tenant's daily upload bytes. `reserve` bytes are charged up
 * front in one check-and-charge statement (so concurrent uploads cannot pass the quota together),
 * then settled to the CSV's actual size; an upload that fails is refunded whole, so a refused
 * request changes nothing.
 */
export async function withUploadQuota(ctx: JobContext, reserve: number, upload: () => Promise<Dataset>): Promise<Dataset> {
  const db = ctx.env.DB;
  const now = Date.now();
  const day = utcDay(now);
  const limit = ctx.config.QUOTA_UPLOAD_BYTES_PER_DAY;
  const charged = await db
    .prepare(
      `INSERT INTO tenant_usage (tenant, day, upload_bytes) SELECT ?1, ?2, ?3 WHERE ?3 <= ?4
       ON CONFLICT (tenant, day) DO UPDATE SET upload_bytes = upload_bytes + excluded.upload_bytes WHERE upload_bytes + excluded.upload_bytes <= ?4`,
    )
    .bind(ctx.tenant, day, reserve, limit)
    .run();
  if (charged.meta.changes !== 1) throw uploadQuotaError(reserve, ctx.config, now);
  const refund = (bytes: number) =>
    db.prepare("UPDATE tenant_usage SET upload_bytes = MAX(0, upload_bytes - ?3) WHERE tenant = ?1 AND day = ?2").bind(ctx.tenant, day, bytes).run();
  let dataset: Dataset;
  try {
    dataset = await upload();
  } catch (err) {
    await refund(reserve);
    throw err;
  }
  if (dataset.bytes !== null && dataset.bytes < reserve) await refund(reserve - dataset.bytes);
  return dataset;
}
