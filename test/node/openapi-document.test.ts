import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { openApiDocument, REST_ROUTES } from "../../worker/api/openapi";

describe("the OpenAPI document", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    const validator = new Validator();
    const result = await validator.validate(openApiDocument("http://127.0.0.1:8787"));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  it("the validator refuses a broken one (a path parameter that is not required, a document without info)", async () => {
    const broken = openApiDocument() as { info?: unknown; paths: Record<string, Record<string, { parameters: { required: boolean }[] }>> };
    broken.paths["/api/v1/optimizations/{id}"]!.get!.parameters[0]!.required = false;
    expect((await new Validator().validate(broken)).valid).toBe(false);
    delete broken.info;
    expect((await new Validator().validate(broken)).valid).toBe(false);
  });

  it("has one operation id each, and every key-guarded route says so", () => {
    const doc = openApiDocument() as { paths: Record<string, Record<string, { operationId: string; security: unknown[] }>> };
    const ops = Object.values(doc.paths).flatMap((p) => Object.values(p));
    expect(ops).toHaveLength(REST_ROUTES.length);
    expect(new Set(ops.map((o) => o.operationId)).size).toBe(ops.length);
    for (const route of REST_ROUTES.filter((r) => r.auth === "key")) expect(doc.paths[route.path.replace(/:([A-Za-z]+)/g, "{$1}")]![route.method]!.security).toEqual([{ apiKey: [] }]);
  });
});
