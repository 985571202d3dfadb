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
const HORIZON_MS = 3_600_000;
const quietJobs = new Set<string>();

/** Null when the job is quiet, else what it is still doing. */
async function busyWith(id: DurableObjectId): Promise<string | null> {
  return runInDurableObject(env.OPTIMIZATION_JOB.get(id), async (instance, state) => {
    let job = await instance.status();
    if (job && !TERMINAL.includes(job.status)) {
      await instance.cancel("test file ended");
      job = await instance.status();
    }
    const alarm = await state.storage.getAlarm();
    // Harness tests set alarms on a clock of their own, days ahead: those never fire in this run.
    const alarmSoon = alarm !== null && alarm < Date.now() + HORIZON_MS;
    if (!alarmSoon && (job === null || TERMINAL.includes(job.status))) return null;
    return `${id.toString().slice(0, 8)}: ${job?.status ?? "no job"}, alarm in ${alarm === null ? "-" : alarm - Date.now()} ms`;
  });
}

afterAll(async () => {
  const deadline = Date.now() + SETTLE_MS;
  let unsettled: string[] = [];
  do {
    unsettled = [];
    for (const id of await listDurableObjectIds(env.OPTIMIZATION_JOB)) {
      if (quietJobs.has(id.toString())) continue;
      const busy = await busyWith(id);
      if (busy === null) quietJobs.add(id.toString());
      else unsettled.push(busy);
    }
    if (unsettled.length > 0) await new Promise((r) => setTimeout(r, 25));
  } while (unsettled.length > 0 && Date.now() < deadline);
  if (unsettled.length > 0) throw new Error(`jobs still busy ${SETTLE_MS} ms after the file's last test: ${unsettled.join("; ")}`);
  await new Promise((r) => setTimeout(r, LAST_MESSAGES_MS));
}, SETTLE_MS + 5_000);
