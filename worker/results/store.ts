import { ResultDetail } from "../../schema";
import { UpstreamError } from "../../lib/errors";

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** A stored result detail under its content key (see content-key.ts); null when none is, or it is unreadable (it is then computed and stored again). */
export async function getResultDetail(bucket: R2Bucket, key: string): Promise<ResultDetail | null> {
  let object: R2ObjectBody | null;
  try {
    object = await bucket.get(key);
  } catch (err) {
    throw new UpstreamError(`reading result detail ${key} failed: ${message(err)}`);
  }
  if (!object) return null;
  const parsed = ResultDetail.safeParse(await object.json().catch(() => null));
  return parsed.success ? parsed.data : null;
}

export async function putResultDetail(bucket: R2Bucket, key: string, detail: ResultDetail): Promise<void> {
  try {
    await bucket.put(key, JSON.stringify(detail), { httpMetadata: { contentType: "application/json" } });
  } catch (err) {
    throw new UpstreamError(`storing result detail ${key} failed: ${message(err)}`);
  }
}
