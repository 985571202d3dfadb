import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ApiErrorBody, Job } from "../../schema";
import { range, synthetic } from "../helpers";
import { jobRowsOf, tenantApp, usageOf } from "../quota-helpers";

const OPT = "/api/v1/optimizations";
const spec = (tasks = 3) => synthetic({ a: range(1, tasks) });
const withKey = (key: string) => ({ "idempotency-key": key });

describe("Idempotency-Key on REST submit", () => {
  it("answers a repeat of the same key and spec with the same job (200), creating and charging nothing more", async () => {
    const t = tenantApp("idem-same");
    const first = await t.json<Job>("POST", OPT, spec(), withKey("order-1"));
    expect(first.status).toBe(201);
    // The same spec written otherwise: keys in another order, a default spelled out.
    const { strategy, dataset, params, objective } = spec();
    const again = await t.json<Job>("POST", OPT, { topN: 10, objective, params, dataset, strategy }, withKey("order-1"));
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect(again.headers.get("location")).toBe(`${OPT}/${first.body.id}`);
    expect(await jobRowsOf(t.tenant)).toHaveLength(1);
    expect((await usageOf(t.tenant)).tasks).toBe(3);
  });

  it("refuses the same key with another spec: 422 idempotency_conflict, nothing created", async () => {
    const t = tenantApp("idem-other");
    expect((await t.json("POST", OPT, spec(3), withKey("k"))).status).toBe(201);
    const res = await t.json<ApiErrorBody>("POST", OPT, spec(4), withKey("k"));
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("idempotency_conflict");
    expect(res.body.error.details?.map((d) => d.path)).toEqual(["Idempotency-Key"]);
    expect(await jobRowsOf(t.tenant)).toHaveLength(1);
    expect((await usageOf(t.tenant)).tasks).toBe(3);
  });

  it("keeps keys per tenant", async () => {
    const a = tenantApp("idem-tenant-a");
    const b = tenantApp("idem-tenant-b");
    const ja = await a.json<Job>("POST", OPT, spec(), withKey("shared"));
    const jb = await b.json<Job>("POST", OPT, spec(), withKey("shared"));
    expect([ja.status, jb.status]).toEqual([201, 201]);
    expect(jb.body.id).not.toBe(ja.body.id);
    // A different spec under tenant b's key is b's own business: tenant a's key still replays.
    expect((await a.json<Job>("POST", OPT, spec(), withKey("shared"))).body.id).toBe(ja.body.id);
  });

  it("validates the key: 1 to 255 printable ASCII characters, else 400 naming the header", async () => {
    const t = tenantApp("idem-invalid");
    for (const key of ["", "x".repeat(256), "tab\there", "caf\u00e9"]) {
      const res = await t.json<ApiErrorBody>("POST", OPT, spec(), withKey(key));
      expect(res.status, JSON.stringify(key)).toBe(400);
      expect(res.body.error.code).toBe("validation_failed");
      expect(res.body.error.details?.map((d) => d.path)).toEqual(["Idempotency-Key"]);
    }
    expect((await t.json("POST", OPT, spec(), withKey("x".repeat(255)))).status).toBe(201);
    expect(await jobRowsOf(t.tenant)).toHaveLength(1);
  });

  it("replaces an entry older than 24 h: the key makes a new job", async () => {
    const t = tenantApp("idem-expired");
    const old = await t.json<Job>("POST", OPT, spec(), withKey("daily"));
    const past = new Date(Date.now() - 25 * 3600_000).toISOString();
    await env.DB.prepare("UPDATE idempotency_keys SET created_at = ? WHERE tenant = ?").bind(past, t.tenant).run();
    // Even with another spec: an expired key is free again.
    const fresh = await t.json<Job>("POST", OPT, spec(4), withKey("daily"));
    expect(fresh.status).toBe(201);
    expect(fresh.body.id).not.toBe(old.body.id);
    const again = await t.json<Job>("POST", OPT, spec(4), withKey("daily"));
    expect([again.status, again.body.id]).toEqual([200, fresh.body.id]);
  });

  it("gives two concurrent identical submits one job", async () => {
    const t = tenantApp("idem-race");
    const answers = await Promise.all([0, 1, 2, 3].map(() => t.json<Job>("POST", OPT, spec(), withKey("race"))));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 201]);
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    expect(await jobRowsOf(t.tenant)).toHaveLength(1);
    expect((await usageOf(t.tenant)).tasks).toBe(3);
  });

  it("replays even when the tenant is now at its quota, and a refused submit leaves the key free", async () => {
    const t = tenantApp("idem-quota", { QUOTA_TASKS_PER_DAY: "5" });
    const first = await t.json<Job>("POST", OPT, spec(3), withKey("a"));
    expect((await t.json("POST", OPT, spec(3), withKey("b"))).status).toBe(429);
    expect((await t.json<Job>("POST", OPT, spec(3), withKey("a"))).body.id).toBe(first.body.id);
    // Key "b" was not kept by the refused submit: another spec under it is not a conflict.
    expect((await t.json("POST", OPT, spec(2), withKey("b"))).status).toBe(201);
  });
});

describe("idempotencyKey on tRPC optimizations.submit", () => {
  it("replays the same job, refuses another spec, validates the key, and dedupes concurrent calls", async () => {
    const t = tenantApp("idem-trpc");
    const [x, y] = await Promise.all([0, 1].map(() => t.trpcMutation<Job>("optimizations.submit", { ...spec(), idempotencyKey: "t-1" })));
    expect(x!.body.result!.data.id).toBe(y!.body.result!.data.id);
    expect(await jobRowsOf(t.tenant)).toHaveLength(1);
    const other = await t.trpcMutation("optimizations.submit", { ...spec(4), idempotencyKey: "t-1" });
    expect(other.status).toBe(422);
    expect(other.body.error!.data.apiError.code).toBe("idempotency_conflict");
    const invalid = await t.trpcMutation("optimizations.submit", { ...spec(), idempotencyKey: "" });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error!.data.apiError.code).toBe("validation_failed");
    expect(await jobRowsOf(t.tenant)).toHaveLength(1);
  });
});
