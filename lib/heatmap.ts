import { MAX_HEATMAP_BINS, type HeatmapAgg, type HeatmapAxis, type HeatmapCell, type ParamValue } from "../schema";
import type { Grid, GridAxis } from "./grid";

/** Where a heatmap query went wrong: the query field it names and why (the API shows it at that field). */
export interface HeatmapQueryError {
  path: "x" | "y" | "at";
  message: string;
}

/** How grid indexes map to cells: the two axes' digits, binned, and the digits `at` fixes. */
export interface HeatmapPlan {
  x: HeatmapAxis;
  y: HeatmapAxis;
  agg: HeatmapAgg;
  at: Record<string, ParamValue> | null;
  /** index -> cell id (x bin * y bins + y bin), or -1 when `at` leaves it out. */
  cellOf(index: number): number;
}

const binSizeOf = (size: number): number => Math.max(1, Math.ceil(size / MAX_HEATMAP_BINS));

function axisView(axis: GridAxis): HeatmapAxis {
  const binSize = binSizeOf(axis.size);
  const values: ParamValue[] = [];
  for (let k = 0; k < axis.size; k += binSize) values.push(axis.valueAt(k));
  return { name: axis.name, values, binSize, size: axis.size };
}

/** The position of `value` on an axis, or -1. Axes are bounded by the grid, so a scan is fine. */
function positionOf(axis: GridAxis, value: ParamValue): number {
  for (let k = 0; k < axis.size; k++) if (axis.valueAt(k) === value) return k;
  return -1;
}

/**
 * Plans the heatmap of params `x` and `y` of a grid. `at` (a JSON object) fixes other params to one
 * of their values; params it leaves out are aggregated with `agg`.
 */
export function planHeatmap(grid: Grid, query: { x: string; y: string; agg: HeatmapAgg; at?: string | undefined }): { ok: true; plan: HeatmapPlan } | ({ ok: false } & HeatmapQueryError) {
  const names = grid.axes.map((a) => a.name);
  const xi = names.indexOf(query.x);
  const yi = names.indexOf(query.y);
  if (xi < 0) return { ok: false, path: "x", message: `x: no param ${JSON.stringify(query.x)} in this job (${names.join(", ")})` };
  if (yi < 0) return { ok: false, path: "y", message: `y: no param ${JSON.stringify(query.y)} in this job (${names.join(", ")})` };
  if (xi === yi) return { ok: false, path: "y", message: "y: pick a param other than x" };
  const fixed: { axis: number; digit: number }[] = [];
  let at: Record<string, ParamValue> | null = null;
  if (query.at !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(query.at);
    } catch {
      return { ok: false, path: "at", message: "at: not JSON (an object of param values, e.g. {\"allowShort\":false})" };
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return { ok: false, path: "at", message: "at: an object of param values" };
    at = {};
    for (const [name, value] of Object.entries(parsed)) {
      const a = names.indexOf(name);
      if (a < 0) return { ok: false, path: "at", message: `at: no param ${JSON.stringify(name)} in this job` };
      if (a === xi || a === yi) return { ok: false, path: "at", message: `at: ${name} is an axis of the heatmap` };
      if (typeof value !== "number" && typeof value !== "string" && typeof value !== "boolean") return { ok: false, path: "at", message: `at: ${name} must be a number, string or boolean` };
      const digit = positionOf(grid.axes[a]!, value);
      if (digit < 0) return { ok: false, path: "at", message: `at: ${JSON.stringify(value)} is not a value of ${name} in this grid` };
      fixed.push({ axis: a, digit });
      at[name] = value;
    }
  }
  // Mixed radix, the last param fastest (see Grid): digit a of index i is floor(i / stride[a]) % size[a].
  const sizes = grid.axes.map((a) => a.size);
  const strides = sizes.map((_, a) => sizes.slice(a + 1).reduce((p, s) => p * s, 1));
  const x = axisView(grid.axes[xi]!);
  const y = axisView(grid.axes[yi]!);
  const yBins = y.values.length;
  const digit = (index: number, a: number) => Math.floor(index / strides[a]!) % sizes[a]!;
  return {
    ok: true,
    plan: {
      x,
      y,
      agg: query.agg,
      at,
      cellOf(index) {
        for (const f of fixed) if (digit(index, f.axis) !== f.digit) return -1;
        return Math.floor(digit(index, xi) / x.binSize) * yBins + Math.floor(digit(index, yi) / y.binSize);
      },
    },
  };
}

/**
 * The cells of one heatmap, fed each succeeded task's score once. Each cell remembers the feed
 * number that last changed its value, so a stream sends only the cells that changed since it last sent.
 */
export class HeatmapCells {
  private readonly sum = new Map<number, number>();
  private readonly count = new Map<number, number>();
  private readonly best = new Map<number, number>();
  private readonly changedAt = new Map<number, number>();
  private feeds = 0;
  finished = 0;

  constructor(readonly plan: HeatmapPlan) {}

  /** The feed number of the last batch added; 0 before any. */
  get version(): number {
    return this.feeds;
  }

  /** Adds a batch of (index, score) pairs, one per newly succeeded task. */
  add(batch: Iterable<readonly [number, number]>): void {
    const feed = ++this.feeds;
    const { agg } = this.plan;
    for (const [index, score] of batch) {
      const cell = this.plan.cellOf(index);
      if (cell < 0) continue;
      this.finished++;
      this.count.set(cell, (this.count.get(cell) ?? 0) + 1);
      this.sum.set(cell, (this.sum.get(cell) ?? 0) + score);
      const old = this.best.get(cell);
      if (old === undefined || (agg === "min" ? score < old : score > old)) this.best.set(cell, score);
      this.changedAt.set(cell, feed);
    }
  }

  /** Cells whose value changed after feed `since` (0: all of them), in cell order. */
  cells(since = 0): HeatmapCell[] {
    const yBins = this.plan.y.values.length;
    const out: HeatmapCell[] = [];
    for (const [cell, feed] of [...this.changedAt].sort((a, b) => a[0] - b[0])) {
      if (feed <= since) continue;
      const n = this.count.get(cell)!;
      const value = this.plan.agg === "mean" ? this.sum.get(cell)! / n : this.best.get(cell)!;
      out.push([Math.floor(cell / yBins), cell % yBins, value, n]);
    }
    return out;
  }
}
