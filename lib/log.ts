import type { Config } from "./config";

export type LogLevel = Exclude<Config["LOG_LEVEL"], "off">;
const RANK: Record<Config["LOG_LEVEL"], number> = { debug: 10, info: 20, warn: 30, error: 40, off: 100 };

export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /** A logger that adds `fields` (jobId, tenant, requestId...) to every line. */
  with(fields: LogFields): Logger;
}

export interface LoggerOptions {
  level: Config["LOG_LEVEL"];
  fields?: LogFields;
  /** Where lines go; console.log is what Workers Logs and Logpush collect. */
  write?: (line: string) => void;
}

/** One JSON object a line, `event` naming the state change: the shape Logpush and log queries expect. */
export function createLogger({ level, fields = {}, write = (line) => console.log(line) }: LoggerOptions): Logger {
  const emit = (lvl: LogLevel, event: string, extra?: LogFields) => {
    if (RANK[lvl] < RANK[level]) return;
    write(JSON.stringify({ ts: new Date().toISOString(), level: lvl, event, ...fields, ...extra }));
  };
  return {
    debug: (e, f) => emit("debug", e, f),
    info: (e, f) => emit("info", e, f),
    warn: (e, f) => emit("warn", e, f),
    error: (e, f) => emit("error", e, f),
    with: (more) => createLogger({ level, fields: { ...fields, ...more }, write }),
  };
}
