import { labelString, type MetricDef, type Sample } from "../../lib/metrics/definitions";

const fmt = (v: number) => (Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(15))));

/**
 * Prometheus text exposition (format 0.0.4) from stored samples. Histogram buckets are stored
 * per bucket and rendered cumulative, every bound present (zeros included) as scrapers expect.
 */
export function renderPrometheus(defs: readonly MetricDef[], samples: readonly Sample[]): string {
  const byName = new Map<string, Sample[]>();
  for (const s of samples) byName.set(s.name, [...(byName.get(s.name) ?? []), s]);
  const lines: string[] = [];
  for (const def of defs) {
    lines.push(`# HELP ${def.name} ${def.help}`, `# TYPE ${def.name} ${def.kind}`);
    if (def.kind === "histogram") {
      const perBucket = new Map((byName.get(`${def.name}_bucket`) ?? []).map((s) => [s.labels, s.value]));
      let cumulative = 0;
      for (const le of [...def.buckets.map(String), "+Inf"]) {
        const labels = labelString({ le });
        cumulative += perBucket.get(labels) ?? 0;
        lines.push(`${def.name}_bucket{${labels}} ${fmt(cumulative)}`);
      }
      const sum = byName.get(`${def.name}_sum`)?.[0]?.value ?? 0;
      const count = byName.get(`${def.name}_count`)?.[0]?.value ?? 0;
      lines.push(`${def.name}_sum ${fmt(sum)}`, `${def.name}_count ${fmt(count)}`);
    } else {
      const series = byName.get(def.name) ?? [];
      if (series.length === 0 && def.kind === "gauge") lines.push(`${def.name} 0`);
      for (const s of [...series].sort((a, b) => a.labels.localeCompare(b.labels))) {
        lines.push(s.labels ? `${def.name}{${s.labels}} ${fmt(s.value)}` : `${def.name} ${fmt(s.value)}`);
      }
    }
  }
  return `${lines.join("\n")}\n`;
}
