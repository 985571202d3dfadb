import type { CompareOp, ParamAxis, ParamConstraint, ParamSet, ParamValue } from "../schema";

/** One parameter's axis: its values by position, never materialised as a whole. */
export interface GridAxis {
  readonly name: string;
  readonly size: number;
  valueAt(k: number): ParamValue;
}

/**
 * The cartesian product of the axes, addressed by index in mixed radix (the last parameter varies
 * fastest), less the combinations that break a parameter constraint. Memory is the axes' definitions
 * only, whatever the grid's size, plus (once constraints are used) the values of the constrained axes
 * and, for parameters linked by a rule, their accepted combinations.
 */
export interface Grid {
  readonly axes: readonly GridAxis[];
  /** Number of combinations before constraints; Infinity when past Number.MAX_SAFE_INTEGER. */
  readonly size: number;
  paramsAt(index: number): ParamSet;
  /** Whether the combination at `index` satisfies every constraint. */
  accepts(index: number): boolean;
  /**
   * The first accepted index at or after `from`; `size` when there is none. A few binary searches per
   * axis, however far it jumps; the first call indexes each group of linked parameters (one pass).
   */
  nextAccepted(from: number): number;
  /** Accepted combinations, at most `limit`. */
  countAccepted(limit?: number): number;
  /** Work spent on constraints so far, in units of about one value comparison: what `maxWork` bounds. */
  readonly work: number;
}

export interface GridOptions {
  /**
   * Work one resolution of the constraints may take (building the values, then counting or indexing):
   * past it, accepts, nextAccepted and countAccepted throw ConstraintWorkExceeded.
   */
  maxWork?: number;
}

/**
 * Default work budget of a grid's constraints (config MAX_CONSTRAINT_WORK): about 0.1-0.3 s of CPU
 * (bench/grid.bench.ts). Prunable rules (two parameters, or a parameter and a number, on sorted
 * numeric axes) resolve in far less; what reaches it is a shape that must be enumerated (unsorted
 * values with every rule on the last axis) or a decimal range of over 500,000 values in a rule.
 */
export const MAX_CONSTRAINT_WORK = 10_000_000;
/** A decimal range's value goes through toFixed once: about this many work units' time (bench/grid.bench.ts). */
const DECIMAL_VALUE_COST = 20;

/** The constraints need more work than the budget: a 422 at submit, never a long request. */
export class ConstraintWorkExceeded extends Error {
  override readonly name = "ConstraintWorkExceeded";

  constructor(readonly limit: number) {
    super(`resolving the constraints over this grid takes more than ${limit} steps`);
  }
}

export const compare = (a: ParamValue, op: CompareOp, b: ParamValue): boolean => {
  switch (op) {
    case "==":
      return a === b;
    case "!=":
      return a !== b;
    case "<":
      return a < b;
    case "<=":
      return a <= b;
    case ">":
      return a > b;
    case ">=":
      return a >= b;
  }
};

/** `a op b` as `b flip(op) a`. */
const FLIP: Record<CompareOp, CompareOp> = { "<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!=" };

const decimalsOf = (x: number): number => {
  const s = String(x);
  const exp = s.match(/e-(\d+)$/);
  if (exp) return Number(exp[1]) + (s.split("e")[0]!.split(".")[1]?.length ?? 0);
  return s.split(".")[1]?.length ?? 0;
};

/** Count of min, min+step, ... <= max; a tolerance keeps 0.1-style steps from losing the last value. */
export const rangeSize = (min: number, max: number, step: number): number => Math.floor((max - min) / step + 1e-9) + 1;

type RangeAxis = Extract<ParamAxis, { min: number }>;

const rangeDecimals = ({ min, step }: RangeAxis): number => Math.min(15, Math.max(decimalsOf(min), decimalsOf(step)));

/** Rounds to the inputs' own precision so 0.1 + 2 * 0.1 reads 0.3, not 0.30000000000000004. */
const rangeValueAt = (axis: RangeAxis): ((k: number) => number) => {
  const { min, step } = axis;
  const decimals = rangeDecimals(axis);
  return (k) => Number((min + k * step).toFixed(decimals));
};

