import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { baseUrl, KEY } from "./browser";

const REPO = path.resolve(".");
const WORK = mkdtempSync(path.join(tmpdir(), "gridopt-pack-"));
const CONSUMER = path.join(WORK, "consumer");
const STEP_TIMEOUT_MS = 180_000;

const run = (cmd: string, args: string[], cwd: string): string =>
  execFileSync(cmd, args, { cwd, encoding: "utf8", timeout: STEP_TIMEOUT_MS, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, npm_config_audit: "false", npm_config_fund: "false", npm_config_update_notifier: "false" } });

/** A web app in another repository: a TypeScript project that installs the packed client and calls the API. */
const APP = `declare const process: { argv: string[] };
import { ApiRequestError, createOptimizerClient, isTerminalStatus, type Job, type StrategyInfo } from "grid-optimizer/client";

const client = createOptimizerClient({ url: process.argv[2]!, apiKey: process.argv[3]! });
const strategies: StrategyInfo[] = await client.strategies();
const job: Job = await client.submit({
  strategy: "sma-crossover",
  dataset: "sp500",
  params: { fast: { values: [10, 20] }, slow: { values: [50, 100] } },
  objective: { metric: "sharpe", mode: "max" },
});
let last = job;
for await (const update of client.watch(job.id)) last = { ...last, ...update.job };
// The types are the API's: a wrong field is a compile error, not an any.
// @ts-expect-error no such field on a Job
void job.nope;
// @ts-expect-error the objective's mode is "min" or "max"
void (() => client.submit({ strategy: "x", dataset: "y", params: {}, objective: { metric: "sharpe", mode: "best" } }));
let code = "none";
try {
  await client.status("no-such-job");
} catch (err) {
  if (err instanceof ApiRequestError) code = err.code;
}
console.log(JSON.stringify({ strategies: strategies.length, status: last.status, ended: isTerminalStatus(last.status), topN: last.summary.topN.length, code }));
`;

describe("the packed client in a project outside the repository", () => {
  it("installs from the tarball, type-checks with full types, calls the API, and carries no Worker code", () => {
    const tarball = run("npm", ["pack", "--silent", "--pack-destination", WORK], REPO).trim().split("\n").pop()!;
    const tgz = path.join(WORK, tarball);
    const files = run("tar", ["-tzf", tgz], WORK).split("\n");
    expect(files).toEqual(expect.arrayContaining(["package/bin/gridopt.mjs", "package/pkg/client/index.mjs", "package/pkg/client/cli.mjs", "package/pkg/types/client/index.d.ts"]));
    expect(files.filter((f) => /^package\/(worker|durable-objects|web|test)\//.test(f))).toEqual([]);

    mkdirSync(CONSUMER, { recursive: true });
    writeFileSync(path.join(CONSUMER, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
    writeFileSync(
      path.join(CONSUMER, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, skipLibCheck: true, outDir: "out", types: [] }, include: ["app.ts"] }),
    );
    writeFileSync(path.join(CONSUMER, "app.ts"), APP);
    run("npm", ["install", "--no-audit", "--no-fund", tgz, `typescript@${JSON.parse(readFileSync(path.join(REPO, "node_modules/typescript/package.json"), "utf8")).version}`], CONSUMER);

    // No Worker code comes with it: the bundle imports only the client's own dependencies.
    const bundle = readFileSync(path.join(CONSUMER, "node_modules/grid-optimizer/pkg/client/index.mjs"), "utf8");
    expect(new Set([...bundle.matchAll(/from\s*"([^"]+)"/g)].map((m) => m[1]))).toEqual(new Set(["@trpc/client"]));
    expect(bundle).not.toMatch(/DurableObject|hono|drizzle/);

    run(process.execPath, [path.join(CONSUMER, "node_modules/typescript/bin/tsc"), "-p", "."], CONSUMER);
    const out = JSON.parse(run(process.execPath, [path.join(CONSUMER, "out/app.js"), baseUrl(), KEY], CONSUMER).trim()) as Record<string, unknown>;
    expect(out).toEqual({ strategies: expect.any(Number), status: "succeeded", ended: true, topN: 4, code: "not_found" });
    expect(out.strategies as number).toBeGreaterThan(3);

    expect(run(process.execPath, [path.join(CONSUMER, "node_modules/.bin/gridopt"), "--version"], CONSUMER)).toMatch(/^gridopt\/0\.1\.0 /);
  }, 400_000);
});
