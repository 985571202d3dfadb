import type { Heatmap, HeatmapAxis, Mode, ParamValue, TopNEntry } from "grid-optimizer/client";

/** A heatmap as a dense grid: values[y * width + x], NaN where no task has succeeded. */
export interface CellGrid {
  readonly width: number;
  readonly height: number;
  readonly values: Float64Array;
}

export type Neighbourhood = "mean" | "worst";

export function toCellGrid(heatmap: Pick<Heatmap, "x" | "y" | "cells">): CellGrid {
  const width = heatmap.x.values.length;
  const height = heatmap.y.values.length;
  const values = new Float64Array(width * height).fill(Number.NaN);
  for (const [x, y, value] of heatmap.cells) if (x < width && y < height) values[y * width + x] = value;
  return { width, height, values };
}

const cell = (grid: CellGrid, x: number, y: number): number =>
  x < 0 || y < 0 || x >= grid.width || y >= grid.height ? Number.NaN : (grid.values[y * grid.width + x] ?? Number.NaN);

/** The present values of a cell's 3x3 neighbourhood, itself included. */
function around(grid: CellGrid, x: number, y: number): number[] {
  const out: number[] = [];
  for (let dy = -1; dy <= 1; dy++)
    for (let dx = -1; dx <= 1; dx++) {
      const v = cell(grid, x + dx, y + dy);
      if (!Number.isNaN(v)) out.push(v);
    }
  return out;
}

/**
 * Each present cell replaced by the mean, or the worst (by the objective's mode), of its 3x3
 * neighbourhood: a lone spike sinks, a plateau keeps its height.
 */
export function neighbourhoodGrid(grid: CellGrid, kind: Neighbourhood, mode: Mode): CellGrid {
  const values = new Float64Array(grid.values.length).fill(Number.NaN);
  for (let y = 0; y < grid.height; y++)
    for (let x = 0; x < grid.width; x++) {
      if (Number.isNaN(cell(grid, x, y))) continue;
      const near = around(grid, x, y);
      values[y * grid.width + x] =
        kind === "mean" ? near.reduce((a, b) => a + b, 0) / near.length : mode === "max" ? Math.min(...near) : Math.max(...near);
    }
  return { width: grid.width, height: grid.height, values };
}

/** Least and greatest present value, or null for an empty grid. */
export function extent(grid: CellGrid): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of grid.values) {
    if (Number.isNaN(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : null;
}

/** Share of the grid's spread a cell's neighbourhood may fall below it and still count as a plateau. */
export const PLATEAU_TOLERANCE = 0.25;
/** Neighbours (besides the cell) that must have results for a verdict. */
export const PLATEAU_MIN_NEIGHBOURS = 3;

/**
 * Whether the cell sits on a plateau: enough neighbours have results and even the worst of them is
 * within PLATEAU_TOLERANCE of the grid's spread from the cell. Null when there is too little to tell.
 */
export function isPlateau(grid: CellGrid, x: number, y: number, mode: Mode): boolean | null {
  const value = cell(grid, x, y);
  const near = around(grid, x, y);
  const span = extent(grid);
  if (Number.isNaN(value) || near.length - 1 < PLATEAU_MIN_NEIGHBOURS || !span) return null;
  const worst = mode === "max" ? Math.min(...near) : Math.max(...near);
  const spread = span[1] - span[0];
  return Math.abs(value - worst) <= PLATEAU_TOLERANCE * spread;
}

/**
 * The bin of an axis holding `value`: an exact match of a bin's first value, else (a binned numeric
 * axis, ascending) the last bin starting at or below it, within the axis' end. -1 when off the axis.
 */
export function binOf(axis: Pick<HeatmapAxis, "values" | "binSize">, value: ParamValue | undefined): number {
  if (value === undefined) return -1;
  const exact = axis.values.findIndex((v) => v === value);
  if (exact >= 0) return exact;
  const starts = axis.values;
  if (typeof value !== "number" || axis.binSize === 1 || starts.length < 2 || !starts.every((v) => typeof v === "number")) return -1;
  const nums = starts as number[];
  if (nums.some((v, i) => i > 0 && v <= nums[i - 1]!)) return -1;
  const step = (nums[1]! - nums[0]!) / axis.binSize;
  if (value < nums[0]! || value >= nums.at(-1)! + axis.binSize * step) return -1;
  let found = 0;
  while (found + 1 < nums.length && nums[found + 1]! <= value) found++;
  return found;
}

export interface PlacedEntry {
  rank: number;
  x: number;
  y: number;
  plateau: boolean | null;
}

/**
 * Where each Top-N entry sits on the heatmap, and whether on a plateau. Entries off the map, or off
 * its slice (a param fixed by `at` at another value), are left out.
 */
export function placeTopN(heatmap: Pick<Heatmap, "x" | "y" | "cells" | "mode" | "at">, topN: readonly TopNEntry[]): PlacedEntry[] {
  const grid = toCellGrid(heatmap);
  const placed: PlacedEntry[] = [];
  const fixed = Object.entries(heatmap.at ?? {});
  topN.forEach((entry, i) => {
    if (fixed.some(([name, value]) => entry.params[name] !== value)) return;
    const x = binOf(heatmap.x, entry.params[heatmap.x.name]);
    const y = binOf(heatmap.y, entry.params[heatmap.y.name]);
    if (x < 0 || y < 0) return;
    placed.push({ rank: i + 1, x, y, plateau: isPlateau(grid, x, y, heatmap.mode) });
  });
  return placed;
}

/** The same heatmap query: axes, aggregation and fixed values (`at` compared key by key). */
export function sameQuery(a: Pick<Heatmap, "x" | "y" | "agg" | "at">, b: Pick<Heatmap, "x" | "y" | "agg" | "at">): boolean {
  const atA = Object.entries(a.at ?? {});
  const atB = b.at ?? {};
  return (
    a.x.name === b.x.name &&
    a.y.name === b.y.name &&
    a.agg === b.agg &&
    atA.length === Object.keys(atB).length &&
    atA.every(([k, v]) => Object.hasOwn(atB, k) && atB[k] === v)
  );
}

/**
 * Applies a live heatmap message to what the page holds: a full one replaces it, a partial one
 * updates its cells. A partial one of another query (a subscription since replaced) is dropped.
 */
export function mergeHeatmap(current: Heatmap | null, next: Heatmap, full: boolean): Heatmap | null {
  if (full) return next;
  if (!current || !sameQuery(current, next)) return current;
  const cells = new Map(current.cells.map((c) => [`${c[0]},${c[1]}`, c] as const));
  for (const c of next.cells) cells.set(`${c[0]},${c[1]}`, c);
  return { ...next, cells: [...cells.values()] };
}