export function createAxis(name: string, axis: ParamAxis): GridAxis {
  if ("values" in axis) {
    const values = axis.values;
    return { name, size: values.length, valueAt: (k) => values[k]! };
  }
  return { name, size: rangeSize(axis.min, axis.max, axis.step), valueAt: rangeValueAt(axis) };
}

export function gridSize(axes: readonly GridAxis[]): number {
  let size = 1;
  for (const axis of axes) {
    size *= axis.size;
    if (size > Number.MAX_SAFE_INTEGER) return Infinity;
  }
  return size;
}

/**
 * A constrained axis's values by position, built once: numbers in a Float64Array, or computed for an
 * integer range (exact, so equal to what toFixed(0) gives), other values as given.
 */
class AxisValues {
  constructor(
    readonly size: number,
    private readonly nums: Float64Array | null,
    private readonly items: readonly ParamValue[] | null,
    private readonly base: number,
    private readonly step: number,
    /** Numeric and non-decreasing by position: rules on it are binary searches. */
    readonly sorted: boolean,
  ) {}

  get numeric(): boolean {
    return this.items === null;
  }

  num(k: number): number {
    return this.nums !== null ? this.nums[k]! : this.base + k * this.step;
  }

  at(k: number): ParamValue {
    return this.items !== null ? this.items[k]! : this.num(k);
  }
}

/** What building an axis's values costs, in work units (checked before allocating anything). */
function valuesCost(axis: ParamAxis, size: number): number {
  if ("values" in axis) return size;
  return integerRange(axis, size) ? 0 : size * DECIMAL_VALUE_COST;
}

const integerRange = (axis: RangeAxis, size: number): boolean =>
  rangeDecimals(axis) === 0 && Math.abs(axis.min) + (size - 1) * axis.step <= Number.MAX_SAFE_INTEGER;

function buildValues(axis: ParamAxis, size: number): AxisValues {
  const nondecreasing = (nums: Float64Array) => nums.every((x, k) => k === 0 || nums[k - 1]! <= x);
  if ("values" in axis) {
    if (!axis.values.every((v) => typeof v === "number")) return new AxisValues(size, null, axis.values, 0, 0, false);
    const nums = Float64Array.from(axis.values as number[]);
    return new AxisValues(size, nums, null, 0, 0, nondecreasing(nums));
  }
  if (integerRange(axis, size)) return new AxisValues(size, null, null, axis.min, axis.step, true);
  const valueAt = rangeValueAt(axis);
  const nums = Float64Array.from({ length: size }, (_, k) => valueAt(k));
  return new AxisValues(size, nums, null, 0, 0, nondecreasing(nums));
}

/** value(a) op (b >= 0 ? value(b) : t), with b < a: a rule is checked once its later axis is fixed. */
interface Rule {
  a: number;
  b: number;
  op: CompareOp;
  t: ParamValue;
}

/** One axis of a component: its rules against earlier axes of the component, by level. */
interface Level {
  readonly axis: number;
  readonly values: AxisValues;
  readonly binary: readonly { readonly from: number; readonly op: CompareOp }[];
  readonly unary: readonly { readonly op: CompareOp; readonly t: ParamValue }[];
  readonly ex: Float64Array;
  readonly runs: Float64Array;
  /** Every rule here is a threshold on a sorted axis: the passing positions come from binary searches. */
  readonly fast: boolean;
  /** Stride of this level in the component's own mixed radix (its table keys). */
  readonly stride: number;
  /** Positions passing the unary rules, as [start, end) pairs in order. */
  readonly allowed: Float64Array;
  /** Scratch of one visit: the binary rules' thresholds (ex and runs: the band's). */
  readonly thresholds: ParamValue[];
}

/** What a band is computed from. */
type Banded = Pick<Level, "values" | "unary" | "binary" | "ex" | "runs">;

/**
 * Axes linked by rules between two parameters, solved apart from the rest: the grid's accepted set is
 * the product of each component's accepted combinations and the free axes.
 */
