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
 * only, whatever the grid's size.
 */
export interface Grid {
  readonly axes: readonly GridAxis[];
  /** Number of combinations before constraints; Infinity when past Number.MAX_SAFE_INTEGER. */
  readonly size: number;
  paramsAt(index: number): ParamSet;
  /** Whether the combination at `index` satisfies every constraint. */
  accepts(index: number): boolean;
  /** The first accepted index at or after `from`; `size` when there is none. */
  nextAccepted(from: number): number;
  /** Accepted combinations, counting at most `limit` of them (constraints make this a walk of the grid). */
  countAccepted(limit?: number): number;
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

const decimalsOf = (x: number): number => {
  const s = String(x);
  const exp = s.match(/e-(\d+)$/);
  if (exp) return Number(exp[1]) + (s.split("e")[0]!.split(".")[1]?.length ?? 0);
  return s.split(".")[1]?.length ?? 0;
};

/** Count of min, min+step, ... <= max; a tolerance keeps 0.1-style steps from losing the last value. */
export const rangeSize = (min: number, max: number, step: number): number => Math.floor((max - min) / step + 1e-9) + 1;

export function createAxis(name: string, axis: ParamAxis): GridAxis {
  if ("values" in axis) {
    const values = axis.values;
    return { name, size: values.length, valueAt: (k) => values[k]! };
  }
  const { min, step } = axis;
  // Round to the inputs' own precision so 0.1 + 2 * 0.1 reads 0.3, not 0.30000000000000004.
  const decimals = Math.min(15, Math.max(decimalsOf(min), decimalsOf(step)));
  return { name, size: rangeSize(axis.min, axis.max, step), valueAt: (k) => Number((min + k * step).toFixed(decimals)) };
}

export function gridSize(axes: readonly GridAxis[]): number {
  let size = 1;
  for (const axis of axes) {
    size *= axis.size;
    if (size > Number.MAX_SAFE_INTEGER) return Infinity;
  }
  return size;
}

export function createGrid(params: Record<string, ParamAxis>, constraints: readonly ParamConstraint[] = []): Grid {
  const axes = Object.entries(params).map(([name, axis]) => createAxis(name, axis));
  const size = gridSize(axes);
  const position = new Map(axes.map((axis, a) => [axis.name, a]));
  const rules = constraints.map((c) => ({
    left: position.get(c.left)!,
    op: c.op,
    right: typeof c.right === "string" ? position.get(c.right)! : null,
    constant: typeof c.right === "number" ? c.right : null,
  }));
  // Reused digit buffer: checking a combination decodes its index without allocating.
  const digits = new Int32Array(axes.length);
  const accepts = (index: number): boolean => {
    if (rules.length === 0) return true;
    let rest = index;
    for (let a = axes.length - 1; a >= 0; a--) {
      const radix = axes[a]!.size;
      digits[a] = rest % radix;
      rest = Math.floor(rest / radix);
    }
    for (const r of rules) {
      const left = axes[r.left]!.valueAt(digits[r.left]!);
      const right = r.right === null ? r.constant! : axes[r.right]!.valueAt(digits[r.right]!);
      if (!compare(left, r.op, right)) return false;
    }
    return true;
  };
  return {
    axes,
    size,
    accepts,
    nextAccepted(from) {
      let index = from;
      while (index < size && !accepts(index)) index++;
      return Math.min(index, size);
    },
    countAccepted(limit = Infinity) {
      if (rules.length === 0) return Math.min(size, limit);
      let count = 0;
      for (let index = 0; index < size && count < limit; index++) if (accepts(index)) count++;
      return count;
    },
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
