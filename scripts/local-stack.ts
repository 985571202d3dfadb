/**
 * Runs the Worker locally for scripts (the demo, smoke checks): applies the D1 migrations, builds
 * the page, starts `wrangler dev` on 127.0.0.1 in its own process group and waits until GET /health answers 200.
 *
 *   const stack = await startLocalStack({ log: console.log });
 *   try { ... fetch(`${stack.url}/health`) ... } finally { await stack.stop(); }
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildWeb } from "./build-web";

export interface LocalStackOptions {
  /** Port for wrangler dev on 127.0.0.1; a free one is picked when omitted. */
  port?: number;
  /** Progress messages (one line each). Silent when omitted. */
  log?: (message: string) => void;
  /** How long to wait for GET /health to answer 200. Default 90 s. */
  readyTimeoutMs?: number;
  /** Port of wrangler dev's inspector (DevTools protocol) on 127.0.0.1, for CPU profiles; off when omitted. */
  inspectorPort?: number;
}

export interface LocalStack {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  /** The file wrangler dev writes its output to. */
  logFile: string;
  /**
   * How many times wrangler dev has reloaded the Worker since it started. It watches the sources and
   * reloads on any edit (no CLI flag turns that off), which can interrupt work in flight.
   */
  reloads(): number;
  /** Stops wrangler dev and everything it started (SIGTERM, SIGKILL after 5 s). Safe to call twice. */
  stop(): Promise<void>;
}

const HOST = "127.0.0.1";
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BIN_DIR = path.join(REPO_ROOT, "node_modules", ".bin");
const WRANGLER = path.join(BIN_DIR, "wrangler");
const TMP_DIR = path.join(REPO_ROOT, ".tmp");

const MIGRATIONS_TIMEOUT_MS = 120_000;
const DEFAULT_READY_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 5_000;
const KILL_WAIT_MS = 3_000;
const SIGNAL_EXIT_CODE: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

/**
 * The environment for wrangler: never prompt (CI=true, stdin closed), no colours in the log, no
 * telemetry, and the project's pinned Node first on PATH (node_modules/.bin/wrangler is a
 * `#!/usr/bin/env node` script that needs Node >= 22; the system one may be older).
 */
function wranglerEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: [BIN_DIR, process.env.PATH ?? ""].join(path.delimiter),
    CI: "true",
    NO_COLOR: "1",
    FORCE_COLOR: "0",
    WRANGLER_SEND_METRICS: "false",
  };
}

const stripAnsi = (text: string): string => text.replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, "");

function tail(text: string, lines = 40): string {
  return stripAnsi(text).trimEnd().split("\n").slice(-lines).join("\n");
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface WranglerResult {
  stdout: string;
  stderr: string;
}

/**
 * Runs one wrangler command to its end (no prompts, the pinned Node 22 first on PATH, its own process
 * group), bounded by timeoutMs. Resolves with its output when it exits 0; otherwise throws with the
 * tail of its output.
 */
export async function runWrangler(args: readonly string[], timeoutMs: number): Promise<WranglerResult> {
  const command = `wrangler ${args.join(" ")}`;
  const child = spawn(WRANGLER, args, {
    cwd: REPO_ROOT,
    env: wranglerEnv(),
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const onExit = () => killGroup(child, "SIGKILL");
  process.once("exit", onExit);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));

  const result = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error; timedOut?: boolean }>(
    (resolve) => {
      const timer = setTimeout(() => {
        killGroup(child, "SIGKILL");
        resolve({ code: null, signal: "SIGKILL", timedOut: true });
      }, timeoutMs);
      child.once("error", (error) => {
        clearTimeout(timer);
        resolve({ code: null, signal: null, error });
      });
      child.once("close", (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal });
      });
    },
  );
  process.off("exit", onExit);
  const output = () => tail(`${stdout}\n${stderr}`);
  if (result.error) {
    throw new Error(`could not run ${WRANGLER} (${result.error.message}); did you run \`npm install\`?`);
  }
  if (result.timedOut) {
    throw new Error(`${command} did not finish in ${timeoutMs / 1000} s:\n${output()}`);
  }
  if (result.code !== 0) {
    const how = result.signal ? `was killed by ${result.signal}` : `exited with code ${result.code}`;
    throw new Error(`${command} ${how}:\n${output()}`);
  }
  return { stdout, stderr };
}

/** Runs `wrangler d1 migrations apply DB --local`, bounded; throws with its output when it fails. */
async function applyMigrations(log: (message: string) => void): Promise<void> {
  log("applying D1 migrations (wrangler d1 migrations apply DB --local)");
  await runWrangler(["d1", "migrations", "apply", "DB", "--local"], MIGRATIONS_TIMEOUT_MS);
}

/** A free TCP port on 127.0.0.1 (listen on 0, read the port, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("could not read the port of a listening socket"))));
    });
  });
}

/**
 * Throws when something already listens on HOST:port. Otherwise /health could be answered by that
 * other server while our wrangler dev is still failing with "Address already in use".
 */
function assertPortFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        new Error(
          err.code === "EADDRINUSE"
            ? `port ${port} on ${HOST} is already in use; pick another with --port, or use the running server with --url http://${HOST}:${port}`
            : `cannot listen on ${HOST}:${port}: ${err.message}`,
        ),
      ),
    );
    server.listen(port, HOST, () => server.close(() => resolve()));
  });
}

/** Signals the child's whole process group (it was spawned detached, so its pgid is its pid). */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

/** Whether any process of the group is still around (a zombie counts until it is reaped). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function waitUntil(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
  return true;
}

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
    await res.body?.cancel();
    return res.status === 200;
  } catch {
    return false;
  }
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const log = options.log ?? (() => {});
  const readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;

  if (options.port !== undefined) {
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
      throw new Error(`invalid port ${options.port}: expected an integer from 1 to 65535`);
    }
    await assertPortFree(options.port); // fail fast, before the migrations
  }

  await applyMigrations(log);
  // wrangler dev serves the page from web/dist ([assets]) and refuses to start without it.
  const webBytes = await buildWeb();
  log(`built the web page (web/dist, ${(webBytes / 1024).toFixed(0)} KB)`);

  const port = options.port ?? (await freePort());
  if (options.port !== undefined) await assertPortFree(port); // again: it may have been taken meanwhile
  const url = `http://${HOST}:${port}`;

  mkdirSync(TMP_DIR, { recursive: true });
  const logFile = path.join(TMP_DIR, `wrangler-dev-${port}.log`);
  const readLog = () => {
    try {
      return tail(readFileSync(logFile, "utf8")) || "(no output yet)";
    } catch {
      return "(no output yet)";
    }
  };

  log(`starting wrangler dev on ${url} (log: ${path.relative(process.cwd(), logFile) || logFile})`);
  // Output goes straight to the file (not through pipes), so it is complete even if we die first.
  const logFd = openSync(logFile, "w");
  let child: ChildProcess;
  try {
    const inspector = options.inspectorPort === undefined ? [] : ["--inspector-port", String(options.inspectorPort)];
    child = spawn(WRANGLER, ["dev", "--ip", HOST, "--port", String(port), "--show-interactive-dev-session=false", ...inspector], {
      cwd: REPO_ROOT,
      env: wranglerEnv(),
      stdio: ["ignore", logFd, logFd],
      detached: true,
    });
  } finally {
    closeSync(logFd);
  }
  // Do not let the child alone keep us alive: a caller that forgets stop() still exits, and the
  // "exit" handler below then kills the group.
  child.unref();

  let exited = false;
  let exitDescription = "";
  const exitPromise = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exited = true;
      exitDescription = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      resolve();
    });
    child.once("error", (err) => {
      exited = true;
      exitDescription = `could not start: ${err.message}`;
      resolve();
    });
  });

  let stopping: Promise<void> | undefined;
  // If we go away without stop(), take wrangler dev (and workerd) with us. It runs in its own
  // process group, so a Ctrl-C in the terminal does not reach it by itself.
  const onExit = () => killGroup(child, "SIGKILL");
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return; // already on it (tsx relays a terminal's Ctrl-C, so it can come twice)
    log(`${signal}: stopping wrangler dev`);
    void stop().finally(() => process.exit(SIGNAL_EXIT_CODE[signal] ?? 1));
  };
  process.once("exit", onExit);
  for (const signal of signals) process.on(signal, onSignal);

  function stop(): Promise<void> {
    stopping ??= (async () => {
      const pgid = child.pid;
      if (pgid !== undefined) {
        killGroup(child, "SIGTERM");
        const gone = () => exited && !groupAlive(pgid);
        if (!(await waitUntil(gone, STOP_GRACE_MS))) {
          log(`wrangler dev did not stop in ${STOP_GRACE_MS / 1000} s after SIGTERM; sending SIGKILL`);
          killGroup(child, "SIGKILL");
          if (!(await waitUntil(gone, KILL_WAIT_MS))) log(`process group ${pgid} is still around after SIGKILL`);
        }
      }
      await Promise.race([exitPromise, sleep(100)]);
      process.off("exit", onExit);
      for (const signal of signals) process.off(signal, onSignal);
    })();
    return stopping;
  }

  const started = Date.now();
  const deadline = started + readyTimeoutMs;
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`wrangler dev ${exitDescription} before ${url}/health answered. Its output (${logFile}):\n${readLog()}`);
    }
    if (await healthy(url)) break;
    if (Date.now() >= deadline) {
      await stop();
      throw new Error(`${url}/health did not answer 200 within ${readyTimeoutMs / 1000} s. wrangler dev output (${logFile}):\n${readLog()}`);
    }
    await Promise.race([exitPromise, sleep(250)]);
  }
  log(`wrangler dev is ready on ${url} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const reloads = () => {
    try {
      return readFileSync(logFile, "utf8").split("Reloading local server").length - 1;
    } catch {
      return 0;
    }
  };
  return { url, logFile, reloads, stop };
}
