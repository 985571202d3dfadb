import { Hono } from "hono";
import { z } from "zod";
import { DATASET_MAX_BYTES, DatasetByIdInput, UploadDatasetQuery } from "../../schema/dataset";
import { getDataset, listDatasets, uploadDataset } from "../datasets/service";
import { withUploadQuota } from "../quota/uploads";
import { ApiError } from "../../lib/errors";
import { parseInput } from "./parse";
import { jobContext, type AppEnv } from "./context";

/** REST upload body limit: the CSV itself. */
export const DATASET_UPLOAD_BODY_BYTES = DATASET_MAX_BYTES;

/**
 * The body limit of a dataset upload request (REST `POST /api/v1/datasets`, streamed as it is
 * parsed); undefined otherwise. tRPC `datasets.upload` keeps the global 1 MiB: its JSON body is
 * held whole, so large files go through REST.
 */
export function datasetUploadBodyLimit(method: string, path: string): number | undefined {
  if (method !== "POST") return undefined;
  if (path === "/api/v1/datasets" || path === "/api/v1/datasets/") return DATASET_UPLOAD_BODY_BYTES;
  return undefined;
}

const CSV_TYPES = new Set(["text/csv", "text/plain", "application/csv"]);

/** REST under /api/v1: upload (raw CSV body), list and get datasets; tRPC `datasets.*` does the same. */
export const datasetRoutes = new Hono<AppEnv>()
  .post("/datasets", async (c) => {
    const ctx = await jobContext(c);
    const { name } = parseInput(UploadDatasetQuery, c.req.query());
    const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (!CSV_TYPES.has(type)) {
      throw new ApiError("validation_failed", "the body must be CSV", [
        { path: "content-type", message: `expected text/csv, got ${type === "" ? "none" : JSON.stringify(type)}` },
      ]);
    }
    // The daily quota is charged the Content-Length; a body streamed without one could be up to the
    // upload limit, so that is reserved until the CSV's real size is known (then the rest is refunded).
    const length = Number(c.req.header("content-length"));
    const reserve = c.req.header("content-length") !== undefined && Number.isSafeInteger(length) && length >= 0 ? length : DATASET_UPLOAD_BODY_BYTES;
    // c.req.raw, not c.req.text(): the CSV is read as a stream and never held whole.
    const dataset = await withUploadQuota(ctx, reserve, () => uploadDataset(ctx, name, c.req.raw.body));
    c.header("Location", `/api/v1/datasets/${dataset.id}`);
    return c.json(dataset, 201);
  })
  .get("/datasets", async (c) => {
    const ctx = await jobContext(c);
    parseInput(z.strictObject({}), c.req.query());
    return c.json(await listDatasets(ctx));
  })
  .get("/datasets/:id", async (c) => {
    const ctx = await jobContext(c);
    const { id } = parseInput(DatasetByIdInput, { id: c.req.param("id") });
    return c.json(await getDataset(ctx, id));
  });
