import { describe, expect, it } from "vitest";
import { createGrid, rangeSize } from "../../lib/grid";

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

describe("parameter constraints", () => {
  const grid = createGrid({ fast: { min: 5, max: 20, step: 5 }, slow: { min: 10, max: 30, step: 10 } }, [{ left: "fast", op: "<", right: "slow" }]);

  it("accepts only combinations that satisfy every rule, in grid order", () => {
    const accepted = Array.from({ length: grid.size }, (_, i) => i).filter((i) => grid.accepts(i)).map((i) => grid.paramsAt(i));
    expect(accepted).toEqual([
      { fast: 5, slow: 10 },
      { fast: 5, slow: 20 },
      { fast: 5, slow: 30 },
      { fast: 10, slow: 20 },
      { fast: 10, slow: 30 },
      { fast: 15, slow: 20 },
      { fast: 15, slow: 30 },
      { fast: 20, slow: 30 },
    ]);
    expect(grid.countAccepted()).toBe(8);
    expect(grid.countAccepted(3)).toBe(3);
  });

  it("walks to the next accepted index, or the end", () => {
    expect(grid.nextAccepted(0)).toBe(0);
    expect(grid.nextAccepted(3)).toBe(4);
    expect(grid.nextAccepted(11)).toBe(11);
    expect(grid.nextAccepted(12)).toBe(12);
  });

  it("compares with a constant and with == on strings", () => {
    const g = createGrid({ k: { values: [1, 2, 3] }, mode: { values: ["a", "b"] } }, [
      { left: "k", op: ">=", right: 2 },
      { left: "mode", op: "!=", right: "k" },
    ]);
    expect(g.countAccepted()).toBe(4);
    const h = createGrid({ mode: { values: ["a", "b"] }, other: { values: ["a", "c"] } }, [{ left: "mode", op: "==", right: "other" }]);
    expect(Array.from({ length: h.size }, (_, i) => i).filter((i) => h.accepts(i)).map((i) => h.paramsAt(i))).toEqual([{ mode: "a", other: "a" }]);
  });
});
