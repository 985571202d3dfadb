import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { EquityPoint } from "grid-optimizer/client";

export interface EquitySeries {
  label: string;
  points: readonly EquityPoint[];
}

const PALETTE = ["#1c7ed6", "#e8590c", "#2f9e44", "#ae3ec9", "#f59f00", "#0c8599", "#c2255c", "#5c940d", "#364fc7", "#862e9c"];

/**
 * Puts series on one time axis (seconds, as uPlot wants): the union of their timestamps, each series
 * null where it has no point. Series are downsampled on the server to a few hundred points.
 */
export function alignSeries(series: readonly EquitySeries[]): uPlot.AlignedData {
  const times = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const at = new Map(times.map((t, i) => [t, i] as const));
  const columns = series.map((s) => {
    const column: (number | null)[] = new Array<number | null>(times.length).fill(null);
    for (const [t, v] of s.points) column[at.get(t)!] = v;
    return column;
  });
  return [times.map((t) => t / 1000), ...columns];
}

/** Draws equity curves (equity starting at 1) into `host`, replacing what was there. */
export function drawEquity(host: HTMLElement, series: readonly EquitySeries[], previous: uPlot | null): uPlot {
  previous?.destroy();
  host.replaceChildren();
  const width = Math.max(280, host.clientWidth || 600);
  return new uPlot(
    {
      width,
      height: 260,
      scales: { x: { time: true } },
      axes: [{}, { label: "equity", values: (_u, splits) => splits.map((v) => `${v.toFixed(2)}x`) }],
      series: [
        {},
        ...series.map((s, i) => ({ label: s.label, stroke: PALETTE[i % PALETTE.length]!, width: i === 0 ? 2 : 1, spanGaps: true })),
      ],
      legend: { show: true },
    },
    alignSeries(series),
    host,
  );
}
