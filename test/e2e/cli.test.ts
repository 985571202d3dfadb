import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Papa from "papaparse";
import { describe, expect, it } from "vitest";
import type { Job } from "../../client";
import { api, baseUrl, KEY, OTHER_TENANT_KEY } from "./browser";

const GRIDOPT = path.resolve("bin/gridopt.mjs");
/** Bun, from its npm package (a devDependency). */
const BUN = path.resolve("node_modules/.bin/bun");
const WORK = mkdtempSync(path.join(tmpdir(), "gridopt-cli-"));
const RUN_TIMEOUT_MS = 90_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `gridopt` as a user would (a pipe for stdout, so plain lines), its key from the environment. */
function gridopt(args: string[], env: Record<string, string> = {}, runtime = process.execPath): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(runtime, [GRIDOPT, ...args], {
      env: { ...process.env, GRIDOPT_URL: baseUrl(), GRIDOPT_API_KEY: KEY, NO_COLOR: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), RUN_TIMEOUT_MS);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const SPEC = {
  strategy: "sma-crossover",
  dataset: "sp500",
  params: { fast: { min: 5, max: 50, step: 5 }, slow: { min: 20, max: 200, step: 10 } },
  constraints: [{ left: "fast", op: "<", right: "slow" }],
  objective: { metric: "sharpe", mode: "max" },
  topN: 5,
};

describe("the gridopt CLI against the local stack", () => {
  it("submit spec.json --watch: follows the job to the end, prints the API's Top-N, exits 0", async () => {
    const specFile = path.join(WORK, "spec.json");
    writeFileSync(specFile, JSON.stringify(SPEC));
    const run = await gridopt(["submit", specFile, "--watch"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const id = /^job ([\w-]+): sma-crossover on sp500, 174 tasks$/m.exec(run.stdout)?.[1];
    expect(id).toBeDefined();
    expect(run.stdout).toMatch(/^succeeded {2}174\/174 \(100\.0%\)/m);
    const job = await api().status(id!);
    const rows = run.stdout.split("\n").filter((l) => /^│ \d+ /.test(l)).map((l) => l.split("│").map((c) => c.trim()).filter(Boolean));
    expect(rows.map((r) => [r[1], r[2], r[3]])).toEqual(job.summary.topN.map((e) => [String(e.params.fast), String(e.params.slow), e.score.toFixed(3)]));
  });

  it("submit from flags, watch --json (one JSON line an update), export CSV to a file with every task", async () => {
    const submitted = await gridopt(["submit", "--strategy", "sma-crossover", "--dataset", "sp500", "--param", "fast=5:20:5", "--param", "slow=40:100:20", "--objective", "sharpe:max", "--constraint", "fast < slow", "--json"]);
    expect(submitted.code).toBe(0);
    const job = JSON.parse(submitted.stdout) as Job;
    expect(job.spec.params).toEqual({ fast: { min: 5, max: 20, step: 5 }, slow: { min: 40, max: 100, step: 20 } });
    const watched = await gridopt(["watch", job.id, "--json"]);
    expect(watched.code).toBe(0);
    const lines = watched.stdout.trim().split("\n").map((l) => JSON.parse(l) as Job);
    expect(lines.at(-1)).toMatchObject({ id: job.id, status: "succeeded", summary: { finished: 16, total: 16 } });

    const out = path.join(WORK, "export.csv");
    const exported = await gridopt(["export", job.id, "--format", "csv", "--output", out]);
    expect([exported.code, exported.stderr]).toEqual([0, `wrote ${out}\n`]);
    const csv = Papa.parse<Record<string, string>>(readFileSync(out, "utf8"), { header: true, skipEmptyLines: true });
    expect(csv.data).toHaveLength(16);
    expect(csv.meta.fields).toEqual(expect.arrayContaining(["index", "status", "fast", "slow", "sharpe", "totalReturn", "trades"]));
    const json = await gridopt(["export", job.id, "--format", "json"]);
    expect((JSON.parse(json.stdout) as unknown[]).length).toBe(16);
  });

  it("cancel: 202 and exit 0; watching the canceled job exits 4", async () => {
    const submitted = await gridopt(["submit", "--strategy", "synthetic", "--dataset", "sp500", "--param", "x=0:499:1", "--param", "sleepMs=100", "--objective", "score:max", "--concurrency", "1"]);
    expect(submitted.code).toBe(0);
    const id = submitted.stdout.split(" ")[0]!;
    const canceled = await gridopt(["cancel", id, "--reason", "from the CLI test"]);
    expect(canceled.code).toBe(0);
    expect(canceled.stdout).toMatch(new RegExp(`^202 ${id} canceled \\(\\d+/500 tasks had finished\\)\\n$`));
    const watched = await gridopt(["watch", id]);
    expect(watched.code).toBe(4);
    expect((await api().status(id)).stopReason).toMatchObject({ kind: "cancel", reason: "from the CLI test" });
  });

  it("SIGTERM while watching exits 143 and leaves the job running; a text flag keeps its text (an idempotency key 00<digits>)", async () => {
    // Digits after a leading 0, new on each run (the local state outlives runs): cac alone would read a number.
    const key = `00${Date.now()}`;
    const flags = ["submit", "--strategy", "synthetic", "--dataset", "sp500", "--param", "x=0:199:1", "--param", "sleepMs=100", "--objective", "score:max", "--concurrency", "1", "--idempotency-key", key];
    const first = await gridopt(flags);
    const again = await gridopt(flags);
    expect([first.code, again.code]).toEqual([0, 0]);
    const id = first.stdout.split(" ")[0]!;
    expect(again.stdout.split(" ")[0]).toBe(id);
    // The same digits without the zeros are another key: a third submit with them starts another job.
    const seven = await gridopt(flags.map((f) => (f === key ? String(Number(key)) : f)));
    expect(seven.stdout.split(" ")[0]).not.toBe(id);
    await gridopt(["cancel", seven.stdout.split(" ")[0]!]);

    const child = spawn(process.execPath, [GRIDOPT, "watch", id], { env: { ...process.env, GRIDOPT_URL: baseUrl(), GRIDOPT_API_KEY: KEY }, stdio: ["ignore", "pipe", "pipe"] });
    const code = await new Promise<number | null>((resolve) => {
      child.stdout.once("data", () => child.kill("SIGTERM"));
      child.once("close", resolve);
      setTimeout(() => child.kill("SIGKILL"), RUN_TIMEOUT_MS);
    });
    expect(code).toBe(143);
    expect(["queued", "running"]).toContain((await api().status(id)).status);
    expect((await gridopt(["cancel", id])).code).toBe(0);
  });

  it("an API error is one line and exit 3: another tenant's job, a spec the API refuses", async () => {
    const mine = (await api().list({ limit: 1 })).items[0]!.id;
    const foreign = await gridopt(["status", mine], { GRIDOPT_API_KEY: OTHER_TENANT_KEY });
    expect(foreign.code).toBe(3);
    expect(foreign.stderr).toBe(`gridopt: API error 404 not_found: no optimization ${mine}\n`);
    const refused = await gridopt(["submit", "--strategy", "sma-crossover", "--dataset", "sp500", "--param", "fast=50:5:5", "--objective", "sharpe:max", "--top-n", "500"]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toBe("gridopt: API error 400 validation_failed: invalid input (params.fast.max: max must be >= min; topN: Too big: expected number to be <=100)\n");
  });

  it("usage errors exit 2, an unreachable server 5, and --help 0", async () => {
    expect((await gridopt(["frobnicate"])).code).toBe(2);
    expect((await gridopt(["status"])).code).toBe(2);
    expect((await gridopt(["list", "--bogus"])).code).toBe(2);
    expect((await gridopt(["submit", "--param", "fast"])).stderr).toMatch(/^gridopt: usage: --param: expected name=min:max:step/);
    const noName = await gridopt(["submit", "--strategy", "synthetic", "--name", "--watch"]);
    expect([noName.code, noName.stderr]).toEqual([2, expect.stringMatching(/^gridopt: usage: .*--name <name>.* value is missing/)]);
    const someJob = (await api().list({ limit: 1 })).items[0]!.id;
    const unwritable = await gridopt(["export", someJob, "--output", path.join(WORK, "no-such-dir", "x.csv")]);
    expect([unwritable.code, unwritable.stderr]).toEqual([73, expect.stringMatching(/^gridopt: cannot write .*no-such-dir\/x\.csv: ENOENT/)]);
    expect((await gridopt(["list"], { GRIDOPT_API_KEY: "" })).stderr).toBe("gridopt: usage: no API key: pass --api-key or set GRIDOPT_API_KEY (gridopt --help)\n");
    const down = await gridopt(["list", "--url", "http://127.0.0.1:9"]);
    expect(down.code).toBe(5);
    expect(down.stderr).toMatch(/^gridopt: could not reach http:\/\/127\.0\.0\.1:9/);
    const help = await gridopt(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("submit [spec]");
  });

  it("runs under Bun as under Node: submit --watch to the end, exit 0", async () => {
    const run = await gridopt(["submit", "--strategy", "sma-crossover", "--dataset", "sp500", "--param", "fast=10:20:10", "--param", "slow=50:100:50", "--objective", "sharpe:max", "--watch"], {}, BUN);
    expect([run.code, run.stderr]).toEqual([0, ""]);
    expect(run.stdout).toMatch(/^succeeded {2}4\/4 \(100\.0%\)/m);
    expect(run.stdout).toContain("Top 4 by sharpe (max):");
  });

  it("lists jobs, strategies, datasets and a result", async () => {
    const listed = await gridopt(["list", "--limit", "3"]);
    expect(listed.code).toBe(0);
    expect(listed.stdout.split("\n").filter((l) => /^│ [0-9a-f-]{36} /.test(l))).toHaveLength(3);
    expect((await gridopt(["strategies"])).stdout).toMatch(/^sma-crossover: /m);
    expect((await gridopt(["datasets", "list"])).stdout).toMatch(/│ sp500 +│ builtin/);
    const done = (await api().list({ limit: 20 })).items.find((j) => j.status === "succeeded" && j.strategy === "sma-crossover")!;
    const best = (await api().status(done.id)).summary.topN[0]!;
    const result = await gridopt(["result", best.resultSummaryId!]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^result {3}${best.resultSummaryId!.replace(".", "\\.")} `));
    expect(result.stdout).toMatch(/^equity {3}\d+ points, \d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d, \d+\.\d{3}x$/m);
  });
});
