import type { Bars } from "../engine/types";
import { UpstreamError } from "../../lib/errors";
import { decodeBars, encodeBars, type EncodableBars } from "./codec";

/** The bindings the dataset code uses (a test may pass fakes). */
export interface DatasetEnv {
  DB: D1Database;
  RESULTS: R2Bucket;
}

/** Where an upload's bars live: `<tenant>/datasets/u-<name>/v<version>.bin`, written once, never changed. */
export const datasetObjectKey = (tenant: string, name: string, version: number): string => `${tenant}/datasets/u-${name}/v${version}.bin`;

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Writes the bars as one object, streaming the column blocks into R2 (no copy of the whole
 * dataset in memory). Rejects with whatever R2 threw.
 */
export async function putBarsObject(bucket: R2Bucket, key: string, bars: EncodableBars, customMetadata: Record<string, string>): Promise<void> {
  const { size, parts } = encodeBars(bars);
  const { readable, writable } = new FixedLengthStream(size);
  const writer = writable.getWriter();
  const put = bucket.put(key, readable, { httpMetadata: { contentType: "application/octet-stream" }, customMetadata });
  const write = (async () => {
    for (const part of parts) await writer.write(part);
    await writer.close();
  })();
  // If R2 gives up first, stop writing (an unread stream would wait forever).
  put.catch((err: unknown) => writer.abort(err).catch(() => undefined));
  await Promise.all([put, write]);
}

/** An upload's bars from R2; null when the object is missing. An R2 failure or a corrupt object is an UpstreamError. */
export async function getBarsObject(bucket: R2Bucket, key: string): Promise<Bars | null> {
  let buffer: ArrayBuffer;
  try {
    const object = await bucket.get(key);
    if (!object) return null;
    buffer = await object.arrayBuffer();
  } catch (err) {
    throw new UpstreamError(`reading ${key} from R2 failed: ${message(err)}`);
  }
  return decodeBars(buffer);
}
