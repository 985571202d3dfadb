import type { HeatmapAxis, Mode } from "grid-optimizer/client";
import { paramValue } from "../../client/format";
import { extent, type CellGrid, type PlacedEntry } from "./robustness";

const MARGIN = { left: 56, bottom: 40, top: 8, right: 8 };
/** Viridis at five stops: readable for most colour vision, dark for low and bright for high. */
const STOPS: readonly [number, number, number][] = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];

/** The colour of t in [0, 1] on the scale. */
export function colourAt(t: number): string {
  const clamped = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0));
  const pos = clamped * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(pos));
  const f = pos - i;
  const a = STOPS[i]!;
  const b = STOPS[i + 1]!;
  const mix = (k: number) => Math.round(a[k]! + (b[k]! - a[k]!) * f);
  return `rgb(${mix(0)}, ${mix(1)}, ${mix(2)})`;
}

export interface HeatmapDrawing {
  grid: CellGrid;
  x: HeatmapAxis;
  y: HeatmapAxis;
  /** Higher is better ("max") or lower is ("min"): the best cells are always the bright ones. */
  mode: Mode;
  /** Top-N entries to mark: a filled dot on a plateau, a ring on a spike, a cross when unknown. */
  marks?: readonly PlacedEntry[];
}

/** A few tick labels along an axis, at most `max` of them. */
const ticks = (count: number, max: number): number[] => {
  const every = Math.max(1, Math.ceil(count / max));
  const out: number[] = [];
  for (let i = 0; i < count; i += every) out.push(i);
  return out;
};

/** Draws a heatmap into the canvas at its CSS size (sharp on high-DPI screens). */
export function drawHeatmap(canvas: HTMLCanvasElement, drawing: HeatmapDrawing): void {
  const dpr = window.devicePixelRatio || 1;
  const cssWidth = canvas.clientWidth || 320;
  const cssHeight = canvas.clientHeight || 240;
  canvas.width = Math.round(cssWidth * dpr);
  canvas.height = Math.round(cssHeight * dpr);
  const g = canvas.getContext("2d");
  if (!g) return;
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, cssWidth, cssHeight);
  const { grid, x, y, mode } = drawing;
  const plotW = cssWidth - MARGIN.left - MARGIN.right;
  const plotH = cssHeight - MARGIN.top - MARGIN.bottom;
  const cw = plotW / Math.max(1, grid.width);
  const ch = plotH / Math.max(1, grid.height);
  const span = extent(grid);
  const [lo, hi] = span ?? [0, 1];
  const scale = (v: number) => (hi === lo ? 1 : mode === "max" ? (v - lo) / (hi - lo) : (hi - v) / (hi - lo));

  g.fillStyle = "#eceff3";
  g.fillRect(MARGIN.left, MARGIN.top, plotW, plotH);
  for (let j = 0; j < grid.height; j++)
    for (let i = 0; i < grid.width; i++) {
      const v = grid.values[j * grid.width + i]!;
      if (Number.isNaN(v)) continue;
      g.fillStyle = colourAt(scale(v));
      // y grows upwards, as on a chart.
      g.fillRect(MARGIN.left + i * cw, MARGIN.top + plotH - (j + 1) * ch, Math.ceil(cw), Math.ceil(ch));
    }

  for (const mark of drawing.marks ?? []) {
    const cx = MARGIN.left + (mark.x + 0.5) * cw;
    const cy = MARGIN.top + plotH - (mark.y + 0.5) * ch;
    const r = Math.max(3, Math.min(8, Math.min(cw, ch) / 2.5));
    g.lineWidth = 2;
    g.strokeStyle = "#d6336c";
    g.fillStyle = "#d6336c";
    g.beginPath();
    if (mark.plateau === null) {
      g.moveTo(cx - r, cy - r);
      g.lineTo(cx + r, cy + r);
      g.moveTo(cx + r, cy - r);
      g.lineTo(cx - r, cy + r);
      g.stroke();
    } else {
      g.arc(cx, cy, r, 0, 2 * Math.PI);
      if (mark.plateau) g.fill();
      else g.stroke();
    }
  }

  g.fillStyle = "#222";
  g.font = "11px system-ui, sans-serif";
  g.textAlign = "center";
  g.textBaseline = "top";
  for (const i of ticks(grid.width, Math.max(2, Math.floor(plotW / 48))))
    g.fillText(paramValue(x.values[i]), MARGIN.left + (i + 0.5) * cw, MARGIN.top + plotH + 4);
  g.fillText(x.name, MARGIN.left + plotW / 2, MARGIN.top + plotH + 22);
  g.textAlign = "right";
  g.textBaseline = "middle";
  for (const j of ticks(grid.height, Math.max(2, Math.floor(plotH / 24))))
    g.fillText(paramValue(y.values[j]), MARGIN.left - 6, MARGIN.top + plotH - (j + 0.5) * ch);
  g.save();
  g.translate(12, MARGIN.top + plotH / 2);
  g.rotate(-Math.PI / 2);
  g.textAlign = "center";
  g.fillText(y.name, 0, 0);
  g.restore();
}

/** The cell under a point of the canvas (CSS pixels), for the hover readout; null outside the plot. */
export function cellAt(canvas: HTMLCanvasElement, grid: CellGrid, px: number, py: number): { x: number; y: number } | null {
  const plotW = (canvas.clientWidth || 320) - MARGIN.left - MARGIN.right;
  const plotH = (canvas.clientHeight || 240) - MARGIN.top - MARGIN.bottom;
  const i = Math.floor(((px - MARGIN.left) / plotW) * grid.width);
  const j = Math.floor(((MARGIN.top + plotH - py) / plotH) * grid.height);
  return i < 0 || j < 0 || i >= grid.width || j >= grid.height ? null : { x: i, y: j };
}
