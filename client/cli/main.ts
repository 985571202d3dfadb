import { readFileSync } from "node:fs";
import { Readable } from "node:stream";
import { cac } from "cac";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { ApiRequestError, ConnectionError } from "../errors";
import { createOptimizerClient, type OptimizerClient } from "../optimizer";
import type { Job } from "../../schema/job";
import { EXIT, OutputError, UsageError, exitCodeFor, type ExitCode } from "./exit-codes";
import { datasetsTable, jobReport, jobsTable, resultReport, strategiesTable, tasksTable } from "./render";
import { specFrom } from "./spec-flags";
import { withTextFlags } from "./text-flags";
import { createWatchView } from "./watch-view";
import { writeExport } from "./export-file";

const DEFAULT_URL = "http://127.0.0.1:8787";
const VERSION = "0.1.0";

interface Globals {
  url?: string;
  apiKey?: string;
  json?: boolean;
}

const say = (text: string) => process.stdout.write(`${text}\n`);
const list = (v: unknown): string[] => (v === undefined ? [] : (Array.isArray(v) ? v : [v]).map(String));
const str = (v: unknown): string | undefined => (v === undefined || v === true ? undefined : String(v));

const urlOf = (options: Globals): string => str(options.url) ?? process.env.GRIDOPT_URL ?? DEFAULT_URL;

/** The client from --url/--api-key, else GRIDOPT_URL/GRIDOPT_API_KEY. */
function clientOf(options: Globals): OptimizerClient {
  const url = urlOf(options);
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new Error();
  } catch {
    throw new UsageError(`--url: not an http(s) URL: "${url}"`);
  }
  const apiKey = str(options.apiKey) ?? process.env.GRIDOPT_API_KEY;
  if (!apiKey) throw new UsageError("no API key: pass --api-key or set GRIDOPT_API_KEY");
  return createOptimizerClient({ url, apiKey });
}

/** Follows a job to its end, drawing it; exits as the job ended. */
async function watchToEnd(client: OptimizerClient, first: Job, json: boolean): Promise<ExitCode> {
  const view = createWatchView({ write: (t) => process.stdout.write(t), isTTY: process.stdout.isTTY === true }, first.spec, json);
  let last: Job = first;
  // Interrupted, the terminal gets its cursor back; the job runs on (gridopt cancel stops it). Set
  // before the first line goes out: whoever reacts to that line with a signal finds the handler.
  const interrupted = (signal: NodeJS.Signals) => {
    view.abort();
    process.exit(signal === "SIGTERM" ? EXIT.terminated : EXIT.interrupted);
  };
  process.once("SIGINT", interrupted).once("SIGTERM", interrupted);
  if (!json) say(`job ${first.id}: ${first.strategy} on ${first.dataset}, ${first.summary.total} tasks`);
  try {
    for await (const { job } of client.watch(first.id)) {
      last = { ...last, ...job, spec: job.spec ?? last.spec };
      view.update(last);
    }
  } catch (err) {
    view.abort();
    throw err;
  } finally {
    process.off("SIGINT", interrupted).off("SIGTERM", interrupted);
  }
  view.finish(last);
  return exitCodeFor(last.status);
}

function readSpecFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read spec file ${path}: ${(err as Error).message}`);
  }
  try {
    const spec = JSON.parse(text) as unknown;
    if (typeof spec !== "object" || spec === null || Array.isArray(spec)) throw new Error("not a JSON object");
    return spec as Record<string, unknown>;
  } catch (err) {
    throw new UsageError(`spec file ${path}: ${(err as Error).message}`);
  }
}

function buildCli(setExit: (code: ExitCode) => void) {
  const cli = cac("gridopt");
  cli.option("--url <url>", `the optimizer's URL (or GRIDOPT_URL; default ${DEFAULT_URL})`);
  cli.option("--api-key <key>", "API key (or GRIDOPT_API_KEY)");
  cli.option("--json", "JSON output for scripts");

  cli
    .command("submit [spec]", "Start an optimization from a JSON spec file and/or flags")
    .option("--strategy <id>", "strategy, e.g. sma-crossover")
    .option("--dataset <id>", "dataset, e.g. sp500 or u-my-prices")
    .option("--param <axis>", "a param's axis, repeatable: fast=5:50:5 (min:max:step) or allowShort=true,false")
    .option("--objective <metric:mode>", "e.g. sharpe:max")
    .option("--name <name>", "a name for the job")
    .option("--top-n <n>", "Top-N size")
    .option("--concurrency <n>", "backtests in flight at once")
    .option("--max-retries <n>", "retries of a failed task")
    .option("--early-stop <rule>", "stop when a result reaches it: sharpe>=1.5, or maxDrawdown>=-0.1 (drawdowns are negative)")
    .option("--constraint <rule>", "skip combinations breaking it, repeatable: 'fast < slow'")
    .option("--result-constraint <rule>", "keep results breaking it out of the Top-N, repeatable: 'trades >= 5'")
    .option("--idempotency-key <key>", "retrying with the same key answers the same job")
    .option("--watch", "follow the job to its end")
    .action(async (specPath: string | undefined, o: Record<string, unknown>) => {
      const spec = specFrom(specPath ? readSpecFile(specPath) : null, {
        name: str(o.name),
        strategy: str(o.strategy),
        dataset: str(o.dataset),
        param: list(o.param),
        objective: str(o.objective),
        topN: str(o.topN),
        concurrency: str(o.concurrency),
        maxRetries: str(o.maxRetries),
        earlyStop: str(o.earlyStop),
        constraint: list(o.constraint),
        resultConstraint: list(o.resultConstraint),
      });
      const client = clientOf(o);
      const job = await client.submit(spec, str(o.idempotencyKey));
      if (o.watch) return setExit(await watchToEnd(client, job, o.json === true));
      say(o.json ? JSON.stringify(job) : `${job.id} ${job.status} (${job.summary.total} tasks)`);
    });

  cli.command("status <id>", "A job's status, counts and Top-N").action(async (id: string, o: Globals) => {
    const job = await clientOf(o).status(String(id));
    say(o.json ? JSON.stringify(job) : jobReport(job));
  });

  cli.command("watch <id>", "Follow a job live to its end (progress bar and Top-N; plain lines when not a terminal)").action(async (id: string, o: Globals) => {
    const client = clientOf(o);
    setExit(await watchToEnd(client, await client.status(String(id)), o.json === true));
  });

  cli
    .command("cancel <id>", "Cancel a job")
    .option("--reason <text>", "why (kept with the job)")
    .action(async (id: string, o: Globals & { reason?: unknown }) => {
      const { status, job } = await clientOf(o).cancel(String(id), str(o.reason));
      say(o.json ? JSON.stringify({ status, job }) : `${status} ${job.id} ${job.status} (${job.summary.finished}/${job.summary.total} tasks had finished)`);
    });

  cli
    .command("list", "Your jobs, newest first")
    .option("--limit <n>", "jobs a page (1-500)", { default: 20 })
    .option("--cursor <cursor>", "the next page, from the last listing")
    .action(async (o: Globals & { limit: unknown; cursor?: unknown }) => {
      const page = await clientOf(o).list({ limit: Number(o.limit), ...(o.cursor ? { cursor: String(o.cursor) } : {}) });
      say(o.json ? JSON.stringify(page) : `${jobsTable(page.items)}${page.nextCursor ? `\nmore: --cursor ${page.nextCursor}` : ""}`);
    });

  cli
    .command("tasks <id>", "A job's tasks in grid order")
    .option("--status <status>", "only tasks in this status (queued, running, succeeded, failed, canceled)")
    .option("--limit <n>", "tasks a page (1-500)", { default: 50 })
    .option("--cursor <index>", "the next page, from the last listing")
    .action(async (id: string, o: Globals & { status?: unknown; limit: unknown; cursor?: unknown }) => {
      const page = await clientOf(o).tasks(String(id), {
        limit: Number(o.limit),
        ...(o.status ? { status: String(o.status) as never } : {}),
        ...(o.cursor !== undefined ? { cursor: String(o.cursor) } : {}),
      });
      say(o.json ? JSON.stringify(page) : `${tasksTable(page.items)}${page.nextCursor ? `\nmore: --cursor ${page.nextCursor}` : ""}`);
    });

  cli
    .command("export <id>", "Every task's params and metrics, streamed to a file or stdout")
    .option("--format <format>", "csv or json", { default: "csv" })
    .option("--output <file>", "write here instead of stdout")
    .action(async (id: string, o: Globals & { format: unknown; output?: unknown }) => {
      const format = String(o.format);
      if (format !== "csv" && format !== "json") throw new UsageError(`--format: csv or json, got "${format}"`);
      const res = await clientOf(o).export(String(id), format);
      if (!res.body) throw new ApiRequestError(res.status, { code: "internal", message: "the export answered no body" });
      await writeExport(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), str(o.output), urlOf(o));
    });

  cli
    .command("datasets <action> [file]", "datasets list | datasets upload <file.csv> --name <name>")
    .option("--name <name>", "upload: the dataset's name (a-z, 0-9, -)")
    .action(async (action: string, file: string | undefined, o: Globals & { name?: unknown }) => {
      const client = clientOf(o);
      if (action === "list") {
        const items = await client.datasets.list();
        return say(o.json ? JSON.stringify(items) : datasetsTable(items));
      }
      if (action !== "upload") throw new UsageError(`datasets: list or upload, got "${action}"`);
      if (!file) throw new UsageError("datasets upload: which CSV file?");
      const name = str(o.name);
      if (!name) throw new UsageError("datasets upload: --name is required");
      let csv: string;
      try {
        csv = readFileSync(file, "utf8");
      } catch (err) {
        throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
      }
      const dataset = await client.datasets.upload(name, csv);
      say(o.json ? JSON.stringify(dataset) : `${dataset.id}: ${dataset.bars} bars, ${dataset.firstDate} to ${dataset.lastDate}`);
    });

  cli.command("strategies", "The strategies, their params and metrics").action(async (o: Globals) => {
    const items = await clientOf(o).strategies();
    say(o.json ? JSON.stringify(items) : strategiesTable(items));
  });

  cli.command("result <id>", "A result's metrics, equity and trades (id: <jobId>.<task index>)").action(async (id: string, o: Globals) => {
    const result = await clientOf(o).result(String(id));
    say(o.json ? JSON.stringify(result) : resultReport(result));
  });

  cli.help();
  cli.version(VERSION);
  return cli;
}

