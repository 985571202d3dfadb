import { describe, expect, it } from "vitest";
import { ConstraintWorkExceeded, createAxis, createGrid } from "../../lib/grid";
import { ConfigSchema } from "../../lib/config";
import { ApiError } from "../../lib/errors";
import type { CompareOp, ParamAxis, ParamConstraint, ParamValue } from "../../schema";
import { checkFeasible, parseSpec } from "../../worker/jobs/validate-spec";

/** The definition: decode every index, evaluate every rule (what the grid did before it pruned). */
function bruteForce(params: Record<string, ParamAxis>, constraints: readonly ParamConstraint[]) {
  const holds: Record<CompareOp, (a: ParamValue, b: ParamValue) => boolean> = {
    "<": (a, b) => a < b,
    "<=": (a, b) => a <= b,
    ">": (a, b) => a > b,
    ">=": (a, b) => a >= b,
    "==": (a, b) => a === b,
    "!=": (a, b) => a !== b,
  };
  const axes = Object.entries(params).map(([name, axis]) => createAxis(name, axis));
  const size = axes.reduce((n, axis) => n * axis.size, 1);
  return Array.from({ length: size }, (_, index) => {
    const p: Record<string, ParamValue> = {};
    let rest = index;
    for (let a = axes.length - 1; a >= 0; a--) {
      p[axes[a]!.name] = axes[a]!.valueAt(rest % axes[a]!.size);
      rest = Math.floor(rest / axes[a]!.size);
    }
    return { params: p, accepted: constraints.every((c) => holds[c.op](p[c.left]!, typeof c.right === "number" ? c.right : p[c.right]!)) };
  });
}

/** mulberry32: a seeded generator, so a failure names the grid that broke. */
function random(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T,>(xs: readonly T[]): T => xs[int(xs.length)]!;
  return { int, pick };
}

const OPS: CompareOp[] = ["<", "<=", ">", ">=", "==", "!="];

function randomGrid(seed: number): { params: Record<string, ParamAxis>; constraints: ParamConstraint[] } {
  const { int, pick } = random(seed);
  const names = ["a", "b", "c", "d", "e"].slice(0, 1 + int(5));
  const axis = (): ParamAxis => {
    const n = 1 + int(6);
    // Mostly numeric axes, sorted and not; some strings, booleans and mixed values.
    switch (pick([0, 0, 1, 2, 2, 3, 3, 4, 5, 6])) {
      case 0: {
        const min = int(7) - 3;
        const step = 1 + int(2);
        return { min, max: min + (n - 1) * step, step };
      }
      case 1:
        return { min: pick([0.1, 0.25, -0.3]), max: 1.1, step: pick([0.1, 0.25, 0.35]) };
      case 2:
        return { values: Array.from({ length: n }, (_, k) => k * pick([1, 0.5]) + int(2)).sort((x, y) => x - y) };
      case 3:
        return { values: Array.from({ length: n }, () => int(6) - 2) };
      case 4:
        return { values: Array.from({ length: n }, () => pick(["a", "b", "c"])) };
      case 5:
        return { values: Array.from({ length: n }, () => pick([true, false])) };
      default:
        return { values: Array.from({ length: n }, () => pick<ParamValue>([1, "a", true, 0.3, 2])) };
    }
  };
  const params = Object.fromEntries(names.map((name) => [name, axis()]));
  const constraints = Array.from({ length: int(10) === 0 ? 0 : 1 + int(3) }, (): ParamConstraint => ({
    left: pick(names),
    op: pick(OPS),
    right: int(3) === 0 ? pick([-1, 0, 0.3, 0.5, 1, 2, 3.5]) : pick(names),
  }));
  return { params, constraints };
}

describe("constraint walk against the brute-force definition", () => {
  it("agrees on accepts, nextAccepted, countAccepted and paramsAt for 2000 random grids", () => {
    let partial = 0;
    for (let seed = 1; seed <= 2000; seed++) {
      const { params, constraints } = randomGrid(seed);
      const expected = bruteForce(params, constraints);
      const size = expected.length;
      const accepted = expected.filter((e) => e.accepted).length;
      if (accepted > 0 && accepted < size) partial++;
      const nextExpected = new Array<number>(size + 1).fill(size);
      for (let i = size - 1; i >= 0; i--) nextExpected[i] = expected[i]!.accepted ? i : nextExpected[i + 1]!;
      const label = `seed ${seed}: ${JSON.stringify({ params, constraints })}`;
      // Counting first on one grid; walking first on another (its count then comes from the walk's tables).
      const counted = createGrid(params, constraints);
      const walked = createGrid(params, constraints);
      expect([counted.countAccepted(), counted.countAccepted(3)], label).toEqual([accepted, Math.min(3, accepted)]);
      expect(nextExpected.map((_, i) => walked.nextAccepted(i)), label).toEqual(nextExpected);
      expect(walked.countAccepted(), label).toBe(accepted);
      expect(expected.map((_, i) => counted.accepts(i)), label).toEqual(expected.map((e) => e.accepted));
      expect(expected.map((_, i) => counted.paramsAt(i)), label).toEqual(expected.map((e) => e.params));
    }
    // The generator exercises real filtering, not just all-or-nothing grids.
    expect(partial).toBeGreaterThan(300);
  });
});

