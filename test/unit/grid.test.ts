import { describe, expect, it } from "vitest";
import { createGrid, rangeSize } from "../../durable-objects/grid";

describe("grid enumeration by index", () => {
  it("enumerates the cartesian product in mixed radix, last parameter fastest", () => {
    const grid = createGrid({ fast: { values: [5, 10] }, slow: { min: 20, max: 40, step: 10 }, long: { values: [true, false] } });
    expect(grid.size).toBe(12);
    const all = Array.from({ length: grid.size }, (_, i) => grid.paramsAt(i));
    expect(all.slice(0, 3)).toEqual([
      { fast: 5, slow: 20, long: true },
      { fast: 5, slow: 20, long: false },
      { fast: 5, slow: 30, long: true },
    ]);
    expect(all[11]).toEqual({ fast: 10, slow: 40, long: false });
    expect(new Set(all.map((p) => JSON.stringify(p))).size).toBe(12);
  });

  it("keeps decimal steps exact and includes the max", () => {
    expect(rangeSize(0.1, 0.3, 0.1)).toBe(3);
    const grid = createGrid({ k: { min: 0.1, max: 0.3, step: 0.1 } });
    expect([0, 1, 2].map((i) => grid.paramsAt(i).k)).toEqual([0.1, 0.2, 0.3]);
    expect(rangeSize(1, 10, 4)).toBe(3);
  });

  it("addresses a huge grid without materialising it", () => {
    const axes = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`p${i}`, { min: 0, max: 99, step: 1 }]));
    const grid = createGrid(axes);
    expect(grid.size).toBe(Infinity);
    const small = createGrid({ a: { min: 0, max: 999, step: 1 }, b: { min: 0, max: 999, step: 1 } });
    expect(small.size).toBe(1_000_000);
    expect(small.paramsAt(999_999)).toEqual({ a: 999, b: 999 });
    expect(small.paramsAt(123_456)).toEqual({ a: 123, b: 456 });
  });

  it("rejects an index outside the grid", () => {
    const grid = createGrid({ a: { values: [1, 2] } });
    expect(() => grid.paramsAt(2)).toThrow(RangeError);
    expect(() => grid.paramsAt(-1)).toThrow(RangeError);
  });
});
