import { env, exports } from "cloudflare:workers";
import type { Job, JobSpecInput } from "../schema";

export const KEY_A = "test-key-a";
export const KEY_B = "test-key-b";

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/** Calls the Worker's fetch handler as a client would, JSON in and out. */
export async function api<T = unknown>(method: string, path: string, init: { body?: unknown; key?: string | null; raw?: string } = {}): Promise<ApiResponse<T>> {
  const headers = new Headers();
  if (init.key !== null) headers.set("authorization", `Bearer ${init.key ?? KEY_A}`);
  let body: string | undefined = init.raw;
  if (init.body !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(init.body);
  }
  const res = await exports.default.fetch(new Request(`http://optimizer.test${path}`, { method, headers, body }));
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : null) as T };
}

/** Polls until `check` returns a value, or fails after `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T | undefined | null | false>, { timeoutMs = 20_000, intervalMs = 25, what = "condition" } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export const TERMINAL = ["succeeded", "failed", "early-stopped", "canceled"];

export async function submit(spec: JobSpecInput, key = KEY_A): Promise<Job> {
  const res = await api<Job>("POST", "/api/v1/optimizations", { body: spec, key });
  if (res.status !== 201) throw new Error(`submit answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

export async function waitForEnd(id: string, key = KEY_A): Promise<Job> {
  return waitFor(
    async () => {
      const res = await api<Job>("GET", `/api/v1/optimizations/${id}/status`, { key });
      return TERMINAL.includes(res.body.status) ? res.body : null;
    },
    { what: `job ${id} to end` },
  );
}

/** D1's task counts by status for a job, once the projection has caught up with `expectedTotal` rows. */
export async function d1TaskCounts(jobId: string): Promise<Record<string, number>> {
  const { results } = await env.DB.prepare("SELECT status, COUNT(*) AS n FROM optimization_tasks WHERE job_id = ? GROUP BY status")
    .bind(jobId)
    .all<{ status: string; n: number }>();
  return Object.fromEntries(results.map((r) => [r.status, r.n]));
}

export const synthetic = (params: JobSpecInput["params"], extra: Partial<JobSpecInput> = {}): JobSpecInput => ({
  strategy: "synthetic",
  dataset: "sp500",
  params,
  objective: { metric: "score", mode: "max" },
  ...extra,
});

export const range = (min: number, max: number, step = 1) => ({ min, max, step });
