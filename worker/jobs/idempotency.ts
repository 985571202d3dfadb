import type { JobSpec } from "../../schema";
import { hexOf, sha256 } from "../../lib/secrets";

/** How long an Idempotency-Key holds its job; an older entry is replaced by the next submit with that key. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/** JSON with every object's keys sorted, so equal values give equal text whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** What a key's body is compared by: the spec as validated (defaults filled in), not its bytes. */
export const specHash = async (spec: JobSpec): Promise<string> => hexOf(await sha256(canonicalJson(spec)));
