import type { Bars } from "../engine/types";
import { UpstreamError } from "../../lib/errors";
import { decodeBars, decodedBytes, encodeBars, HEADER_BYTES, type EncodableBars } from "./codec";

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

/**
 * An upload's bars from R2 in two steps, so a cache can count their memory before it is taken:
 * `size()` reads the header (null when the object is missing), `read()` the object into one
 * buffer of its known size (no second copy). An R2 failure or a corrupt object is an UpstreamError.
 */
export function barsObjectLoader(bucket: R2Bucket, key: string): { size(): Promise<number | null>; read(): Promise<Bars> } {
  return {
    async size() {
      let header: ArrayBuffer;
      try {
        const object = await bucket.get(key, { range: { offset: 0, length: HEADER_BYTES } });
        if (!object) return null;
        header = await object.arrayBuffer();
      } catch (err) {
        throw new UpstreamError(`reading ${key} from R2 failed: ${message(err)}`);
      }
      return decodedBytes(header);
    },
    async read() {
      let buffer: Uint8Array;
      try {
        const object = await bucket.get(key);
        if (!object) throw new Error("the object is gone");
        buffer = await readAll(object.body, object.size);
      } catch (err) {
        throw err instanceof UpstreamError ? err : new UpstreamError(`reading ${key} from R2 failed: ${message(err)}`);
      }
      return decodeBars(buffer.buffer as ArrayBuffer);
    },
  };
}

/** A stream of exactly `size` bytes, into one buffer of that size. */
async function readAll(body: ReadableStream<Uint8Array>, size: number): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  const reader = body.getReader();
  let at = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (at + value.byteLength > size) throw new UpstreamError(`stored bars: more than the ${size} bytes R2 announced`);
      out.set(value, at);
      at += value.byteLength;
    }
  } finally {
    reader.releaseLock();
  }
  if (at !== size) throw new UpstreamError(`stored bars: ${at} bytes, R2 announced ${size}`);
  return out;
}
