import { ApiRequestError, ConnectionError, type ApiErrorIssue } from "grid-optimizer/client";

/** What the page shows of a failure: the API's code (or "network"), its message, the fields at fault. */
export interface ShownError {
  code: string;
  message: string;
  details: readonly ApiErrorIssue[];
}

export function shownError(err: unknown): ShownError {
  if (err instanceof ApiRequestError) return { code: err.code, message: err.message, details: err.details };
  if (err instanceof ConnectionError) return { code: "network", message: err.message, details: [] };
  return { code: "internal", message: err instanceof Error ? err.message : String(err), details: [] };
}

/**
 * The error slot a field path lands in: the slot of the path itself, else of its nearest parent
 * (`params.fast.max` falls back to `params.fast`, then `params`); null when none has one.
 */
export function slotPathFor(path: string, hasSlot: (path: string) => boolean): string | null {
  for (let parts = path.split("."); parts.length > 0; parts = parts.slice(0, -1)) {
    const candidate = parts.join(".");
    if (hasSlot(candidate)) return candidate;
  }
  return null;
}
