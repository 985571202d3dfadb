import type { Mode } from "../schema";

export interface Ranked {
  score: number;
  index: number;
}

/** Strictly better by the objective; equal scores rank the lower task index first, so order is stable. */
export const ranksBefore = (a: Ranked, b: Ranked, mode: Mode): boolean =>
  a.score === b.score ? a.index < b.index : mode === "max" ? a.score > b.score : a.score < b.score;

/**
 * Inserts `entry` into a best-first list kept at most `n` long. Returns the new list, or null when
 * the entry does not make the cut (the caller then has nothing to persist or publish).
 */
export function insertTopN<T extends Ranked>(list: readonly T[], entry: T, n: number, mode: Mode): T[] | null {
  let at = list.length;
  while (at > 0 && ranksBefore(entry, list[at - 1]!, mode)) at--;
  if (at >= n) return null;
  const next = [...list.slice(0, at), entry, ...list.slice(at)];
  if (next.length > n) next.length = n;
  return next;
}

/** Whether `value` reaches the early-stop threshold in the policy's direction. */
export const meetsThreshold = (value: number, threshold: number, mode: Mode): boolean =>
  mode === "max" ? value >= threshold : value <= threshold;
