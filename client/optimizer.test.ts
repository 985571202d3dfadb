import { describe, expect, it } from "vitest";
import { ApiRequestError, ConnectionError, toClientError } from "./errors";
import { createOptimizerClient } from "./optimizer";
import type { LiveDeps } from "./live";

interface Seen {
  method: string;
  url: URL;
  headers: Headers;
  body: string | null;
}

/** A fetch that answers tRPC batches and REST calls from a table, recording every request. */
function fakeApi(answer: (path: string, input: unknown, req: Seen) => { status: number; body: unknown }) {
  const seen: Seen[] = [];
  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const body = typeof init?.body === "string" ? init.body : init?.body == null ? null : await new Response(init.body).text();
    const req = { method: init?.method ?? "GET", url, headers: new Headers(init?.headers), body };
    seen.push(req);
    if (url.pathname.startsWith("/trpc/")) {
      const paths = url.pathname.slice("/trpc/".length).split(",");
      const inputs = (body ? JSON.parse(body) : JSON.parse(url.searchParams.get("input") ?? "{}")) as Record<string, unknown>;
      const results = paths.map((p, i) => answer(p, inputs[i], req));
      const status = results.length === 1 ? results[0]!.status : 207;
      return new Response(JSON.stringify(results.map((r) => r.body)), { status, headers: { "content-type": "application/json" } });
    }
    const r = answer(url.pathname, body, req);
    return new Response(typeof r.body === "string" ? r.body : JSON.stringify(r.body), { status: r.status, headers: { "content-type": "application/json" } });
  };
  return { fetch: fetch as typeof globalThis.fetch, seen };
}

const trpcOk = (data: unknown) => ({ status: 200, body: { result: { data } } });
const trpcError = (status: number, apiError: unknown) => ({ status, body: { error: { message: "x", code: -32600, data: { apiError, httpStatus: status } } } });

