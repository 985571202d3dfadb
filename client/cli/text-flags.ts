/**
 * Flags whose values are text. cac's parser (mri) turns any value that reads as a number into one:
 * `--idempotency-key 007` would arrive as 7, `--api-key 0123` as 123. Their text is read back from argv.
 */
const TEXT_FLAGS = ["url", "api-key", "strategy", "dataset", "name", "idempotency-key", "reason", "cursor", "output", "objective", "early-stop", "status", "format"] as const;

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

/** The options as cac parsed them, each text flag given back the last text it had on the command line. */
export function withTextFlags<T extends Record<string, unknown>>(argv: readonly string[], options: T): T {
  const restored: Record<string, unknown> = { ...options };
  for (const flag of TEXT_FLAGS) {
    let value: string | undefined;
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i]!;
      if (arg === "--") break;
      if (arg === `--${flag}`) {
        // As mri does: a next word starting with "-" is not this flag's value (cac then reports it missing).
        const next = argv[i + 1];
        value = next !== undefined && !next.startsWith("-") ? argv[++i] : undefined;
      } else if (arg.startsWith(`--${flag}=`)) value = arg.slice(flag.length + 3);
    }
    if (value !== undefined && restored[camel(flag)] !== undefined) restored[camel(flag)] = value;
  }
  return restored as T;
}
