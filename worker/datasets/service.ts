import { and, asc, desc, eq, gte } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { Annualisation, type Dataset, type DatasetColumn, type DatasetList } from "../../schema/dataset";
import { datasets } from "../../schema/tables";
import type { Bars } from "../engine/types";
import { ApiError, ParamInvalid, UpstreamError } from "../../lib/errors";
import type { Logger } from "../../lib/log";
import { builtinBarsSync, builtinDataset, builtinDatasets, isBuiltinDataset, loadBuiltinBars } from "./builtin";
import { parseCsvStream, parseCsvText, type ParsedCsv } from "./csv";
import { createByteBudgetCache, type Lease } from "./byte-budget-cache";
import { barsObjectLoader, datasetObjectKey, putBarsObject, type DatasetEnv } from "./store";

export type { DatasetEnv } from "./store";

/** Who is asking (a JobContext fits). */
export interface DatasetContext {
  env: DatasetEnv;
  tenant: string;
  log: Logger;
}

/** Uploads per tenant a listing returns at most (newest versions of each name first). */
export const MAX_LISTED_UPLOADS = 1000;

const UPLOAD_ID = /^u-([a-z0-9-]{1,64})(?:@([1-9][0-9]{0,8}))?$/;

/** `u-<name>` (newest version) or `u-<name>@<version>`; null for anything else. */
export function parseUploadId(id: string): { name: string; version: number | null } | null {
  const m = UPLOAD_ID.exec(id);
  return m ? { name: m[1]!, version: m[2] === undefined ? null : Number(m[2]) } : null;
}

export const uploadIdOf = (name: string, version: number): string => `u-${name}@${version}`;

type Row = typeof datasets.$inferSelect;

const toDataset = (row: Row, latest: boolean): Dataset => ({
  id: row.id,
  kind: "upload",
  name: row.name,
  version: row.version,
  latest,
  bars: row.bars,
  firstDate: row.firstDate,
  lastDate: row.lastDate,
  columns: row.columns.split(",") as DatasetColumn[],
  bytes: row.bytes,
  description: null,
  // In R2 with the bars: getDataset reads it for one dataset, listings do without.
  annualisation: null,
  createdAt: row.createdAt,
});

const READY = "ready";

/**
 * What `id` names for `tenant`, or null: a built-in, or one of the tenant's uploads (`u-<name>` is
 * its newest version). The answer's `id` is pinned (`u-<name>@<version>`): a job should carry that,
 * so it keeps the data it was submitted with. Another tenant's uploads are never found.
 */
export async function resolveDataset(env: DatasetEnv, tenant: string, id: string): Promise<Dataset | null> {
  if (isBuiltinDataset(id)) return builtinDataset(id) ?? null;
  const ref = parseUploadId(id);
  if (!ref) return null;
  const t = datasets;
  const db = drizzle(env.DB);
  const scope = and(eq(t.tenant, tenant), eq(t.name, ref.name), eq(t.status, READY));
  if (ref.version === null) {
    const [row] = await db.select().from(t).where(scope).orderBy(desc(t.version)).limit(1);
    return row ? toDataset(row, true) : null;
  }
  // That version and, if there is one, the next: it is the newest when there is none.
  const rows = await db
    .select()
    .from(t)
    .where(and(scope, gte(t.version, ref.version)))
    .orderBy(asc(t.version))
    .limit(2);
  const row = rows[0];
  return row && row.version === ref.version ? toDataset(row, rows.length === 1) : null;
}

/** Whether a job of `tenant` may use dataset `id` (see resolveDataset). */
/** The built-ins, then the tenant's uploads (by name, newest version first). */
export async function listDatasets(ctx: DatasetContext): Promise<DatasetList> {
  const t = datasets;
  const rows = await drizzle(ctx.env.DB)
    .select()
    .from(t)
    .where(and(eq(t.tenant, ctx.tenant), eq(t.status, READY)))
    .orderBy(asc(t.name), desc(t.version))
    .limit(MAX_LISTED_UPLOADS);
  const uploads = rows.map((row, i) => toDataset(row, i === 0 || rows[i - 1]!.name !== row.name));
  return { items: [...builtinDatasets(), ...uploads] };
}

/** One dataset; an upload's spacing comes from its R2 object's metadata (null for objects stored before it was recorded). */
export async function getDataset(ctx: DatasetContext, id: string): Promise<Dataset> {
  const dataset = await resolveDataset(ctx.env, ctx.tenant, id);
  if (!dataset) throw new ApiError("not_found", `no dataset ${id}`);
  if (dataset.kind !== "upload") return dataset;
  let head: R2Object | null;
  try {
    head = await ctx.env.RESULTS.head(datasetObjectKey(ctx.tenant, dataset.name, dataset.version!));
  } catch (err) {
    ctx.log.error("api.dataset_head_failed", { id: dataset.id, message: err instanceof Error ? err.message : String(err) });
    throw new ApiError("internal", `reading dataset ${dataset.id} failed`);
  }
  const meta = head?.customMetadata ?? {};
  const annualisation = Annualisation.safeParse({ spacing: meta.spacing, barsPerYear: Number(meta.barsPerYear) });
  return { ...dataset, annualisation: annualisation.success ? annualisation.data : null };
}

/**
 * Validates a CSV (a stream: the REST body; a string: the tRPC input) and stores it as the next
 * version of `name`. Nothing is stored unless the whole CSV is valid (400/413 otherwise). The
 * version is reserved in D1 first (one atomic statement, so concurrent uploads get distinct
 * versions), then the bars go to R2, then the row turns ready; a storage failure removes both.
 */
