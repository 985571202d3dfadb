export interface BackoffOptions {
  baseMs: number;
  capMs: number;
}

/**
 * Delay before retry number `retry` (1 for the first): exponential, capped, with "equal jitter"
 * (half fixed, half random) so retries of many tasks spread out yet still grow with each retry.
 */
export function retryDelayMs(retry: number, { baseMs, capMs }: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, retry - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
