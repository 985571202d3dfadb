import { z } from "zod";
import { InternalError } from "./errors";
import { MAX_CONSTRAINT_WORK } from "./grid";
import { ApiKeyIndex } from "./secrets";

const bool = z
  .union([z.boolean(), z.enum(["true", "false", "1", "0"])])
  .transform((v) => v === true || v === "true" || v === "1");
const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);

const ApiKeys = z
  .union([z.string(), z.record(z.string(), z.string())])
  .transform((v, ctx) => {
    if (typeof v !== "string") return v;
    try {
      return JSON.parse(v) as unknown;
    } catch {
      ctx.addIssue({ code: "custom", message: "API_KEYS must be a JSON object of api key -> tenant" });
      return z.NEVER;
    }
  })
  .pipe(z.record(z.string().min(8), z.string().regex(/^[A-Za-z0-9_-]{1,64}$/)))
  // Never a plain object at run time: a lookup by key would walk its prototype (`constructor`...).
  .transform((keys) => new ApiKeyIndex(Object.entries(keys)));

export const ConfigSchema = z.object({
  API_KEYS: ApiKeys.prefault({}),
  ALLOW_SYNTHETIC: bool.default(false),
  MAX_TASKS_PER_JOB: int(100_000, 1),
  /** With parameter constraints the grid is walked to count what they accept: this bounds the walk. */
  MAX_GRID_BEFORE_CONSTRAINTS: int(10_000_000, 1),
  /** Work (about one value comparison a unit) counting what the constraints accept may take at submit; past it, 422. */
  MAX_CONSTRAINT_WORK: int(MAX_CONSTRAINT_WORK, 1),
  /** Exponential backoff of retried tasks: base * 2^(retry-1), capped, with equal jitter. */
  RETRY_BASE_MS: int(1_000),
  RETRY_CAP_MS: int(60_000),
  /** Lease of a dispatched chunk until the consumer first checks in (covers the queue wait). */
  DISPATCH_LEASE_MS: int(120_000, 1),
  /** Lease renewed at each check-in: a consumer silent this long is taken for dead. */
  RUN_LEASE_MS: int(30_000, 1),
  /** A task whose chunk outwaits its dispatch lease unstarted this many times fails: its message may be unreadable. */
  MAX_REQUEUES: int(5),
  /** Work a chunk should carry; the DO sizes chunks from observed execution times. */
  TARGET_CHUNK_MS: int(1_000, 1),
  /** Least work a chunk carries while enough is left (see nextChunkSize). */
  MIN_CHUNK_MS: int(100),
  /** Chunks name ranges of grid indexes, so this bounds the DO's in-flight task rows, not the message size. */
  MAX_CHUNK_TASKS: int(4_096, 1),
  /** How often the consumer reports progress and asks whether to go on (at least; see checkinMsFor). */
  CHECKIN_MS: int(100, 1),
  /** Debounce of the D1 projection while a job runs. */
  D1_FLUSH_MS: int(500),
  /** Per-tenant quotas (429 + Retry-After past them): jobs queued or running at once... */
  QUOTA_RUNNING_JOBS: int(50, 1),
  /** ...the sum of concurrencyLimit (chunks in flight at most) over those jobs, the new one included... */
  QUOTA_CHUNKS_IN_FLIGHT: int(1_024, 1),
  /** ...tasks submitted (job totals) per UTC day... */
  QUOTA_TASKS_PER_DAY: int(10_000_000, 1),
  /** ...and CSV bytes uploaded per UTC day. */
  QUOTA_UPLOAD_BYTES_PER_DAY: int(1024 * 1024 * 1024, 1),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "off"]).default("info"),
  /** Off: no metric increments, no Analytics Engine points, /metrics answers 503; jobs run the same. */
  METRICS_ENABLED: bool.default(true),
  /** Bearer token for GET /metrics; without one, /metrics is closed. */
  METRICS_TOKEN: z.string().min(16).optional(),
});
export type Config = z.infer<typeof ConfigSchema>;

const cache = new WeakMap<object, Config>();

/** Reads and validates configuration from the Worker's env; throws a clear error on a bad value. */
export function loadConfig(env: object): Config {
  const hit = cache.get(env);
  if (hit) return hit;
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    // API_KEYS' record keys are the keys themselves: name the variable, never the path inside it.
    const detail = parsed.error.issues.map((i) => `${i.path[0] === "API_KEYS" ? "API_KEYS" : i.path.join(".")}: ${i.message}`).join("; ");
    throw new InternalError(`invalid configuration: ${detail}`);
  }
  cache.set(env, parsed.data);
  return parsed.data;
}
