import type { z } from "zod";
import { ApiError, zodIssues } from "../../lib/errors";

/** Validates a query, params or body against a schema: a 400 naming each field at fault. */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ApiError("validation_failed", "invalid request", zodIssues(parsed.error));
  return parsed.data;
}

/** The body as JSON (a 400 when it is not); `optional` takes an empty body as `{}`. */
export async function jsonBody(req: Request, optional = false): Promise<unknown> {
  const text = await req.text();
  if (optional && text.trim() === "") return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError("bad_request", "the request body is not valid JSON");
  }
}
