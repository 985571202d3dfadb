import { seriesId, type Sample, type SeriesKey } from "../lib/metrics/definitions";

/**
 * Metric increments a job owes D1, kept in the job's row so a restart loses none. A flush sends a
 * numbered batch and resends the same increments under the same number until D1 confirms them; each
 * send carries a fresh token, and D1 applies a batch only for the token that first recorded its
 * number, so a resend of a batch D1 already applied changes nothing.
 */
export interface MetricOutbox {
  seq: number;
  pending: Record<string, Sample>;
  inflight: { seq: number; token: string; samples: Sample[] } | null;
}

export const emptyOutbox = (): MetricOutbox => ({ seq: 0, pending: {}, inflight: null });

export function addMetric(outbox: MetricOutbox, key: SeriesKey, add: number): void {
  const id = seriesId(key);
  const sample = outbox.pending[id];
  if (sample) sample.value += add;
  else outbox.pending[id] = { ...key, value: add };
}

export type MetricBatch = NonNullable<MetricOutbox["inflight"]>;

/**
 * The batch to send now, under a fresh token: the unconfirmed one again, or the pending increments
 * under a new number. The caller saves the outbox before it sends the batch, so the cut survives a
 * restart and a resend carries the same number.
 */
export function cutBatch(outbox: MetricOutbox, token: string): MetricBatch | null {
  if (outbox.inflight) {
    outbox.inflight.token = token;
    return outbox.inflight;
  }
  const samples = Object.values(outbox.pending);
  if (samples.length === 0) return null;
  outbox.inflight = { seq: ++outbox.seq, token, samples };
  outbox.pending = {};
  return outbox.inflight;
}

export function confirmSent(outbox: MetricOutbox, seq: number): void {
  if (outbox.inflight?.seq === seq) outbox.inflight = null;
}
