import type { JobStatus } from "../../schema/status";

/**
 * What `gridopt` exits with, so that scripts can tell what happened: 0 the job did what was asked
 * (succeeded, early-stopped, or still running when not watched), then one code per kind of trouble.
 */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  api: 3,
  canceled: 4,
  unreachable: 5,
  internal: 70,
  /** The output file could not be written (sysexits' EX_CANTCREAT). */
  output: 73,
  /** Ctrl-C (SIGINT) while watching, 128 + 2: the job itself runs on. */
  interrupted: 130,
  /** SIGTERM while watching, 128 + 15. */
  terminated: 143,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export function exitCodeFor(status: JobStatus): ExitCode {
  if (status === "failed") return EXIT.failed;
  if (status === "canceled") return EXIT.canceled;
  return EXIT.ok;
}

/** A file gridopt was asked to write (--output) that it could not create or finish. */
export class OutputError extends Error {
  override readonly name = "OutputError";
}

/** A command line that cannot be run: a missing argument, a flag that does not parse, an unknown command. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
