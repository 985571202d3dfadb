/**
 * `npm run demo`: starts the Worker locally (D1 migrations + wrangler dev), then runs the `gridopt`
 * CLI on it: `gridopt submit <spec> --watch` with a real grid search (SMA crossover on the S&P 500,
 * 174 combinations), which shows the progress and prints the final Top-N. Exits with the CLI's code:
 * 0 when the job succeeded.
 *
 *   npm run demo                              # start a local stack on a free port
 *   npm run demo -- --port 8787               # ... on this port
 *   npm run demo -- --url http://127.0.0.1:8787 --key demo-key   # use a running server
 */
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { JobSpecInput } from "../client";
import { startLocalStack, type LocalStack } from "./local-stack";

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const GRIDOPT = path.join(REPO_ROOT, "bin", "gridopt.mjs");
const SPEC_FILE = path.join(REPO_ROOT, ".tmp", "demo-spec.json");
/** The CLI is stopped (and the demo fails) if the job has not ended by then. */
const WATCH_TIMEOUT_MS = 3 * 60_000;

const SPEC = {
  name: "demo: SMA crossover on the S&P 500",
  strategy: "sma-crossover",
  dataset: "sp500",
  params: {
    fast: { min: 5, max: 50, step: 5 },
    slow: { min: 20, max: 200, step: 10 },
  },
  constraints: [{ left: "fast", op: "<", right: "slow" }],
  objective: { metric: "sharpe", mode: "max" },
  topN: 10,
  concurrencyLimit: 4,
} satisfies JobSpecInput;

const USAGE = `Usage: npm run demo -- [--port N | --url URL] [--key KEY]

  --port N    run the local stack (wrangler dev) on 127.0.0.1:N instead of a free port
  --url URL   use an already running server (e.g. one from \`npm run dev\`) instead of starting one
  --key KEY   API key to use (default: demo-key, from .dev.vars)
  -h, --help  show this help`;

class UsageError extends Error {}

interface Args {
  port?: number;
  url?: string;
  key: string;
}

function parseCli(argv: string[]): Args | "help" {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: "string" },
        url: { type: "string" },
        key: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return "help";
  const args: Args = { key: values.key ?? "demo-key" };
  if (values.port !== undefined && values.url !== undefined) throw new UsageError("--port and --url cannot be used together");
  if (values.port !== undefined) {
    const port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port < 1 || port > 65535) throw new UsageError(`--port: expected 1..65535, got "${values.port}"`);
    args.port = port;
  }
  if (values.url !== undefined) {
    let parsed: URL;
    try {
      parsed = new URL(values.url);
    } catch {
      throw new UsageError(`--url: not a URL: "${values.url}"`);
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new UsageError(`--url: expected http(s), got "${values.url}"`);
    args.url = parsed.origin;
  }
  if (args.key.trim() === "") throw new UsageError("--key: empty");
  return args;
}

const say = (line = "") => process.stdout.write(`${line}\n`);
const note = (line: string) => say(`  · ${line}`);

async function checkServer(url: string): Promise<void> {
  let status: number;
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5_000) });
    await res.body?.cancel();
    status = res.status;
  } catch (err) {
    throw new Error(`no server answers at ${url} (${(err as Error).message}); start one with \`npm run dev\` or leave out --url`);
  }
  if (status !== 200) throw new Error(`${url}/health answered ${status}, not 200; is this the optimizer Worker?`);
}

/** `gridopt submit <spec> --watch` against the server: its output goes straight to ours; answers its exit code. */
function runCli(url: string, key: string): Promise<number> {
  mkdirSync(path.dirname(SPEC_FILE), { recursive: true });
  writeFileSync(SPEC_FILE, `${JSON.stringify(SPEC, null, 2)}\n`);
  const args = [GRIDOPT, "submit", SPEC_FILE, "--watch", "--url", url, "--api-key", key];
  say(`$ gridopt ${args.slice(1).map((a) => (a === key ? "<key>" : path.isAbsolute(a) ? path.relative(process.cwd(), a) : a)).join(" ")}`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "inherit", "inherit"] });
    const timer = setTimeout(() => {
      say(`\nThe job did not end within ${WATCH_TIMEOUT_MS / 1000} s; stopping the CLI.`);
      child.kill("SIGTERM");
    }, WATCH_TIMEOUT_MS);
    child.once("error", (err) => {
      clearTimeout(timer);
      say(`could not run the CLI: ${err.message}`);
      resolve(1);
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve(code ?? 1);
    });
  });
}

const SIGNAL_EXIT_CODE: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };
let interrupted: NodeJS.Signals | undefined;

async function main(): Promise<number> {
  let args: Args | "help";
  try {
    args = parseCli(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`demo: ${err.message}\n\n${USAGE}\n`);
    return 1;
  }
  if (args === "help") {
    say(USAGE);
    return 0;
  }

  let stack: LocalStack | undefined;
  // Ctrl-C: the local stack stops itself on signals (and is killed on exit in any case); here we
  // only make the interruption read as such, and exit when there is no stack to wait for.
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = signal;
    say(`\nInterrupted (${signal}).`);
    if (!stack) process.exit(SIGNAL_EXIT_CODE[signal] ?? 1);
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, onSignal);
  try {
    let url: string;
    if (args.url) {
      url = args.url;
      say(`Using the server at ${url}`);
      await checkServer(url);
    } else {
      say("Starting the local stack (first run may take a little longer)...");
      stack = await startLocalStack({ ...(args.port ? { port: args.port } : {}), log: note });
      url = stack.url;
    }
    say();
    const code = await runCli(url, args.key);
    const reloads = stack?.reloads() ?? 0;
    if (reloads > 0) note(`wrangler dev reloaded the Worker ${reloads} time(s) during the run because a source file changed (log: ${stack?.logFile}).`);
    say();
    say(code === 0 ? "OK: the demo optimization succeeded." : `FAILED: gridopt exited with ${code} (1 failed, 3 API error, 4 canceled, 5 server unreachable).`);
    return code;
  } catch (err) {
    if (interrupted) return SIGNAL_EXIT_CODE[interrupted] ?? 1;
    process.stderr.write(`\ndemo failed: ${(err as Error).message}\n`);
    return 1;
  } finally {
    if (stack) {
      say("Stopping the local stack...");
      await stack.stop();
    }
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
