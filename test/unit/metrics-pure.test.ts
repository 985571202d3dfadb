import { describe, expect, it } from "vitest";
import { addMetric, confirmSent, cutBatch, emptyOutbox } from "../../durable-objects/metric-outbox";
import { addToSketch, emptySketch, quantile } from "../../durable-objects/sketch";
import { ALL_METRICS, histogramSeries, JOB_RETRY, labelString, QUEUE_WAIT } from "../../lib/metrics/definitions";
import { renderPrometheus } from "../../worker/metrics/prometheus";

describe("histogram series", () => {
  it("puts an observation in the first bucket whose bound holds it, with sum and count", () => {
    expect(histogramSeries(QUEUE_WAIT, 0.3)).toEqual([
      { key: { name: "queue_wait_seconds_bucket", labels: 'le="0.5"' }, add: 1 },
      { key: { name: "queue_wait_seconds_sum", labels: "" }, add: 0.3 },
      { key: { name: "queue_wait_seconds_count", labels: "" }, add: 1 },
    ]);
    expect(histogramSeries(QUEUE_WAIT, 30)[0]!.key.labels).toBe('le="30"');
    expect(histogramSeries(QUEUE_WAIT, 120.5)[0]!.key.labels).toBe('le="300"');
    expect(histogramSeries(QUEUE_WAIT, 5000)[0]!.key.labels).toBe('le="+Inf"');
  });
});

describe("Prometheus text", () => {
  it("renders cumulative buckets, sums, counts and labelled counters", () => {
    // Accumulated as a job's DO does (the outbox), rendered as /metrics does.
    const outbox = emptyOutbox();
    for (const v of [0.01, 0.3, 0.4, 45, 200]) for (const { key, add } of histogramSeries(QUEUE_WAIT, v)) addMetric(outbox, key, add);
    addMetric(outbox, { name: "job_retry_total", labels: labelString({ error_kind: "UpstreamError" }) }, 3);
    const text = renderPrometheus(ALL_METRICS, Object.values(outbox.pending));
    expect(text).toContain("# TYPE queue_wait_seconds histogram\n");
    expect(text).toContain('queue_wait_seconds_bucket{le="0.05"} 1\n');
    expect(text).toContain('queue_wait_seconds_bucket{le="0.5"} 3\n');
    expect(text).toContain('queue_wait_seconds_bucket{le="30"} 3\n');
    expect(text).toContain('queue_wait_seconds_bucket{le="60"} 4\n');
    expect(text).toContain('queue_wait_seconds_bucket{le="120"} 4\n');
    expect(text).toContain('queue_wait_seconds_bucket{le="+Inf"} 5\n');
    expect(text).toContain("queue_wait_seconds_sum 245.71\n");
    expect(text).toContain("queue_wait_seconds_count 5\n");
    expect(text).toContain('job_retry_total{error_kind="UpstreamError"} 3\n');
    expect(text).toContain("optimizer_tasks_in_flight 0\n");
    expect(text).toContain("# TYPE job_exec_seconds histogram\n");
    expect(text).toContain("job_exec_seconds_count 0\n");
  });

  it("escapes label values", () => {
    expect(labelString({ b: 'say "hi"', a: "x\\y" })).toBe('a="x\\\\y",b="say \\"hi\\""');
  });
});

describe("metric outbox", () => {
  it("resends an unconfirmed batch under its number with a new token, and only then sends what came after", () => {
    const outbox = emptyOutbox();
    addMetric(outbox, { name: JOB_RETRY.name, labels: 'error_kind="UpstreamError"' }, 1);
    addMetric(outbox, { name: JOB_RETRY.name, labels: 'error_kind="UpstreamError"' }, 1);
    const first = structuredClone(cutBatch(outbox, "t1")!);
    expect(first).toMatchObject({ seq: 1, token: "t1", samples: [{ value: 2 }] });
    addMetric(outbox, { name: JOB_RETRY.name, labels: 'error_kind="UpstreamError"' }, 5);
    expect(cutBatch(outbox, "t2")).toEqual({ seq: 1, token: "t2", samples: [{ ...first.samples[0], value: 2 }] });
    confirmSent(outbox, 1);
    expect(cutBatch(outbox, "t3")).toMatchObject({ seq: 2, token: "t3", samples: [{ value: 5 }] });
    confirmSent(outbox, 2);
    expect(cutBatch(outbox, "t4")).toBeNull();
  });
});

describe("quantile sketch", () => {
  it("answers quantiles within a few percent", () => {
    const sketch = emptySketch();
    for (let i = 1; i <= 1000; i++) addToSketch(sketch, i);
    expect(sketch.count).toBe(1000);
    expect(sketch.sum).toBe(500500);
    for (const [q, exact] of [[0.5, 500.5], [0.95, 950.05], [0.99, 990.01]] as const) {
      expect(Math.abs(quantile(sketch, q)! - exact) / exact).toBeLessThan(0.03);
    }
    expect(quantile(emptySketch(), 0.5)).toBeNull();
    const zeros = emptySketch();
    [0, 0, 0, 10].forEach((v) => addToSketch(zeros, v));
    expect(quantile(zeros, 0.5)).toBe(0);
  });
});
