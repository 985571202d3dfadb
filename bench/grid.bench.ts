/**
 * npx tsx bench/grid.bench.ts: the submit-time constraint count (countAccepted, as validate-spec calls
 * it) and the DO's walk (nextAccepted from 0 across the first 10,000 accepted indexes) on the worst
 * realistic grids: up to 10M combinations before constraints, 2 to 6 axes, rules that prune and one
 * shape that cannot. Each runs 3 times on a fresh grid: prints the first (cold JIT) and the best wall
 * time, and the work units the grid counted (its budget is MAX_CONSTRAINT_WORK).
 */
import { ConstraintWorkExceeded, createGrid, type Grid } from "../lib/grid";
import type { ParamAxis, ParamConstraint } from "../schema";

interface Scenario {
  name: string;
  params: Record<string, ParamAxis>;
  constraints: ParamConstraint[];
}

const range = (min: number, max: number, step = 1): ParamAxis => ({ min, max, step });
/** 1..n in a fixed shuffled order: a values axis the sorted fast path cannot use. */
const shuffled = (n: number): ParamAxis => {
  const values = Array.from({ length: n }, (_, i) => i + 1);
  let seed = n;
  for (let i = n - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const j = seed % (i + 1);
    [values[i], values[j]] = [values[j]!, values[i]!];
  }
  return { values };
};

const scenarios: Scenario[] = [
  {
    name: "2 axes 1000 x 10000, fast < slow, slow <= 100",
    params: { fast: range(1, 1000), slow: range(1, 10000) },
    constraints: [
      { left: "fast", op: "<", right: "slow" },
      { left: "slow", op: "<=", right: 100 },
    ],
  },
  {
    name: "6 axes, 5 rules (3 params linked, a decimal, a boolean)",
    params: { a: range(1, 50), b: range(1, 50), c: range(1, 40), d: range(0.1, 1, 0.1), e: { values: [true, false] }, f: range(1, 5) },
    constraints: [
      { left: "a", op: "<", right: "b" },
      { left: "c", op: "<", right: "b" },
      { left: "d", op: "==", right: 0.5 },
      { left: "f", op: "==", right: 3 },
      { left: "a", op: "!=", right: "c" },
    ],
  },
  {
    name: "5 axes chain a < b < c < d < e, 25 values each",
    params: Object.fromEntries(["a", "b", "c", "d", "e"].map((n) => [n, range(1, 25)])),
    constraints: [
      { left: "a", op: "<", right: "b" },
      { left: "b", op: "<", right: "c" },
      { left: "c", op: "<", right: "d" },
      { left: "d", op: "<", right: "e" },
    ],
  },
  {
    name: "decimal range 10000 x 1000, k > 9.9, period < k",
    params: { k: range(0.001, 10, 0.001), period: range(1, 1000) },
    constraints: [
      { left: "k", op: ">", right: 9.9 },
      { left: "period", op: "<", right: "k" },
    ],
  },
  {
    name: "strings: mode == other (10 x 10) x 100000, x != 5, x <= 5000",
    params: { mode: { values: "abcdefghij".split("") }, other: { values: "abcdefghij".split("") }, x: range(1, 100_000) },
    constraints: [
      { left: "mode", op: "==", right: "other" },
      { left: "x", op: "!=", right: 5 },
      { left: "x", op: "<=", right: 5000 },
    ],
  },
  {
    name: "unprunable: 4 shuffled axes of 35 x 6, every rule on the last",
    params: { p0: shuffled(35), p1: shuffled(35), p2: shuffled(35), p3: shuffled(35), p4: shuffled(6) },
    constraints: [
      { left: "p0", op: "==", right: "p4" },
      { left: "p1", op: "==", right: "p4" },
      { left: "p2", op: "!=", right: "p4" },
      { left: "p3", op: "<", right: "p4" },
    ],
  },
  {
    name: "unprunable: 4 shuffled axes of 33 x 6, every rule on the last (just within the budget)",
    params: { p0: shuffled(33), p1: shuffled(33), p2: shuffled(33), p3: shuffled(33), p4: shuffled(6) },
    constraints: [
      { left: "p0", op: "==", right: "p4" },
      { left: "p1", op: "==", right: "p4" },
      { left: "p2", op: "!=", right: "p4" },
      { left: "p3", op: "<", right: "p4" },
    ],
  },
];

/** Runs `run` on a fresh grid 3 times: the first and the best time, and the first run's outcome. */
function measure(s: Scenario, run: (grid: Grid) => string): string {
  const times: number[] = [];
  let outcome = "";
  for (let rep = 0; rep < 3; rep++) {
    const grid = createGrid(s.params, s.constraints);
    const t0 = performance.now();
    let line: string;
    try {
      line = run(grid);
    } catch (err) {
      if (!(err instanceof ConstraintWorkExceeded)) throw err;
      line = "refused (ConstraintWorkExceeded)";
    }
    times.push(performance.now() - t0);
    if (rep === 0) outcome = `${line}, work ${grid.work}`;
  }
  return `${outcome}: first ${times[0]!.toFixed(1)} ms, best ${Math.min(...times).toFixed(1)} ms`;
}

for (const s of scenarios) {
  console.log(`${s.name} (grid ${createGrid(s.params).size})`);
  console.log(`  count: ${measure(s, (grid) => `${grid.countAccepted(100_001)} accepted`)}`);
  console.log(
    `  walk:  ${measure(s, (grid) => {
      let index = grid.nextAccepted(0);
      for (let n = 1; n < 10_000 && index < grid.size; n++) index = grid.nextAccepted(index + 1);
      return `to index ${index}`;
    })}`,
  );
}
