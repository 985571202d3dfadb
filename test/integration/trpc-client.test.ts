import { exports } from "cloudflare:workers";
import { TRPCClientError } from "@trpc/client";
import { describe, expect, it } from "vitest";
import { apiErrorOf, createTrpcClient, type TrpcClient } from "../../client";
import { TERMINAL_JOB_STATUSES, type Job } from "../../schema";
import { KEY_A, KEY_B, range, synthetic, waitFor } from "../helpers";

const clientFor = (apiKey: string): TrpcClient =>
  createTrpcClient({
    url: "http://optimizer.test",
    apiKey,
    fetch: (input, init) => exports.default.fetch(new Request(input, init)),
  });

/** The rejection of `call`, which must be a TRPCClientError. */
async function rejectionOf(call: Promise<unknown>): Promise<TRPCClientError<never>> {
  const err = await call.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TRPCClientError);
  return err as TRPCClientError<never>;
}

const httpStatusOf = (err: TRPCClientError<never>): number | undefined => (err.data as { httpStatus?: number } | undefined)?.httpStatus;

const A_VALUES = [1, 2, 3, 4, 5];
const B_VALUES = [0, 2, 1, 3];

describe("the typed tRPC client", () => {
  const a = clientFor(KEY_A);

  it("runs a 5x4 synthetic grid end to end: submit, status, exact Top-N, list, tasks, cancel conflict", async () => {
    const submitted = await a.optimizations.submit.mutate(
      synthetic({ a: { values: A_VALUES }, b: { values: B_VALUES } }, { name: "trpc 5x4", topN: 6, concurrencyLimit: 2 }),
    );
    expect(submitted).toMatchObject({ name: "trpc 5x4", strategy: "synthetic", dataset: "sp500", summary: { total: 20 } });
    expect(["queued", "running"]).toContain(submitted.status);
    // Defaults are filled in and echoed back.
    expect(submitted.spec).toMatchObject({ topN: 6, concurrencyLimit: 2, maxRetries: 3 });

    const done: Job = await waitFor(
      async () => {
        const job = await a.optimizations.status.query({ id: submitted.id });
        return TERMINAL_JOB_STATUSES.includes(job.status) ? job : null;
      },
      { what: "the job to end" },
    );
    expect(done.status).toBe("succeeded");
    expect(done.summary).toMatchObject({ total: 20, finished: 20, succeeded: 20, failed: 0, canceled: 0, running: 0, queued: 0 });

    // Independently: index = ai * 4 + bi (the last param varies fastest); score = a + b; best first, ties by lower index.
    const all = A_VALUES.flatMap((av, ai) => B_VALUES.map((bv, bi) => ({ index: ai * 4 + bi, params: { a: av, b: bv }, score: av + bv })));
    const expected = [...all].sort((x, y) => y.score - x.score || x.index - y.index).slice(0, 6);
    // Ties are really exercised: 5+2 (index 17) and 4+3 (index 15) both score 7.
    expect(expected.map((e) => [e.index, e.score])).toEqual([
      [19, 8],
      [15, 7],
      [17, 7],
      [11, 6],
      [13, 6],
      [18, 6],
    ]);
    expect(done.summary.topN.map((e) => ({ index: e.index, params: e.params, score: e.score }))).toEqual(expected);
    expect(done.summary.topN.map((e) => e.taskId)).toEqual(expected.map((e) => `${submitted.id}.${e.index}`));
    expect(done.summary.topN.every((e) => e.metrics.score === e.score)).toBe(true);

    const list = await a.optimizations.list.query({ limit: 50 });
    const listed = list.items.find((j) => j.id === submitted.id);
    expect(listed).toMatchObject({ name: "trpc 5x4", summary: { total: 20 } });

    const tasks = await a.optimizations.tasks.query({ id: submitted.id });
    expect(tasks.items).toHaveLength(20);
    expect(tasks.nextCursor).toBeNull();
    expect(tasks.items.map((t) => t.index)).toEqual(all.map((e) => e.index));
    for (const t of tasks.items) {
      const e = all[t.index]!;
      expect(t).toMatchObject({ status: "succeeded", params: e.params, score: e.score });
    }
    const paged = await a.optimizations.tasks.query({ id: submitted.id, limit: 15 });
    expect(paged.items).toHaveLength(15);
    expect(paged.nextCursor).toBe("14");
    const rest = await a.optimizations.tasks.query({ id: submitted.id, limit: 15, cursor: paged.nextCursor! });
    expect(rest.items.map((t) => t.index)).toEqual([15, 16, 17, 18, 19]);

    const err = await rejectionOf(a.optimizations.cancel.mutate({ id: submitted.id, reason: "too late" }));
    expect(apiErrorOf(err)?.code).toBe("conflict");
    expect(httpStatusOf(err)).toBe(409);
    expect((await a.optimizations.status.query({ id: submitted.id })).status).toBe("succeeded");
  });

  it("cancels a running job, and a second cancel answers the same", async () => {
    const job = await a.optimizations.submit.mutate(synthetic({ a: range(1, 50), sleepMs: { values: [100] } }, { concurrencyLimit: 1 }));
    const canceled = await a.optimizations.cancel.mutate({ id: job.id, reason: "stop" });
    expect(canceled.status).toBe("canceled");
    expect(canceled.stopReason).toMatchObject({ kind: "cancel", reason: "stop" });
    const s = canceled.summary;
    expect(s.canceled + s.finished + s.running + s.queued).toBe(50);
    expect(s.running).toBe(0);
    const again = await a.optimizations.cancel.mutate({ id: job.id });
    expect(again.status).toBe("canceled");
    expect(again.summary.canceled).toBe(s.canceled);
  });

  it("answers a wrong api key with unauthorized (401)", async () => {
    const err = await rejectionOf(clientFor("not-a-known-key").optimizations.list.query());
    expect(apiErrorOf(err)?.code).toBe("unauthorized");
    expect(httpStatusOf(err)).toBe(401);
    const submitErr = await rejectionOf(clientFor("not-a-known-key").optimizations.submit.mutate(synthetic({ a: { values: [1] } })));
    expect(apiErrorOf(submitErr)?.code).toBe("unauthorized");
  });

  it("hides tenant-a's job from tenant-b: not_found (404)", async () => {
    const job = await a.optimizations.submit.mutate(synthetic({ a: { values: [1, 2] } }));
    const b = clientFor(KEY_B);
    for (const call of [b.optimizations.status.query({ id: job.id }), b.optimizations.tasks.query({ id: job.id }), b.optimizations.cancel.mutate({ id: job.id })]) {
      const err = await rejectionOf(call);
      expect(apiErrorOf(err)?.code).toBe("not_found");
      expect(httpStatusOf(err)).toBe(404);
    }
    expect((await b.optimizations.list.query()).items.map((j) => j.id)).not.toContain(job.id);
    expect((await a.optimizations.status.query({ id: job.id })).status).not.toBe("canceled");
  });

  it("rejects an invalid spec with validation_failed (400) naming the field", async () => {
    const spec = { ...synthetic({ a: { values: [1] } }), objective: { metric: "score", mode: "up" } };
    // @ts-expect-error mode "up" is not a Mode: the client's types reject it too.
    const err = await rejectionOf(a.optimizations.submit.mutate(spec));
    const apiError = apiErrorOf(err);
    expect(apiError?.code).toBe("validation_failed");
    expect(httpStatusOf(err)).toBe(400);
    expect(apiError?.details?.map((d) => d.path)).toContain("objective.mode");
  });

  it("rejects an unknown strategy with unprocessable (422)", async () => {
    const err = await rejectionOf(a.optimizations.submit.mutate({ ...synthetic({ a: { values: [1] } }), strategy: "martingale" }));
    const apiError = apiErrorOf(err);
    expect(apiError?.code).toBe("unprocessable");
    expect(httpStatusOf(err)).toBe(422);
    expect(apiError?.details?.map((d) => d.path)).toContain("strategy");
  });

  it("answers an unknown job id with not_found and an invalid one with validation_failed", async () => {
    const unknown = await rejectionOf(a.optimizations.status.query({ id: "00000000-0000-4000-8000-000000000000" }));
    expect(apiErrorOf(unknown)?.code).toBe("not_found");
    const invalid = await rejectionOf(a.optimizations.status.query({ id: "bad id!" }));
    expect(apiErrorOf(invalid)?.code).toBe("validation_failed");
    expect(httpStatusOf(invalid)).toBe(400);
  });
});
