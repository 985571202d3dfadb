import type { BacktestOptions, ParamSet } from "../../schema";
import { isBuiltinDataset } from "../datasets/builtin";
import { parseUploadId } from "../datasets/service";
import { ENGINE_VERSION } from "../engine/run-backtest";
import type { Bars, Strategy } from "../engine/types";

/**
 * What a run's data contributes to its key. Built-ins are named by their content, so a change of
 * the bundled data (a package upgrade) never serves old details; they are public, so identical runs
 * share one object across tenants. An upload is immutable once its version is ready, and its id
 * means something only within its tenant: its key is the tenant's. A strategy that reads no bars
 * does not depend on them.
 */
export type DataIdentity = { kind: "none" } | { kind: "builtin"; id: string; digest: string } | { kind: "upload"; tenant: string; id: string };

/** How a job's dataset enters the key: "builtin" still needs its digest; null for an upload not pinned to a version, which cannot be keyed. */
export function dataRefOf(tenant: string, dataset: string, needsBars: boolean): { kind: "none" } | { kind: "builtin" } | { kind: "upload"; tenant: string; id: string } | null {
  if (!needsBars) return { kind: "none" };
  if (isBuiltinDataset(dataset)) return { kind: "builtin" };
  return parseUploadId(dataset)?.version ? { kind: "upload", tenant, id: dataset } : null;
}

/** JSON with object keys sorted at every level: equal values give equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

const hex = (buffer: ArrayBuffer): string => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");

/** A spec may leave optional params out (allowShort): the run is the same as with their value spelled out. */
function paramsWithDefaults(strategy: Strategy, params: ParamSet): ParamSet {
  const full: ParamSet = { ...params };
  for (const [name, p] of Object.entries(strategy.params)) if (p.optional && !Object.hasOwn(full, name)) full[name] = p.optional.value;
  return full;
}

/** The R2 key of a run's detail: a SHA-256 of everything the result depends on, under the tenant's prefix for uploads. */
export async function detailKeyOf(strategy: Strategy, data: DataIdentity, params: ParamSet, options: BacktestOptions): Promise<string> {
  const text = canonicalJson({
    engine: ENGINE_VERSION,
    strategy: strategy.id,
    data,
    params: paramsWithDefaults(strategy, params),
    options: { execution: options.execution, feeBps: options.feeBps, slippageBps: options.slippageBps },
  });
  const digest = hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return data.kind === "upload" ? `${data.tenant}/details/${digest}.json` : `details/${digest}.json`;
}

const digests = new WeakMap<Bars, Promise<string>>();

/** SHA-256 of the bars' columns, once per bars object (built-ins are one object per isolate). */
export function barsDigest(bars: Bars): Promise<string> {
  let digest = digests.get(bars);
  if (!digest) {
    const columns = [bars.time, bars.open, bars.high, bars.low, bars.close, bars.volume];
    const bytes = new Uint8Array(columns.reduce((n, c) => n + c.byteLength, 0));
    let at = 0;
    for (const c of columns) {
      bytes.set(new Uint8Array(c.buffer, c.byteOffset, c.byteLength), at);
      at += c.byteLength;
    }
    digest = crypto.subtle.digest("SHA-256", bytes).then(hex);
    digests.set(bars, digest);
  }
  return digest;
}
