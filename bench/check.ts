/** One combination's metrics from two implementations. */
export interface RunPair {
  label: string;
  a: Record<string, number>;
  b: Record<string, number>;
}

export interface Mismatch {
  label: string;
  metric: string;
  a: number | undefined;
  b: number | undefined;
  relError: number;
}

/**
 * The bench's correctness gate: every pair must agree on every named metric to `relTol` relative
 * (|a - b| <= relTol * max(|a|, |b|), so two zeros agree and a zero never matches a nonzero).
 * A metric missing or not finite on either side is a mismatch. Returns the mismatches, [] when all agree.
 */
export function checkAgreement(pairs: readonly RunPair[], metrics: readonly string[], relTol: number): Mismatch[] {
  const out: Mismatch[] = [];
  for (const { label, a, b } of pairs) {
    for (const metric of metrics) {
      const x = a[metric];
      const y = b[metric];
      if (typeof x !== "number" || typeof y !== "number" || !Number.isFinite(x) || !Number.isFinite(y)) {
        out.push({ label, metric, a: x, b: y, relError: Infinity });
        continue;
      }
      const diff = Math.abs(x - y);
      const scale = Math.max(Math.abs(x), Math.abs(y));
      if (diff > relTol * scale) out.push({ label, metric, a: x, b: y, relError: scale === 0 ? Infinity : diff / scale });
    }
  }
  return out;
}