/** One line for what went wrong, and the exit code that says what it was. */
function failure(err: unknown): { line: string; code: ExitCode } {
  if (err instanceof UsageError || (err instanceof Error && err.name === "CACError")) return { line: `usage: ${err.message} (gridopt --help)`, code: EXIT.usage };
  if (err instanceof ApiRequestError) {
    const details = err.details.map((d) => `${d.path}: ${d.message}`).join("; ");
    return { line: `API error ${err.status} ${err.code}: ${err.message}${details ? ` (${details})` : ""}`, code: EXIT.api };
  }
  if (err instanceof ConnectionError) return { line: err.message, code: EXIT.unreachable };
  if (err instanceof OutputError) return { line: err.message, code: EXIT.output };
  return { line: `internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`, code: EXIT.internal };
}

/** Runs one command line; answers the exit code. */
export async function runCli(argv: readonly string[]): Promise<ExitCode> {
  let code: ExitCode = EXIT.ok;
  const cli = buildCli((c) => (code = c));
  try {
    cli.parse(["node", "gridopt", ...argv], { run: false });
    cli.options = withTextFlags(argv, cli.options);
    if (cli.options.help || cli.options.version) return EXIT.ok;
    if (!cli.matchedCommand) {
      const [name] = cli.args;
      if (name === undefined) {
        cli.outputHelp();
        return EXIT.usage;
      }
      throw new UsageError(`unknown command "${name}"`);
    }
    await cli.runMatchedCommand();
    return code;
  } catch (err) {
    const { line, code: exit } = failure(err);
    process.stderr.write(`gridopt: ${line}\n`);
    return exit;
  }
}
