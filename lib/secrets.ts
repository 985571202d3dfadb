const encoder = new TextEncoder();

/** workerd's extension of WebCrypto; the DOM typings the client is checked with do not declare it. */
const timingSafeEqual = (a: Uint8Array, b: Uint8Array): boolean =>
  (crypto.subtle as SubtleCrypto & { timingSafeEqual(a: ArrayBufferView, b: ArrayBufferView): boolean }).timingSafeEqual(a, b);

export const sha256 = async (text: string): Promise<Uint8Array> => new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));

export const hexOf = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** Whether two secrets are equal, in time that depends on neither: both are hashed to 32 bytes first. */
export async function sameSecret(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([sha256(a), sha256(b)]);
  return timingSafeEqual(x, y);
}

/**
 * API key -> tenant, held by the SHA-256 of each key. A lookup hashes the presented key and looks the
 * digest up in a Map (own entries only, so `constructor` or `__proto__` find nothing); the hit is then
 * confirmed by a constant-time compare of the digests, so timing never depends on the key's characters.
 * WebCrypto hashes asynchronously: the index is built on the first lookup, once per configuration.
 */
export class ApiKeyIndex {
  #index: Promise<Map<string, { digest: Uint8Array; tenant: string }>> | undefined;

  constructor(private readonly entries: ReadonlyArray<readonly [key: string, tenant: string]>) {}

  /** Whether some configured key belongs to `tenant` (tenant names are not secret). */
  hasTenant(tenant: string): boolean {
    return this.entries.some(([, t]) => t === tenant);
  }

  async tenantOf(key: string): Promise<string | undefined> {
    this.#index ??= Promise.all(this.entries.map(async ([k, tenant]) => ({ digest: await sha256(k), tenant }))).then(
      (rows) => new Map(rows.map((row) => [hexOf(row.digest), row])),
    );
    const [index, digest] = await Promise.all([this.#index, sha256(key)]);
    const hit = index.get(hexOf(digest));
    return hit && timingSafeEqual(hit.digest, digest) ? hit.tenant : undefined;
  }
}
