import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Heatmap, HeatmapCell, TopNEntry } from "grid-optimizer/client";
import { binOf, extent, isPlateau, mergeHeatmap, neighbourhoodGrid, placeTopN, toCellGrid } from "./robustness";

const axis = (name: string, values: number[], binSize = 1) => ({ name, values, binSize, size: values.length * binSize });

/** A heatmap from rows of values (row j is y bin j), null for a cell without results. */
function heatmapOf(rows: (number | null)[][], mode: "min" | "max" = "max"): Heatmap {
  const cells: HeatmapCell[] = [];
  rows.forEach((row, y) => row.forEach((v, x) => v !== null && cells.push([x, y, v, 1])));
  return {
    x: axis("a", rows[0]!.map((_, i) => i * 10)),
    y: axis("b", rows.map((_, j) => j)),
    agg: "max",
    at: null,
    metric: "score",
    mode,
    finished: cells.length,
    cells,
  };
}

const entry = (a: number, b: number, score = 0): TopNEntry => ({ taskId: `t${a}-${b}`, index: 0, params: { a, b }, score, metrics: {}, resultSummaryId: null });

describe("robustness: neighbourhoods and plateaus", () => {
  it("tells a lone spike from a plateau", () => {
    const map = heatmapOf([
      [0, 0, 0, 8, 8],
      [0, 10, 0, 9, 9],
      [0, 0, 0, 9, 10],
    ]);
    const grid = toCellGrid(map);
    expect(isPlateau(grid, 1, 1, "max")).toBe(false);
    expect(isPlateau(grid, 4, 2, "max")).toBe(true);
    // Too few neighbours for a verdict: a 1 x 2 map has one.
    expect(isPlateau(toCellGrid(heatmapOf([[1, 2]])), 0, 0, "max")).toBeNull();
    const placed = placeTopN(map, [entry(10, 1, 10), entry(40, 2, 10), entry(999, 0)]);
    expect(placed).toEqual([
      { rank: 1, x: 1, y: 1, plateau: false },
      { rank: 2, x: 4, y: 2, plateau: true },
    ]);
  });

  it("for a minimised objective the worst is the highest: a low spike is a spike", () => {
    const map = heatmapOf(
      [
        [9, 9, 9],
        [9, 0, 9],
        [9, 9, 9],
      ],
      "min",
    );
    expect(isPlateau(toCellGrid(map), 1, 1, "min")).toBe(false);
    expect(neighbourhoodGrid(toCellGrid(map), "worst", "min").values[4]).toBe(9);
  });

  it("a neighbourhood's mean and worst lie within the grid's extent, worst never better than mean, absent cells stay absent", () => {
    const cell = fc.option(fc.integer({ min: -1000, max: 1000 }), { nil: null });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 8 }), fc.array(cell, { minLength: 64, maxLength: 64 }), (w, hgt, flat) => {
        const rows = Array.from({ length: hgt }, (_, j) => flat.slice(j * w, j * w + w));
        const grid = toCellGrid(heatmapOf(rows));
        const mean = neighbourhoodGrid(grid, "mean", "max");
        const worst = neighbourhoodGrid(grid, "worst", "max");
        const span = extent(grid);
        grid.values.forEach((v, i) => {
          if (Number.isNaN(v)) {
            expect(Number.isNaN(mean.values[i]!)).toBe(true);
            return;
          }
          expect(mean.values[i]!).toBeGreaterThanOrEqual(span![0] - 1e-9);
          expect(mean.values[i]!).toBeLessThanOrEqual(span![1] + 1e-9);
          expect(worst.values[i]!).toBeLessThanOrEqual(mean.values[i]! + 1e-9);
          expect(worst.values[i]!).toBeLessThanOrEqual(v);
        });
      }),
      { numRuns: 200 },
    );
  });

  it("finds a value's bin: exact, else the last bin starting at or below it; -1 off the axis", () => {
    const binned = axis("a", [0, 6, 12], 6);
    expect([binOf(binned, 0), binOf(binned, 5), binOf(binned, 6), binOf(binned, 17), binOf(binned, 18), binOf(binned, -1)]).toEqual([0, 0, 1, 2, -1, -1]);
    expect(binOf({ values: ["x", "y"], binSize: 1 }, "y")).toBe(1);
    expect(binOf({ values: ["x", "y"], binSize: 1 }, "z")).toBe(-1);
    expect(binOf({ values: [0, 10], binSize: 1 }, 5)).toBe(-1);
    expect(binOf(binned, undefined)).toBe(-1);
  });

  it("merges a live partial heatmap into the one held; a full one replaces it; a partial of another query is dropped", () => {
    const held = heatmapOf([[1, 2]]);
    const partial = { ...held, finished: 3, cells: [[1, 0, 5, 2]] as HeatmapCell[] };
    expect(mergeHeatmap(held, partial, false)!.cells).toEqual([
      [0, 0, 1, 1],
      [1, 0, 5, 2],
    ]);
    expect(mergeHeatmap(held, partial, true)!.cells).toEqual([[1, 0, 5, 2]]);
    expect(mergeHeatmap(held, { ...partial, agg: "mean" }, false)).toBe(held);
    expect(mergeHeatmap(held, { ...partial, at: { c: 1 } }, false)).toBe(held);
    expect(mergeHeatmap(null, partial, false)).toBeNull();
  });

  it("leaves Top-N entries off a slice out of its marks", () => {
    const map = { ...heatmapOf([[1, 2], [3, 4]]), at: { c: true } };
    const on = { ...entry(0, 0), params: { a: 0, b: 0, c: true } };
    const off = { ...entry(10, 1), params: { a: 10, b: 1, c: false } };
    expect(placeTopN(map, [off, on]).map((p) => p.rank)).toEqual([2]);
  });
});
