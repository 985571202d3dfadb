import { env } from "cloudflare:workers";
import { createApp } from "../worker/app";

const app = createApp();

export interface Reply<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/**
 * A tenant of its own (key `<tenant>-key`) on the Worker's app with config vars of the test's
 * choosing on top of the test env: the per-test seam for quotas.
 */
export function tenantApp(tenant: string, vars: Record<string, string> = {}) {
  const key = `${tenant}-key`;
  const testEnv = { ...env, API_KEYS: JSON.stringify({ [key]: tenant }), ...vars };
  async function request<T = unknown>(method: string, path: string, init: { body?: BodyInit; headers?: Record<string, string> } = {}): Promise<Reply<T>> {
    const res = await app.fetch(new Request(`http://optimizer.test${path}`, { method, body: init.body, headers: { authorization: `Bearer ${key}`, ...init.headers } }), testEnv);
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: (res.headers.get("content-type")?.startsWith("application/json") ? JSON.parse(text) : text) as T };
  }
  return {
    tenant,
    request,
    json: <T = unknown>(method: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
      request<T>(method, path, { body: JSON.stringify(body), headers: { "content-type": "application/json", ...headers } }),
    /** A tRPC mutation; the answer's `data` is `result.data` or `error.data`. */
    trpcMutation: <T = unknown>(procedure: string, input: unknown) =>
      request<{ result?: { data: T }; error?: { data: { apiError: { code: string } } } }>("POST", `/trpc/${procedure}`, {
        body: JSON.stringify(input),
        headers: { "content-type": "application/json" },
      }),
  };
}

export const jobRowsOf = async (tenant: string): Promise<{ id: string; status: string }[]> =>
  (await env.DB.prepare("SELECT id, status FROM optimization_jobs WHERE tenant = ? ORDER BY created_at").bind(tenant).all<{ id: string; status: string }>()).results;

export const usageOf = async (tenant: string): Promise<{ tasks: number; uploadBytes: number }> =>
  (await env.DB.prepare("SELECT COALESCE(SUM(tasks), 0) AS tasks, COALESCE(SUM(upload_bytes), 0) AS uploadBytes FROM tenant_usage WHERE tenant = ?")
    .bind(tenant)
    .first<{ tasks: number; uploadBytes: number }>())!;
