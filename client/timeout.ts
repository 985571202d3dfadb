/** A call the server did not start answering in time (its response headers never came). */
export class TimeoutError extends Error {
  override readonly name = "TimeoutError";
  constructor(readonly ms: number) {
    super(`no answer within ${ms / 1000} s`);
  }
}

/** How long a call waits for the response's headers by default; a body (an export) may then take its time. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * A fetch that gives up with TimeoutError when the response has not begun within `ms`: a server that
 * accepts the connection and never answers must not hold a watch or a script forever. Only the wait
 * for the headers is timed, so a long streamed body is never cut. The caller's own signal still aborts.
 */
export function fetchWithTimeout(fetchImpl: typeof fetch | undefined, ms: number | null): typeof fetch {
  const base: typeof fetch = fetchImpl ?? ((input, init) => fetch(input, init));
  if (ms === null) return base;
  return async (input, init = {}) => {
    const controller = new AbortController();
    const outer = init.signal;
    if (outer) {
      if (outer.aborted) controller.abort(outer.reason);
      else outer.addEventListener("abort", () => controller.abort(outer.reason), { once: true });
    }
    const timer = setTimeout(() => controller.abort(new TimeoutError(ms)), ms);
    try {
      return await base(input, { ...init, signal: controller.signal });
    } finally {
      clearTimeout(timer);
    }
  };
}
