import { abortAllDurableObjects, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { loadConfig } from "../lib/config";
import { createAdmittedGrid, createGrid } from "../lib/grid";
import { createLogger } from "../lib/log";
import { isMaterializeMessage, JobSpec, type ErrorKind, type JobSpecInput, type MaterializeMessage, type TaskChunkMessage, type TaskOutcome } from "../schema";
import type { StartInput } from "../durable-objects/job-core";
import { JobShell, type JobPorts } from "../durable-objects/job-shell";
import { chunkTasks, type ChunkTask } from "../worker/consumer/chunk-tasks";

export const config = loadConfig(env);

/** The seed every event of a harness gets: tests compute the jitter it gives with the core's own generator. */
export const SEED = 42;

export const startInput = (jobId: string, input: JobSpecInput): StartInput => {
  const spec = JobSpec.parse(input);
  return { jobId, tenant: "tenant-a", spec, total: createGrid(spec.params, spec.constraints).countAccepted(), createdAt: new Date().toISOString() };
};

/** Faults a test switches on and off while the job runs. */
export interface Faults {
  failSends?: boolean;
  /** Sends never return (the object is reset while it waits): the harness does not wait for start. */
  hangSends?: boolean;
  /** The next steps of the core throw (as a full disk or a bug would), this many of them. */
  failSteps?: number;
  /** Analytics Engine writes throw (as past the platform's 250 points an invocation). */
  failPoints?: boolean;
  /** Replaces the D1 write; `real` writes for real. */
  writeD1?: (statements: D1PreparedStatement[], real: () => Promise<unknown>) => Promise<unknown>;
}

/** A chunk the job sent: its message, and its tasks as the consumer enumerates them (with params). */
export interface SentChunk {
  chunkId: string;
  tasks: ChunkTask[];
  message: TaskChunkMessage;
}

let jobSeq = 0;

/**
 * Runs one job's shell over the real SQLite of its Durable Object, with a fake clock (ten days ahead,
 * so no real alarm fires on its own), a recording Queue, real D1 unless a fault replaces it, and
 * recorded Analytics Engine points. `restart()` evicts the object and builds a new shell from storage.
 */
export async function jobHarness(spec: JobSpecInput, faults: Faults = {}) {
  const jobId = `orch-${++jobSeq}-${crypto.randomUUID().slice(0, 8)}`;
  const stubOf = () => env.OPTIMIZATION_JOB.get(env.OPTIMIZATION_JOB.idFromName(`tenant-a:${jobId}`));
  // After an abort the old stub is broken for good: calls go through a fresh one.
  let stub = stubOf();
  const sent: SentChunk[] = [];
  const parsedSpec = JobSpec.parse(spec);
  const grid = createAdmittedGrid(parsedSpec.params, parsedSpec.constraints);
  const expand = (message: TaskChunkMessage): SentChunk => ({ chunkId: message.chunkId, tasks: [...chunkTasks(message, grid)], message });
  const points: AnalyticsEngineDataPoint[] = [];
  const materialized: MaterializeMessage[] = [];
  const clock = { now: Date.now() + 10 * 86_400_000 };
  const ports: JobPorts = {
    now: () => clock.now,
    seed: () => {
      if (faults.failSteps) {
        faults.failSteps--;
        throw new Error("storage unavailable");
      }
      return SEED;
    },
    token: () => crypto.randomUUID(),
    send: async (messages) => {
      if (faults.hangSends) return new Promise<void>(() => {});
      if (faults.failSends) throw new Error("queue unavailable");
      for (const m of messages) isMaterializeMessage(m) ? materialized.push(m as MaterializeMessage) : sent.push(expand(m as TaskChunkMessage));
    },
    writeD1: (statements) => (faults.writeD1 ? faults.writeD1(statements, () => env.DB.batch(statements)) : env.DB.batch(statements)),
    writePoint: (point) => {
      if (faults.failPoints) throw new Error("Analytics Engine write limit exceeded.");
      points.push(point);
    },
    db: env.DB,
    logger: createLogger({ level: "off" }),
  };
  let shell!: JobShell;
  const build = () =>
    runInDurableObject(stub, (_instance, state) => {
      shell = new JobShell(state.storage, config, ports);
    });
  await build();
  const run = <T>(fn: (s: JobShell) => T | Promise<T>): Promise<T> => runInDurableObject(stub, () => fn(shell));
  const job = {
    start: (input: StartInput) => run((s) => s.start(input)),
    status: () => run((s) => s.status()),
    cancel: (reason?: string) => run((s) => s.cancel(reason)),
    listTasks: (query: Parameters<JobShell["listTasks"]>[0]) => run((s) => s.listTasks(query)),
    report: (report: Parameters<JobShell["report"]>[0]) => run((s) => s.report(report)),
    abandonChunk: (chunkId: string, reason: string) => run((s) => s.abandonChunk(chunkId, reason)),
  };
  /** Fires the alarm as the platform would (it is cleared, then the handler runs); answers whether one was set. */
  const alarm = () =>
    runInDurableObject(stub, async (_instance, state) => {
      const set = (await state.storage.getAlarm()) !== null;
      await state.storage.deleteAlarm();
      await shell.alarm();
      return set;
    });
  const alarmAt = () => runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
  const sql = <T = Record<string, SqlStorageValue>>(query: string, ...args: SqlStorageValue[]) =>
    runInDurableObject(stub, (_instance, state) => state.storage.sql.exec(query, ...args).toArray() as T[]);
  /** A graceful restart, or with `abort` a reset that ends whatever the object was waiting on (every object of the file). */
  const restart = async (abort = false) => {
    if (abort) {
      await abortAllDurableObjects();
      stub = stubOf();
    } else await evictDurableObject(stub);
    await build();
  };
  const starting = job.start(startInput(jobId, spec));
  // A start left hanging is ended by the test's restart: its rejection is expected.
  starting.catch(() => undefined);
  const started = faults.hangSends ? null : await starting;
  const ok = (t: { index: number; attempt: number }, metrics: Record<string, number>): TaskOutcome => ({
    ok: true,
    index: t.index,
    attempt: t.attempt,
    metrics,
    resultSummaryId: `r-${t.index}-${t.attempt}`,
    queueWaitMs: 1,
    execMs: 2,
  });
  const fail = (t: { index: number; attempt: number }, errorKind: ErrorKind): TaskOutcome => ({
    ok: false,
    index: t.index,
    attempt: t.attempt,
    errorKind,
    errorMessage: `${errorKind} on purpose`,
    queueWaitMs: 1,
    execMs: 2,
  });
  const retryAtOf = async (index: number) => (await sql<{ retry_at: number }>("SELECT retry_at FROM tasks WHERE idx = ?", index))[0]!.retry_at;
  return { jobId, stub, sent, materialized, points, clock, faults, job, started, alarm, alarmAt, sql, restart, ok, fail, retryAtOf };
}

/** A one-task job's first attempt fails with UpstreamError, its retry succeeds with `score`. */
export async function failOnceThenSucceed(h: Awaited<ReturnType<typeof jobHarness>>, score: number): Promise<void> {
  const [m1] = h.sent.splice(0);
  await h.job.report({ chunkId: m1!.chunkId, outcomes: [h.fail(m1!.tasks[0]!, "UpstreamError")], done: true });
  h.clock.now += config.RETRY_CAP_MS;
  await h.alarm();
  const [m2] = h.sent.splice(0);
  await h.job.report({ chunkId: m2!.chunkId, outcomes: [h.ok(m2!.tasks[0]!, { score })], done: true });
}

/** A one-axis synthetic grid (score = a). */
export const grid = (n: number, extra: Partial<JobSpecInput> = {}): JobSpecInput => ({
  strategy: "synthetic",
  dataset: "sp500",
  params: { a: { min: 1, max: n, step: 1 } },
  objective: { metric: "score", mode: "max" },
  concurrencyLimit: 1,
  ...extra,
});