describe("the optimizer client", () => {
  it("submits the spec with the key in the Authorization header and an idempotency key, never in the URL", async () => {
    const api = fakeApi((path, input) => (path === "optimizations.submit" ? trpcOk({ id: "job-1", input }) : trpcOk(null)));
    const service = createOptimizerClient({ url: "http://127.0.0.1:1", apiKey: "secret-key", fetch: api.fetch });
    const job = (await service.submit({ strategy: "s", dataset: "d", params: { a: { values: [1] } }, objective: { metric: "m", mode: "max" } }, "idem-1")) as unknown as { id: string; input: Record<string, unknown> };
    expect(job.id).toBe("job-1");
    expect(job.input).toMatchObject({ strategy: "s", idempotencyKey: "idem-1" });
    const [req] = api.seen;
    expect(req!.headers.get("authorization")).toBe("Bearer secret-key");
    expect(req!.url.toString()).not.toContain("secret-key");
  });

  it("turns the API's validation error into an ApiRequestError with its status, code and field paths", async () => {
    const details = [
      { path: "params.fast.max", message: "max must be >= min" },
      { path: "topN", message: "Too big" },
    ];
    const api = fakeApi(() => trpcError(400, { code: "validation_failed", message: "invalid input", details }));
    const service = createOptimizerClient({ url: "http://127.0.0.1:1", apiKey: "k", fetch: api.fetch });
    const error = await service.submit({ strategy: "s", dataset: "d", params: {}, objective: { metric: "m", mode: "max" } }, "i").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiRequestError);
    expect(error).toMatchObject({ status: 400, code: "validation_failed", message: "invalid input", details });
  });

  it("cancels over REST and reports the HTTP status (202) with the ended job", async () => {
    const api = fakeApi((path) => (path === "/api/v1/optimizations/job-1/cancel" ? { status: 202, body: { id: "job-1", status: "canceled" } } : { status: 404, body: {} }));
    const service = createOptimizerClient({ url: "http://127.0.0.1:1", apiKey: "k", fetch: api.fetch });
    const outcome = await service.cancel("job-1", "canceled from the web page");
    expect(outcome.status).toBe(202);
    expect(outcome.job.status).toBe("canceled");
    expect(api.seen[0]).toMatchObject({ method: "POST" });
    expect(JSON.parse(api.seen[0]!.body!)).toEqual({ reason: "canceled from the web page" });
  });

  it("a refused cancel (the job already ended) is an ApiRequestError with the API's code", async () => {
    const api = fakeApi(() => ({ status: 409, body: { error: { code: "conflict", message: "optimization job-1 already ended as succeeded" } } }));
    const service = createOptimizerClient({ url: "http://127.0.0.1:1", apiKey: "k", fetch: api.fetch });
    await expect(service.cancel("job-1")).rejects.toMatchObject({ code: "conflict", message: "optimization job-1 already ended as succeeded" });
  });

  it("an export answers the streamed file; an unknown job is not_found", async () => {
    const api = fakeApi((path, _b, req) =>
      path === "/api/v1/optimizations/job-1/export" && req.url.searchParams.get("format") === "csv"
        ? { status: 200, body: "index,status\n0,succeeded\n" }
        : { status: 404, body: { error: { code: "not_found", message: "no such optimization" } } },
    );
    const service = createOptimizerClient({ url: "http://127.0.0.1:1", apiKey: "k", fetch: api.fetch });
    expect(await (await service.export("job-1", "csv")).text()).toBe("index,status\n0,succeeded\n");
    await expect(service.export("job-2", "csv")).rejects.toMatchObject({ status: 404, code: "not_found" });
  });

  it("a server that cannot be reached is a ConnectionError, over tRPC and REST alike; other errors pass through", async () => {
    const down = (async () => Promise.reject(new TypeError("fetch failed"))) as typeof fetch;
    const service = createOptimizerClient({ url: "http://127.0.0.1:1", apiKey: "k", fetch: down });
    await expect(service.status("j")).rejects.toBeInstanceOf(ConnectionError);
    await expect(service.cancel("j")).rejects.toBeInstanceOf(ConnectionError);
    await expect(service.status("j")).rejects.toMatchObject({ message: expect.stringContaining("could not reach http://127.0.0.1:1") });
    const other = new RangeError("boom");
    expect(toClientError(other, "u")).toBe(other);
  });

  it("watch yields the job as it changes until it ends, polling where there is no WebSocket", async () => {
    let polls = 0;
    const statuses = ["running", "running", "succeeded"];
    const api = fakeApi((path) =>
      path === "optimizations.status" ? trpcOk({ id: "j", status: statuses[Math.min(polls++, 2)], summary: { finished: polls, total: 3 } }) : trpcOk(null),
    );
    const service = createOptimizerClient({ url: "http://127.0.0.1:1", apiKey: "k", fetch: api.fetch });
    const deps: LiveDeps = { openSocket: null, setTimeout: (run) => setTimeout(run, 0), clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>) };
    const seen: string[] = [];
    for await (const update of service.watch("j", { deps })) seen.push(`${update.source}:${update.job.status}`);
    expect(seen).toEqual(["poll:running", "poll:running", "poll:succeeded"]);
  });

  it("watch gives up with the ConnectionError once the server stays away for maxFailedPolls polls in a row", async () => {
    let calls = 0;
    const fetch = (async () => {
      calls += 1;
      // The job answers once, then the server goes away for good.
      if (calls === 1) return new Response(JSON.stringify([trpcOk({ id: "j", status: "running", summary: { finished: 1, total: 3 } }).body]), { status: 200 });
      throw new TypeError("fetch failed");
    }) as typeof globalThis.fetch;
    const service = createOptimizerClient({ url: "http://127.0.0.1:1", apiKey: "k", fetch });
    const deps: LiveDeps = { openSocket: null, setTimeout: (run) => setTimeout(run, 0), clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>) };
    const seen: string[] = [];
    const watching = (async () => {
      for await (const update of service.watch("j", { deps, live: { maxFailedPolls: 3 } })) seen.push(update.job.status);
    })();
    await expect(watching).rejects.toBeInstanceOf(ConnectionError);
    expect(seen).toEqual(["running"]);
    expect(calls).toBe(4);
  });

  it("a server that takes the connection and never answers is a ConnectionError after timeoutMs, over tRPC and REST; a slow export body is not cut", async () => {
    const silent = (async (_input: RequestInfo | URL, init?: RequestInit) =>
      new Promise<Response>((_resolve, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal!.reason as Error)))) as typeof globalThis.fetch;
    const service = createOptimizerClient({ url: "http://127.0.0.1:1", apiKey: "k", fetch: silent, timeoutMs: 20 });
    for (const call of [() => service.status("j"), () => service.cancel("j")]) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as Error).message).toBe("could not reach http://127.0.0.1:1: no answer within 0.02 s");
    }

    const slowBody = (async () =>
      new Response(
        new ReadableStream<Uint8Array>({
          async start(controller) {
            controller.enqueue(new TextEncoder().encode("index\n"));
            await new Promise((resolve) => setTimeout(resolve, 80));
            controller.enqueue(new TextEncoder().encode("0\n"));
            controller.close();
          },
        }),
        { status: 200 },
      )) as typeof globalThis.fetch;
    const exporting = createOptimizerClient({ url: "http://127.0.0.1:1", apiKey: "k", fetch: slowBody, timeoutMs: 20 });
    expect(await (await exporting.export("j", "csv")).text()).toBe("index\n0\n");
  });

  it("watch of a job this key cannot see throws the API's not_found", async () => {
    const api = fakeApi(() => trpcError(404, { code: "not_found", message: "no such optimization" }));
    const service = createOptimizerClient({ url: "http://127.0.0.1:1", apiKey: "k", fetch: api.fetch });
    const deps: LiveDeps = { openSocket: () => { throw new Error("no socket without a ticket"); }, setTimeout: (run) => setTimeout(run, 0), clearTimeout: () => undefined };
    const watching = (async () => {
      for await (const _ of service.watch("j", { deps })) throw new Error("nothing to yield");
    })();
    await expect(watching).rejects.toMatchObject({ code: "not_found", status: 404 });
  });
});
