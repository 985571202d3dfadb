import { listDurableObjectIds, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll } from "vitest";
import { TERMINAL } from "./helpers";

/**
 * Every event that enters the Worker (a queue batch, an alarm, a call on a job's DO) imports it
 * through vitest's module runner, and one that arrives while a test file tears down fails the whole
 * run ("Closing rpc while "resolve" was pending") although every test passed. A file's jobs outlive
 * its last test (their chunks, D1 flushes, the Top-N's details), so a file ends only when its jobs
 * are quiet: each ended (one still running is canceled: no test needs it any more) with no alarm
 * due, then a moment for the messages they sent last (the Top-N's details, chunks told to stop).
 */
const SETTLE_MS = 20_000;
const LAST_MESSAGES_MS = 300;
/** After a cancel here: its Top-N's details are computed by the consumer (backtests). */
const AFTER_CANCEL_MS = 1_500;
const HORIZON_MS = 3_600_000;
const quietJobs = new Set<string>();

/** The job's status as its storage holds it (not its instance's memory), null without a job. */
function statusOnDisk(sql: SqlStorage): string | null {
  const hasJob = sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'job'").toArray().length > 0;
  const row = hasJob ? sql.exec("SELECT data FROM job LIMIT 1").toArray()[0] : undefined;
  return row ? (JSON.parse(row.data as string) as { status: string }).status : null;
}

/** Null when the job is quiet; else what it is still doing, and whether it was canceled now. */
async function busyWith(id: DurableObjectId): Promise<{ what: string; canceled: boolean } | null> {
  return runInDurableObject(env.OPTIMIZATION_JOB.get(id), async (instance, state) => {
    const alarm = await state.storage.getAlarm();
    // Harness jobs run on a clock of their own, days ahead: their alarms never fire in this run, and
    // the object's instance is not their writer (the harness's shell is), so it is left alone.
    if (alarm !== null && alarm > Date.now() + HORIZON_MS) return null;
    const status = statusOnDisk(state.storage.sql);
    const name = id.toString().slice(0, 8);
    if (status !== null && !TERMINAL.includes(status)) {
      // An instance made before a harness wrote the job does not know it: without an alarm it sends nothing.
      if ((await instance.cancel("test file ended")).outcome === "not-found") return null;
      return { what: `${name}: ${status}, canceled`, canceled: true };
    }
    return alarm === null ? null : { what: `${name}: ${status ?? "no job"}, alarm in ${alarm - Date.now()} ms`, canceled: false };
  });
}

afterAll(async () => {
  const deadline = Date.now() + SETTLE_MS;
  let checked = 0;
  let canceled = false;
  let busy: string[] = [];
  do {
    busy = [];
    for (const id of await listDurableObjectIds(env.OPTIMIZATION_JOB)) {
      if (quietJobs.has(id.toString())) continue;
      checked++;
      const found = await busyWith(id);
      if (found === null) quietJobs.add(id.toString());
      else {
        busy.push(found.what);
        canceled ||= found.canceled;
      }
    }
    if (busy.length > 0) await new Promise((r) => setTimeout(r, 25));
  } while (busy.length > 0 && Date.now() < deadline);
  if (busy.length > 0) throw new Error(`jobs still busy ${SETTLE_MS} ms after the file's last test: ${busy.join("; ")}`);
  // A file that ran no job has nothing in flight.
  if (checked > 0) await new Promise((r) => setTimeout(r, canceled ? AFTER_CANCEL_MS : LAST_MESSAGES_MS));
}, SETTLE_MS + 5_000);
