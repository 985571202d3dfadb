import type { ParamAxis, ParamSet, ParamValue } from "../schema";

/** One parameter's axis: its values by position, never materialised as a whole. */
export interface GridAxis {
  readonly name: string;
  readonly size: number;
  valueAt(k: number): ParamValue;
}

/**
 * The cartesian product of the axes, addressed by index in mixed radix (the last parameter varies
 * fastest). Memory is the axes' definitions only, whatever the grid's size.
 */
export interface Grid {
  readonly axes: readonly GridAxis[];
  /** Number of combinations; Infinity when past Number.MAX_SAFE_INTEGER. */
  readonly size: number;
  paramsAt(index: number): ParamSet;
}

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

export function createGrid(params: Record<string, ParamAxis>): Grid {
  const axes = Object.entries(params).map(([name, axis]) => createAxis(name, axis));
  const size = gridSize(axes);
  return {
    axes,
    size,
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