interface Component {
  readonly levels: readonly Level[];
  /** The visit's current position at each level. */
  readonly pos: Float64Array;
  count: number | null;
  /** With two or more levels: every accepted combination's key, ascending (grid order). */
  table: Float64Array | null;
}

/** The constraint side of a grid: built on first use, within the work budget. */
class ConstraintSolver {
  work = 0;
  private limit: number;
  private setupWork = 0;
  private components: Component[] | null = null;
  /** Component of each axis, -1 for an axis no rule names. */
  private readonly owner: Int32Array;
  private readonly level: Int32Array;
  private readonly strides: Float64Array;
  private readonly digits: Float64Array;
  private readonly rules: Rule[] = [];
  /** A rule that compares a parameter with itself and fails whatever its value. */
  private readonly neverTrue: boolean;
  private values: (AxisValues | null)[] = [];
  /** The band being narrowed (see band()). */
  private lo = 0;
  private hi = 0;
  private nex = 0;

  constructor(
    private readonly specs: readonly ParamAxis[],
    private readonly axes: readonly GridAxis[],
    constraints: readonly ParamConstraint[],
    private readonly maxWork: number,
  ) {
    this.limit = maxWork;
    const n = axes.length;
    const position = new Map(axes.map((axis, a) => [axis.name, a]));
    const positionOf = (name: string) => {
      const p = position.get(name);
      if (p === undefined) throw new RangeError(`constraint on unknown parameter "${name}"`);
      return p;
    };
    let neverTrue = false;
    for (const c of constraints) {
      const left = positionOf(c.left);
      if (typeof c.right === "number") this.rules.push({ a: left, b: -1, op: c.op, t: c.right });
      else {
        const right = positionOf(c.right);
        // x op x holds for every value or for none (values are finite or not numbers).
        if (right === left) neverTrue ||= !compare(0, c.op, 0);
        else if (left > right) this.rules.push({ a: left, b: right, op: c.op, t: 0 });
        else this.rules.push({ a: right, b: left, op: FLIP[c.op], t: 0 });
      }
    }
    this.neverTrue = neverTrue;
    this.owner = new Int32Array(n).fill(-1);
    this.level = new Int32Array(n);
    this.strides = new Float64Array(n);
    for (let a = n - 1, stride = 1; a >= 0; stride *= axes[a]!.size, a--) this.strides[a] = stride;
    this.digits = new Float64Array(n);
  }

  accepts(index: number): boolean {
    if (this.neverTrue) return false;
    this.prepare();
    this.decode(index);
    const d = this.digits;
    for (const r of this.rules) {
      const right = r.b >= 0 ? this.values[r.b]!.at(d[r.b]!) : r.t;
      if (!compare(this.values[r.a]!.at(d[r.a]!), r.op, right)) return false;
    }
    return true;
  }

  /** Accepted combinations: the free axes' sizes times each component's count. */
  total(): number {
    if (this.neverTrue) return 0;
    const components = this.prepare();
    this.beginPass();
    let total = 1;
    for (let a = 0; a < this.axes.length; a++) if (this.owner[a] === -1) total *= this.axes[a]!.size;
    for (const c of components) {
      c.count ??= c.table ? c.table.length : this.walk(c, 0, 0, null);
      total *= c.count;
    }
    return total;
  }

  next(from: number, size: number): number {
    if (!Number.isFinite(size)) throw new RangeError("grid indexes past Number.MAX_SAFE_INTEGER are not exact");
    if (this.neverTrue) return size;
    const components = this.prepare();
    this.beginPass();
    for (const c of components) {
      if (c.levels.length > 1 && !c.table) {
        const keys: number[] = [];
        this.walk(c, 0, 0, keys);
        c.table = Float64Array.from(keys);
        c.count = keys.length;
      }
      if ((c.count ??= this.walk(c, 0, 0, null)) === 0) return size;
    }
    // Lexicographic search: keep from's digits while each prefix can still be completed; at the first
    // axis where it cannot, move up to the smallest valid larger digit (or back up an axis), then take
    // the smallest valid digit of every later axis. A valid prefix always completes: components are
    // independent and each checks its own prefix against its accepted combinations.
    const d = this.digits;
    this.decode(from);
    const n = this.axes.length;
    let p = 0;
    for (; p < n; p++) {
      const v = this.nextValid(p, d[p]!);
      if (v === d[p]) continue;
      if (v >= 0) {
        d[p] = v;
        break;
      }
      for (;;) {
        if (--p < 0) return size;
        const w = this.nextValid(p, d[p]! + 1);
        if (w >= 0) {
          d[p] = w;
          break;
        }
      }
      break;
    }
    for (let q = p + 1; q < n; q++) d[q] = this.nextValid(q, 0);
    let index = 0;
    for (let a = 0; a < n; a++) index += d[a]! * this.strides[a]!;
    return index;
  }