export async function uploadDataset(ctx: DatasetContext, name: string, csv: string | ReadableStream<Uint8Array> | null): Promise<Dataset> {
  const parsed: ParsedCsv = typeof csv === "string" ? parseCsvText(csv) : await parseCsvStream(csv);
  const createdAt = new Date().toISOString();
  const reserved = await ctx.env.DB.prepare(
    `INSERT INTO datasets (tenant, id, name, version, status, bars, first_date, last_date, columns, bytes, created_at)
     SELECT ?1, 'u-' || ?2 || '@' || v, ?2, v, 'pending', ?3, ?4, ?5, ?6, ?7, ?8
     FROM (SELECT COALESCE(MAX(version), 0) + 1 AS v FROM datasets WHERE tenant = ?1 AND name = ?2)
     RETURNING version`,
  )
    .bind(ctx.tenant, name, parsed.bars, parsed.firstDate, parsed.lastDate, parsed.columns.join(","), parsed.bytes, createdAt)
    .first<{ version: number }>();
  if (!reserved) throw new ApiError("internal", "reserving a dataset version failed");
  const version = reserved.version;
  const id = uploadIdOf(name, version);
  const key = datasetObjectKey(ctx.tenant, name, version);
  const t = datasets;
  const db = drizzle(ctx.env.DB);
  const row = and(eq(t.tenant, ctx.tenant), eq(t.id, id));
  try {
    const { spacing, barsPerYear } = parsed.annualisation;
    await putBarsObject(ctx.env.RESULTS, key, parsed.data, { tenant: ctx.tenant, id, bars: String(parsed.bars), spacing, barsPerYear: String(barsPerYear) });
    await db.update(t).set({ status: READY }).where(row);
  } catch (err) {
    ctx.log.error("api.dataset_store_failed", { id, message: err instanceof Error ? err.message : String(err) });
    // The row stays, marked failed, so its version number is never handed out again.
    await Promise.allSettled([ctx.env.RESULTS.delete(key), db.update(t).set({ status: "failed" }).where(row)]);
    throw new ApiError("internal", "storing the dataset failed; nothing was stored");
  }
  ctx.log.info("api.dataset_uploaded", { id, bars: parsed.bars, bytes: parsed.bytes });
  return {
    id,
    kind: "upload",
    name,
    version,
    latest: true,
    bars: parsed.bars,
    firstDate: parsed.firstDate,
    lastDate: parsed.lastDate,
    columns: parsed.columns,
    bytes: parsed.bytes,
    description: null,
    annualisation: parsed.annualisation,
    createdAt,
  };
}

/** Keys caches of per-dataset derived data (indicator series): upload ids are only unique within a tenant. */
export const datasetCacheKey = (tenant: string, id: string): string => (isBuiltinDataset(id) ? id : `${tenant}/${id}`);

/**
 * Uploaded bars an isolate holds, in bytes, counted before each load (see ByteBudgetCache): one
 * upload of DATASET_MAX_BARS full OHLCV bars (45.8 MiB) fits. With the series cache's 32 MiB
 * (worker/engine/series-cache.ts) that leaves the rest of the isolate's 128 MB to the runtime.
 */
export const UPLOAD_CACHE_BYTES = 48 * 1024 * 1024;

const MiB = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

const uploadCache = createByteBudgetCache<Bars>(
  UPLOAD_CACHE_BYTES,
  // No retry would fit it: the data decides.
  (bytes, max) => new ParamInvalid(`the dataset takes ${MiB(bytes)} in memory, more than the ${MiB(max)} a consumer holds for datasets`),
);

/** Built-ins are bundled and small (all of them ~2 MB): held for good, outside the budget. */
const builtinLease = (bars: Bars): Lease<Bars> => ({ value: bars, release: () => undefined });

/**
 * A job's bars for the Queue consumer, held until the lease is released (the chunk's end): built-ins
 * from the bundle (sp500 synchronously, FX from the lazily imported fred.json), uploads from the
 * tenant's R2 prefix through a per-isolate cache under UPLOAD_CACHE_BYTES, keyed by tenant, id and
 * version (concurrent callers share one read). Throws UpstreamError when D1 or R2 fails or the
 * stored object is missing or corrupt (retryable), ParamInvalid for an id that names nothing or
 * data bigger than the budget. Pass ids pinned at submit (`u-<name>@<version>`); an unpinned
 * `u-<name>` costs a D1 read.
 */
export async function acquireDatasetBars(env: DatasetEnv, tenant: string, id: string): Promise<Lease<Bars>> {
  if (isBuiltinDataset(id)) return builtinLease(builtinBarsSync(id) ?? (await loadBuiltinBars(id)));
  const ref = parseUploadId(id);
  if (!ref) throw new ParamInvalid(`unknown dataset "${id}"`);
  let version = ref.version;
  if (version === null) {
    let resolved: Dataset | null;
    try {
      resolved = await resolveDataset(env, tenant, id);
    } catch (err) {
      throw new UpstreamError(`resolving dataset ${id} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!resolved) throw new ParamInvalid(`unknown dataset "${id}"`);
    version = resolved.version!;
  }
  const key = datasetObjectKey(tenant, ref.name, version);
  const object = barsObjectLoader(env.RESULTS, key);
  const missing = () => new UpstreamError(`dataset ${uploadIdOf(ref.name, version)} of tenant ${tenant} is missing from R2 (${key})`);
  return uploadCache.acquire(key, {
    size: async () => {
      const bytes = await object.size();
      if (bytes === null) throw missing();
      return bytes;
    },
    read: () => object.read(),
  });
}
