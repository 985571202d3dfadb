/**
 * How many tasks a consumer runs between check-ins. Workers' clock stands still during CPU work and
 * moves only at I/O, so the pace is learned from wall time between reports (each report is I/O):
 * an interval's time over its tasks is the time a task takes, its share of the round trip included.
 * Pure: the consumer feeds it the clock it reads after each report.
 */
export interface Pace {
  /** Tasks to run before the next check-in. */
  tasksPerCheckin: number;
  /** Smoothed wall time per task, ms; null until an interval with tasks was measured. */
  msPerTask: number | null;
}

/** A chunk starts by checking in after its first task: nothing is known of its cost yet. */
export const firstPace = (): Pace => ({ tasksPerCheckin: 1, msPerTask: null });

/** Most a chunk's check-in interval may grow in one step, so one fast sample cannot overshoot. */
const MAX_GROWTH = 4;

/** The pace after an interval of `elapsedMs` wall time that ran `tasks` tasks, aiming at `checkinMs` a check-in. */
export function nextPace(pace: Pace, elapsedMs: number, tasks: number, checkinMs: number): Pace {
  if (tasks <= 0) return pace;
  const sample = Math.max(0, elapsedMs) / tasks;
  const msPerTask = pace.msPerTask === null ? sample : pace.msPerTask * 0.5 + sample * 0.5;
  const byTime = msPerTask > 0 ? Math.floor(checkinMs / msPerTask) : Infinity;
  return { tasksPerCheckin: Math.max(1, Math.min(byTime, pace.tasksPerCheckin * MAX_GROWTH)), msPerTask };
}