describe("bounded work", () => {
  it("counts fast < slow on a 10M grid by binary search per fast, not by visiting each pair", () => {
    const grid = createGrid({ fast: { min: 1, max: 1000, step: 1 }, slow: { min: 1, max: 10000, step: 1 } }, [{ left: "fast", op: "<", right: "slow" }]);
    expect(grid.size).toBe(10_000_000);
    expect(grid.countAccepted()).toBe(Array.from({ length: 1000 }, (_, f) => 10000 - (f + 1)).reduce((a, b) => a + b, 0));
    // One visit and one binary search (14 probes) per fast value.
    expect(grid.work).toBeLessThanOrEqual(1000 * 15);
  });

  it("prunes a sub-grid on its prefix: a chain of rules costs its accepted prefixes, not the grid", () => {
    const axis = { min: 1, max: 25, step: 1 };
    const grid = createGrid({ a: axis, b: axis, c: axis, d: axis, e: axis }, [
      { left: "a", op: "<", right: "b" },
      { left: "b", op: "<", right: "c" },
      { left: "c", op: "<", right: "d" },
      { left: "d", op: "<", right: "e" },
    ]);
    expect(grid.countAccepted()).toBe(53130); // 25 choose 5
    expect(grid.work).toBeLessThan(grid.size / 50);
  });

  it("solves independent groups of parameters apart and multiplies their counts", () => {
    const axis = { min: 1, max: 100, step: 1 };
    // (a, d) and (b, c) are linked; e is free: 100^5 = 10^10 combinations, four values' worth of work.
    const grid = createGrid({ a: axis, b: axis, c: axis, d: axis, e: axis }, [
      { left: "a", op: "==", right: "d" },
      { left: "b", op: "<", right: "c" },
    ]);
    expect(grid.countAccepted()).toBe(100 * 4950 * 100);
    // Per group: 100 visits of its first parameter, each with a binary search (7 probes) or two.
    expect(grid.work).toBeLessThan(2 * 100 * (1 + 2 * 7));
  });

  it("jumps over a rejected sub-grid in one nextAccepted, with no work per skipped index", () => {
    const axis = { min: 0, max: 99, step: 1 };
    const grid = createGrid({ p0: axis, p1: axis, p2: axis, p3: axis, p4: axis, p5: axis }, [
      { left: "p0", op: ">=", right: 60 },
      { left: "p5", op: ">", right: "p1" },
      { left: "p1", op: "==", right: 98 },
    ]);
    // Over 6 x 10^11 rejected indexes, then over 10^10 of them from p1 = 99.
    expect(grid.nextAccepted(0)).toBe(60 * 1e10 + 98 * 1e8 + 99);
    const built = grid.work;
    expect(grid.nextAccepted(60 * 1e10 + 98 * 1e8 + 100)).toBe(60 * 1e10 + 98 * 1e8 + 199);
    expect(grid.nextAccepted(60 * 1e10 + 99 * 1e8)).toBe(61 * 1e10 + 98 * 1e8 + 99);
    expect(grid.nextAccepted(99 * 1e10 + 99 * 1e8)).toBe(grid.size);
    expect(grid.work).toBe(built);
    expect(built).toBeLessThan(100);
  });

  it("stops a shape that cannot be pruned at the work budget, however large the grid", () => {
    // Every rule is on the last axis and the values are unsorted: each prefix must be visited.
    const shuffled = { values: [3, 1, 4, 6, 5, 2, 9, 8, 7, 10] };
    const params = { p0: shuffled, p1: shuffled, p2: shuffled, p3: shuffled, p4: shuffled };
    const constraints: ParamConstraint[] = ["p0", "p1", "p2", "p3"].map((left) => ({ left, op: "!=", right: "p4" }));
    expect(createGrid(params, constraints).countAccepted()).toBe(10 * 9 ** 4);
    const bounded = createGrid(params, constraints, { maxWork: 5_000 });
    expect(() => bounded.countAccepted()).toThrow(ConstraintWorkExceeded);
    // It stops at the budget, give or take the last run of one axis' values.
    expect(bounded.work).toBeLessThanOrEqual(5_000 + 10 * 4);
  });

  it("refuses the values of a long decimal range before building them", () => {
    const grid = createGrid({ k: { min: 0.001, max: 1000, step: 0.001 }, x: { values: [1, 2] } }, [{ left: "k", op: "<", right: "x" }]);
    expect(() => grid.countAccepted()).toThrow(ConstraintWorkExceeded);
    expect(() => grid.accepts(0)).toThrow(ConstraintWorkExceeded);
  });
});

describe("submit", () => {
  const config = ConfigSchema.parse({ ALLOW_SYNTHETIC: "true" });

  it("answers 422 naming the constraints when counting them would take too much work", () => {
    // 9.6M combinations, a decimal axis of 600,000 values in a rule: before, ~10 s to count 20 of them.
    const spec = parseSpec({
      strategy: "synthetic",
      dataset: "sp500",
      params: { k: { min: 0.001, max: 600, step: 0.001 }, x: { min: 1, max: 16, step: 1 } },
      constraints: [
        { left: "k", op: ">", right: 599.99 },
        { left: "x", op: "<", right: 3 },
      ],
      objective: { metric: "score", mode: "max" },
    });
    let error: unknown;
    try {
      checkFeasible(spec, config, true);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe("unprocessable");
    expect((error as ApiError).details).toEqual([{ path: "constraints", message: expect.stringContaining("takes more than 10000000 steps") }]);
  });

  it("still counts a large prunable grid exactly", () => {
    const spec = parseSpec({
      strategy: "synthetic",
      dataset: "sp500",
      params: { fast: { min: 1, max: 1000, step: 1 }, slow: { min: 1, max: 10000, step: 1 } },
      constraints: [
        { left: "fast", op: "<", right: "slow" },
        { left: "slow", op: "<=", right: 100 },
      ],
      objective: { metric: "score", mode: "max" },
    });
    expect(checkFeasible(spec, config, true)).toBe(4950);
  });
});
