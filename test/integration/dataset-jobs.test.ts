import { describe, expect, it } from "vitest";
import type { ApiErrorBody, Job } from "../../schema";
import { api, KEY_B, submit, waitForEnd } from "../helpers";

const DAY = 86_400_000;
const csv = (n: number) =>
  `date,close\n${Array.from({ length: n }, (_, i) => `${new Date(Date.UTC(2020, 0, 1) + i * DAY).toISOString().slice(0, 10)},${(100 + 10 * Math.sin(i / 5)).toFixed(4)}`).join("\n")}\n`;

const smaOn = (dataset: string) => ({
  strategy: "sma-crossover",
  dataset,
  params: { fast: { values: [3, 5] }, slow: { values: [10, 20] } },
  objective: { metric: "sharpe", mode: "max" as const },
});

describe("jobs on uploaded and FX datasets", () => {
  it("pins an upload to its version at submit, and runs on it", async () => {
    const up = await api("POST", "/api/v1/datasets?name=wave", { raw: csv(120) });
    expect(up.status).toBe(201);
    const job = await submit(smaOn("u-wave"));
    expect(job.dataset).toBe("u-wave@1");
    // A new version later does not change what the job runs on.
    expect((await api("POST", "/api/v1/datasets?name=wave", { raw: csv(200) })).status).toBe(201);
    const done = await waitForEnd(job.id);
    expect(done).toMatchObject({ status: "succeeded", dataset: "u-wave@1", summary: { succeeded: 4 } });
    const next = await submit(smaOn("u-wave"));
    expect(next.dataset).toBe("u-wave@2");
  });

  it("refuses another tenant's upload as an unknown dataset", async () => {
    const res = await api<ApiErrorBody>("POST", "/api/v1/optimizations", { body: smaOn("u-wave"), key: KEY_B });
    expect(res.status).toBe(422);
    expect(res.body.error.details?.map((d) => d.path)).toContain("dataset");
  });

  it("runs on a built-in FX series", async () => {
    const job = await submit(smaOn("eurusd"));
    const done = await waitForEnd(job.id);
    expect(done.status).toBe("succeeded");
    expect(done.summary.topN[0]!.metrics.trades).toBeGreaterThan(0);
    const list = await api<Job>("GET", `/api/v1/optimizations/${job.id}`);
    expect(list.body.dataset).toBe("eurusd");
  });
});