  private decode(index: number): void {
    let rest = index;
    for (let a = this.axes.length - 1; a >= 0; a--) {
      const radix = this.axes[a]!.size;
      this.digits[a] = rest % radix;
      rest = Math.floor(rest / radix);
    }
  }

  /** Counts in every pass, not just the first: a spec that passed at submit passes on every wake of the DO. */
  private beginPass(): void {
    this.limit = this.work + this.maxWork - this.setupWork;
  }

  private charge(units: number): void {
    this.work += units;
    if (this.work > this.limit) throw new ConstraintWorkExceeded(this.maxWork);
  }

  /** The smallest position >= d of axis p that keeps the current prefix completable; -1 if none. */
  private nextValid(p: number, d: number): number {
    const size = this.axes[p]!.size;
    if (d >= size) return -1;
    const ci = this.owner[p]!;
    if (ci === -1) return d;
    const c = this.components![ci]!;
    const j = this.level[p]!;
    const level = c.levels[j]!;
    if (!c.table) return firstInRuns(level.allowed, level.allowed.length >> 1, d);
    let prefix = 0;
    for (let i = 0; i < j; i++) prefix += this.digits[c.levels[i]!.axis]! * c.levels[i]!.stride;
    const blockEnd = j === 0 ? Infinity : prefix + c.levels[j - 1]!.stride;
    const table = c.table;
    let lo = 0;
    let hi = table.length;
    const key = prefix + d * level.stride;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (table[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    if (lo === table.length || table[lo]! >= blockEnd) return -1;
    return Math.floor((table[lo]! - prefix) / level.stride);
  }

  /** Values of the constrained axes, and their components: once, charged to the budget. */
  private prepare(): Component[] {
    if (this.components) return this.components;
    const n = this.axes.length;
    const named = new Array<boolean>(n).fill(false);
    for (const r of this.rules) named[r.a] = named[r.b < 0 ? r.a : r.b] = true;
    this.charge(this.specs.reduce((sum, spec, a) => sum + (named[a] ? valuesCost(spec, this.axes[a]!.size) : 0), 0));
    this.values = this.specs.map((spec, a) => (named[a] ? buildValues(spec, this.axes[a]!.size) : null));
    // Union-find over rules between two axes.
    const root = Array.from({ length: n }, (_, a) => a);
    const find = (a: number): number => (root[a] === a ? a : (root[a] = find(root[a]!)));
    for (const r of this.rules) if (r.b >= 0) root[find(r.a)] = find(r.b);
    const groups = new Map<number, number[]>();
    for (let a = 0; a < n; a++) if (named[a]) groups.set(find(a), [...(groups.get(find(a)) ?? []), a]);
    this.components = [...groups.values()].map((members, ci) => {
      const strides = members.map(() => 1);
      for (let j = members.length - 2; j >= 0; j--) strides[j] = strides[j + 1]! * this.axes[members[j + 1]!]!.size;
      const levels = members.map((axis, j): Level => {
        this.owner[axis] = ci;
        this.level[axis] = j;
        const values = this.values[axis]!;
        const mine = this.rules.filter((r) => r.a === axis);
        const binary = mine.filter((r) => r.b >= 0).map((r) => ({ from: members.indexOf(r.b), op: r.op }));
        const notEqual = mine.filter((r) => r.op === "!=").length;
        const scratch = { values, binary, unary: mine.filter((r) => r.b < 0), ex: new Float64Array(2 * notEqual), runs: new Float64Array(2 * (notEqual + 1)) };
        return {
          ...scratch,
          axis,
          fast: values.sorted && binary.every((r) => this.values[members[r.from]!]!.numeric),
          stride: strides[j]!,
          allowed: this.allowedRuns(scratch),
          thresholds: binary.map(() => 0),
        };
      });
      return { levels, pos: new Float64Array(members.length), count: null, table: null };
    });
    this.setupWork = this.work;
    return this.components;
  }

  /** Positions passing the axis's own rules (a parameter and a number). */
  private allowedRuns(level: Banded): Float64Array {
    if (level.values.sorted) {
      const count = this.band(level, null);
      return level.runs.slice(0, 2 * count);
    }
    const runs: number[] = [];
    const { values, unary } = level;
    this.charge(values.size * unary.length);
    for (let k = 0; k < values.size; k++) {
      if (!unary.every((r) => compare(values.at(k), r.op, r.t))) continue;
      if (runs.length > 0 && runs[runs.length - 1] === k) runs[runs.length - 1] = k + 1;
      else runs.push(k, k + 1);
    }
    return Float64Array.from(runs);
  }

  /**
   * Positions of a sorted axis passing its unary rules and, given its component, its binary rules against
   * the levels fixed so far (thresholds read from the component's `pos`): an interval less the equal-value
   * ranges of `!=` rules, found by binary search. Written to level.runs; returns the number of runs.
   */
  private band(level: Banded, c: Component | null): number {
    this.lo = 0;
    this.hi = level.values.size;
    this.nex = 0;
    for (const r of level.unary) this.narrow(level, r.op, r.t as number);
    if (c) for (const r of level.binary) this.narrow(level, r.op, c.levels[r.from]!.values.num(c.pos[r.from]!));
    if (this.work > this.limit) throw new ConstraintWorkExceeded(this.maxWork);
    const { ex, runs } = level;
    const { lo, hi, nex } = this;
    // Excluded ranges in order (a handful: one per != rule), then the runs between them.
    for (let i = 2; i < nex; i += 2) {
      for (let k = i; k >= 2 && ex[k - 2]! > ex[k]!; k -= 2) {
        [ex[k - 2], ex[k]] = [ex[k]!, ex[k - 2]!];
        [ex[k - 1], ex[k + 1]] = [ex[k + 1]!, ex[k - 1]!];
      }
    }
    let count = 0;
    let at = lo;
    for (let i = 0; i < nex && at < hi; i += 2) {
      if (ex[i]! > at) {
        runs[count * 2] = at;
        runs[count * 2 + 1] = Math.min(ex[i]!, hi);
        count++;
      }
      at = Math.max(at, ex[i + 1]!);
    }
    if (at < hi) {
      runs[count * 2] = at;
      runs[count * 2 + 1] = hi;
      count++;
    }
    return count;
  }

  /** Narrows this.lo/hi (or adds an excluded range) to the positions where `value op t` holds. */
  private narrow(level: Banded, op: CompareOp, t: number): void {
    if (this.lo >= this.hi) return;
    const { values, ex } = level;
    switch (op) {
      case "<":
        this.hi = Math.min(this.hi, this.probe(values, t, false));
        break;
      case "<=":
        this.hi = Math.min(this.hi, this.probe(values, t, true));
        break;
      case ">":
        this.lo = Math.max(this.lo, this.probe(values, t, true));
        break;
      case ">=":
        this.lo = Math.max(this.lo, this.probe(values, t, false));
        break;
      case "==":
        this.lo = Math.max(this.lo, this.probe(values, t, false));
        this.hi = Math.min(this.hi, this.probe(values, t, true));
        break;
      case "!=":
        ex[this.nex++] = this.probe(values, t, false);
        ex[this.nex++] = this.probe(values, t, true);
        break;
    }
  }

  /** The first position of a sorted axis whose value is >= t (> t when strict). */
  private probe(values: AxisValues, t: number, strict: boolean): number {
    let a = 0;
    let b = values.size;
    while (a < b) {
      const mid = (a + b) >>> 1;
      const v = values.num(mid);
      if (v < t || (strict && v === t)) a = mid + 1;
      else b = mid;
    }
    this.work += Math.ceil(Math.log2(values.size + 1));
    return a;
  }

  /**
   * Accepted combinations of levels j.. of a component, given the positions of the levels before it;
   * `keys` collects them. An odometer over the component's axes alone that skips a position (and so all
   * its sub-grid) as soon as a rule fails, and counts a sorted last level without visiting it.
   */
  private walk(c: Component, j: number, key: number, keys: number[] | null): number {
    const level = c.levels[j]!;
    const last = j === c.levels.length - 1;
    const { binary, thresholds, values, stride, fast } = level;
    let runs = level.allowed;
    let nRuns = runs.length >> 1;
    if (fast) {
      nRuns = this.band(level, c);
      runs = level.runs;
      if (last && keys === null) {
        let count = 0;
        for (let r = 0; r < nRuns; r++) count += runs[2 * r + 1]! - runs[2 * r]!;
        return count;
      }
    } else {
      for (let i = 0; i < binary.length; i++) thresholds[i] = c.levels[binary[i]!.from]!.values.at(c.pos[binary[i]!.from]!);
    }
    let count = 0;
    for (let r = 0; r < nRuns; r++) {
      const end = runs[2 * r + 1]!;
      let evaluated = 0;
      candidates: for (let k = runs[2 * r]!; k < end; k++) {
        if (!fast) {
          const v = values.at(k);
          for (let i = 0; i < binary.length; i++) {
            evaluated++;
            if (!compare(v, binary[i]!.op, thresholds[i]!)) continue candidates;
          }
        }
        if (last) {
          count++;
          keys?.push(key + k * stride);
          continue;
        }
        this.charge(1);
        c.pos[j] = k;
        count += this.walk(c, j + 1, key + k * stride, keys);
      }
      this.charge(evaluated);
    }
    return count;
  }
}

/** The first position >= d in sorted [start, end) runs; -1 if none. */
function firstInRuns(runs: Float64Array, nRuns: number, d: number): number {
  let lo = 0;
  let hi = nRuns;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (runs[2 * mid + 1]! <= d) lo = mid + 1;
    else hi = mid;
  }
  return lo === nRuns ? -1 : Math.max(d, runs[2 * lo]!);
}

/**
 * The grid of a job already admitted: submit counted its constraints within the budget then in
 * force, so the job's DO and its result reads never refuse it later (a lower budget since, or a wake).
 */
export const createAdmittedGrid = (params: Record<string, ParamAxis>, constraints: readonly ParamConstraint[]): Grid =>
  createGrid(params, constraints, { maxWork: Infinity });

export function createGrid(params: Record<string, ParamAxis>, constraints: readonly ParamConstraint[] = [], options: GridOptions = {}): Grid {
  const specs = Object.values(params);
  const axes = Object.entries(params).map(([name, axis]) => createAxis(name, axis));
  const size = gridSize(axes);
  const solver = constraints.length > 0 ? new ConstraintSolver(specs, axes, constraints, options.maxWork ?? MAX_CONSTRAINT_WORK) : null;
  return {
    axes,
    size,
    get work() {
      return solver?.work ?? 0;
    },
    accepts: (index) => solver?.accepts(index) ?? true,
    nextAccepted(from) {
      const start = Math.max(0, Math.ceil(from));
      if (!(start < size)) return size;
      return solver ? solver.next(start, size) : start;
    },
    countAccepted: (limit = Infinity) => Math.min(solver ? solver.total() : size, limit),
    paramsAt(index) {
      if (!Number.isInteger(index) || index < 0 || index >= size) throw new RangeError(`grid index ${index} outside 0..${size - 1}`);
      const params: ParamSet = {};
      let rest = index;
      for (let a = axes.length - 1; a >= 0; a--) {
        const axis = axes[a]!;
        params[axis.name] = axis.valueAt(rest % axis.size);
        rest = Math.floor(rest / axis.size);
      }
      // Keep the spec's key order for readers.
      return Object.fromEntries(axes.map((axis) => [axis.name, params[axis.name]!]));
    },
  };
}
