import type { CompareOp, JobSpecInput, Mode, ParamAxis, ParamConstraint, ResultConstraint, StrategyInfo } from "grid-optimizer/client";
import { createAxis, createGrid, gridSize } from "../../lib/grid";
import { readNumberOr, readParamValue } from "../../client/format";

/** One parameter's row of the form, as typed. */
export interface ParamRow {
  name: string;
  /** Optional params (and added ones) can be left out of the grid. */
  include: boolean;
  kind: "range" | "values";
  min: string;
  max: string;
  step: string;
  /** Comma-separated values. */
  values: string;
}

/** The submit form, as typed: every field a string, parsed only on submit and for the grid size. */
export interface FormState {
  name: string;
  strategy: string;
  dataset: string;
  params: ParamRow[];
  objectiveMetric: string;
  objectiveMode: Mode;
  earlyStop: { enabled: boolean; metric: string; mode: Mode; threshold: string };
  concurrencyLimit: string;
  topN: string;
  maxRetries: string;
  /** One rule a line: `fast < slow`, `slow <= 200`. */
  constraints: string;
  /** One rule a line: `trades >= 5`. */
  resultConstraints: string;
}

/** A form-side problem: the field's path as the API names it, and what is wrong. */
export interface FieldProblem {
  path: string;
  message: string;
}

const OPS: readonly CompareOp[] = ["<=", ">=", "==", "!=", "<", ">"];

export function axisOf(row: ParamRow): ParamAxis {
  if (row.kind === "values") return { values: row.values.split(",").filter((v) => v.trim() !== "").map(readParamValue) };
  return { min: readNumberOr(row.min), max: readNumberOr(row.max), step: readNumberOr(row.step) } as ParamAxis;
}

/** A row for each of the strategy's params, from its default axes; optional ones start left out. */
export function rowsFor(strategy: StrategyInfo): ParamRow[] {
  return strategy.params.map((p) => {
    const axis = p.default;
    return "values" in axis
      ? { name: p.name, include: !p.optional, kind: "values", min: "", max: "", step: "", values: axis.values.join(", ") }
      : { name: p.name, include: !p.optional, kind: "range", min: String(axis.min), max: String(axis.max), step: String(axis.step), values: "" };
  });
}

function parseRules(text: string, field: string, right: (token: string) => string | number): { rules: { left: string; op: CompareOp; right: string | number }[]; problems: FieldProblem[] } {
  const rules: { left: string; op: CompareOp; right: string | number }[] = [];
  const problems: FieldProblem[] = [];
  text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .forEach((line, i) => {
      const op = OPS.find((o) => line.includes(o));
      const [left, rest] = op ? [line.slice(0, line.indexOf(op)).trim(), line.slice(line.indexOf(op) + op.length).trim()] : ["", ""];
      if (!op || left === "" || rest === "") problems.push({ path: `${field}.${i}`, message: `"${line}": expected <name> <op> <value>, op one of ${OPS.join(" ")}` });
      else rules.push({ left, op, right: right(rest) });
    });
  return { rules, problems };
}

const optionalNumber = (text: string): number | string | undefined => (text.trim() === "" ? undefined : readNumberOr(text));

/**
 * The spec the form describes. Only what cannot be sent at all (a rule that is not a rule) is a
 * problem here; every other check is the API's, whose errors the page shows at the field they name.
 */
export function specOf(state: FormState): { spec: JobSpecInput; problems: FieldProblem[] } {
  const params: Record<string, ParamAxis> = {};
  for (const row of state.params) if (row.include && row.name.trim() !== "") params[row.name.trim()] = axisOf(row);
  const constraints = parseRules(state.constraints, "constraints", readNumberOr);
  const resultRules = parseRules(state.resultConstraints, "resultConstraints", readNumberOr);
  const spec: Record<string, unknown> = {
    strategy: state.strategy,
    dataset: state.dataset,
    params,
    objective: { metric: state.objectiveMetric, mode: state.objectiveMode },
    constraints: constraints.rules as ParamConstraint[],
    resultConstraints: resultRules.rules.map(({ left, op, right }) => ({ metric: left, op, value: right })) as ResultConstraint[],
  };
  if (state.name.trim() !== "") spec.name = state.name.trim();
  const numbers = { concurrencyLimit: state.concurrencyLimit, topN: state.topN, maxRetries: state.maxRetries };
  for (const [key, text] of Object.entries(numbers)) {
    const value = optionalNumber(text);
    if (value !== undefined) spec[key] = value;
  }
  if (state.earlyStop.enabled) {
    spec.earlyStopPolicy = { metric: state.earlyStop.metric, mode: state.earlyStop.mode, threshold: readNumberOr(state.earlyStop.threshold) };
  }
  return { spec: spec as JobSpecInput, problems: [...constraints.problems, ...resultRules.problems] };
}

/** Work the grid-size preview may spend on constraints: a keystroke must stay instant. */
const PREVIEW_CONSTRAINT_WORK = 200_000;

export interface GridPreview {
  /** Combinations before constraints, or null while an axis is not valid. */
  size: number | null;
  /** Combinations that pass the constraints, when counted within the preview's budget. */
  accepted: number | null;
}

const validAxis = (axis: ParamAxis): boolean =>
  "values" in axis
    ? axis.values.length > 0
    : [axis.min, axis.max, axis.step].every((n) => typeof n === "number" && Number.isFinite(n)) && axis.step > 0 && axis.max >= axis.min;

/** The grid size the form describes, as the user types. */
export function previewGrid(state: FormState): GridPreview {
  const { spec } = specOf(state);
  const params = spec.params as Record<string, ParamAxis>;
  const axes = Object.entries(params);
  if (axes.length === 0 || !axes.every(([, axis]) => validAxis(axis))) return { size: null, accepted: null };
  const size = gridSize(axes.map(([name, axis]) => createAxis(name, axis)));
  const constraints = (spec.constraints ?? []) as ParamConstraint[];
  if (constraints.length === 0) return { size, accepted: size };
  try {
    return { size, accepted: createGrid(params, constraints, { maxWork: PREVIEW_CONSTRAINT_WORK }).countAccepted() };
  } catch {
    // Too much work for a preview, or a rule naming an unknown param: the API decides on submit.
    return { size, accepted: null };
  }
}
