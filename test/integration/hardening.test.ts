import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ApiErrorBody } from "../../schema";
import { loadConfig } from "../../lib/config";
import { api, KEY_A, range, synthetic } from "../helpers";

describe("hostile input", () => {
  it("answers 400, not 500, for parameter names that shadow Object.prototype", async () => {
    for (const name of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
      const raw = `{"strategy":"synthetic","dataset":"sp500","params":{"${name}":{"values":[1]}},"objective":{"metric":"score","mode":"max"}}`;
      const res = await api<ApiErrorBody>("POST", "/api/v1/optimizations", { raw });
      expect(res.status, name).toBe(400);
      expect(res.body.error.code).toBe("validation_failed");
    }
    const res = await api<ApiErrorBody>("POST", "/api/v1/optimizations", {
      body: synthetic({ a: range(1, 3) }, { constraints: [{ left: "toString", op: "<", right: "a" }] }),
    });
    expect(res.status).toBe(422);
  });

  it("keeps the 1 MiB limit for a tRPC batch that also names datasets.upload", async () => {
    const spec = synthetic({ a: range(1, 2) }, { name: "x".repeat(150) });
    const big = JSON.stringify({ 0: { csv: "date,close\n", name: "x" }, 1: { ...spec, padding: "y".repeat(1_200_000) } });
    const res = await exports.default.fetch(
      new Request("http://optimizer.test/trpc/datasets.upload,optimizations.submit?batch=1", {
        method: "POST",
        headers: { authorization: `Bearer ${KEY_A}`, "content-type": "application/json" },
        body: big,
      }),
    );
    expect(res.status).toBe(413);
  });

  it("sends tRPC errors without server stack traces", async () => {
    const res = await exports.default.fetch(
      new Request(`http://optimizer.test/trpc/optimizations.status?input=${encodeURIComponent(JSON.stringify({ id: "no-such-job" }))}`, {
        headers: { authorization: `Bearer ${KEY_A}` },
      }),
    );
    const body = (await res.json()) as { error: { data: Record<string, unknown> } };
    expect(res.status).toBe(404);
    expect(body.error.data.apiError).toMatchObject({ code: "not_found" });
    expect(body.error.data).not.toHaveProperty("stack");
  });

  it("never puts an API key in a configuration error", () => {
    const secret = "super-secret-key-123";
    expect(() => loadConfig({ API_KEYS: JSON.stringify({ [secret]: "bad.tenant" }) })).toThrow(/API_KEYS/);
    try {
      loadConfig({ API_KEYS: JSON.stringify({ [secret]: "bad.tenant" }) });
    } catch (err) {
      expect(String(err)).not.toContain(secret);
    }
  });
});

describe("tRPC batches", () => {
  it("refuse more than 10 calls at once", async () => {
    const calls = Array.from({ length: 11 }, () => "strategies.list").join(",");
    const input = encodeURIComponent(JSON.stringify({}));
    const res = await exports.default.fetch(
      new Request(`http://optimizer.test/trpc/${calls}?batch=1&input=${input}`, { headers: { authorization: `Bearer ${KEY_A}` } }),
    );
    expect(res.status).toBe(400);
    const ok = await exports.default.fetch(
      new Request(`http://optimizer.test/trpc/${calls.split(",").slice(0, 10).join(",")}?batch=1&input=${input}`, { headers: { authorization: `Bearer ${KEY_A}` } }),
    );
    expect(ok.status).toBe(200);
  });
});
