import type { CompareOp, JobSpecInput, Mode, ParamAxis } from "../../schema/job";
import { readNumberOr, readParamValue } from "../format";
import { UsageError } from "./exit-codes";

const OPS: readonly CompareOp[] = ["<=", ">=", "==", "!=", "<", ">"];

/** The submit flags, as parsed: repeatable ones as arrays. */
export interface SpecFlags {
  name?: string;
  strategy?: string;
  dataset?: string;
  param: string[];
  objective?: string;
  topN?: string;
  concurrency?: string;
  maxRetries?: string;
  earlyStop?: string;
  constraint: string[];
  resultConstraint: string[];
}

const number = (flag: string, text: string): number => {
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n)) throw new UsageError(`${flag}: expected a number, got "${text}"`);
  return n;
};

/** `fast=5:50:5` (min:max:step) or `allowShort=true,false` (values). */
export function parseParam(text: string): [string, ParamAxis] {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new UsageError(`--param: expected name=min:max:step or name=v1,v2,..., got "${text}"`);
  const name = text.slice(0, eq).trim();
  const rest = text.slice(eq + 1);
  const range = /^\s*(-?[\d.e+-]+)\s*:\s*(-?[\d.e+-]+)\s*:\s*([\d.e+-]+)\s*$/.exec(rest);
  if (range) return [name, { min: number("--param", range[1]!), max: number("--param", range[2]!), step: number("--param", range[3]!) }];
  const values = rest.split(",").filter((v) => v.trim() !== "");
  if (values.length === 0) throw new UsageError(`--param ${name}: no values`);
  return [name, { values: values.map(readParamValue) }];
}

/** `<left> <op> <right>`, e.g. `fast < slow`, `trades >= 5`. */
function parseRule(flag: string, text: string): { left: string; op: CompareOp; right: string } {
  const op = OPS.find((o) => text.includes(o));
  const left = op ? text.slice(0, text.indexOf(op)).trim() : "";
  const right = op ? text.slice(text.indexOf(op) + op.length).trim() : "";
  if (!op || left === "" || right === "") throw new UsageError(`${flag}: expected "<name> <op> <value>" with op one of ${OPS.join(" ")}, got "${text}"`);
  return { left, op, right };
}

/** `sharpe:max` or `maxDrawdown:min`. */
function parseObjective(text: string): { metric: string; mode: Mode } {
  const [metric, mode = "max"] = text.split(":");
  if (!metric || (mode !== "min" && mode !== "max")) throw new UsageError(`--objective: expected metric:max or metric:min, got "${text}"`);
  return { metric, mode };
}

/** `sharpe>=1.5` (stop once a result reaches 1.5, maximising) or `maxDrawdown>=-0.1` (drawdowns are negative). */
function parseEarlyStop(text: string): { metric: string; threshold: number; mode: Mode } {
  const rule = parseRule("--early-stop", text);
  if (rule.op !== ">=" && rule.op !== "<=") throw new UsageError(`--early-stop: use >= (stop at or above) or <= (stop at or below), got "${text}"`);
  return { metric: rule.left, threshold: number("--early-stop", rule.right), mode: rule.op === ">=" ? "max" : "min" };
}

/**
 * The spec a submit sends: the spec file's fields (when given), with each flag replacing or adding
 * to them. Only what cannot be read is refused here; the API validates the rest and names the field.
 */
export function specFrom(file: Record<string, unknown> | null, flags: SpecFlags): JobSpecInput {
  const spec: Record<string, unknown> = { ...(file ?? {}) };
  const set = (key: string, v: unknown) => {
    if (v !== undefined) spec[key] = v;
  };
  set("name", flags.name);
  set("strategy", flags.strategy);
  set("dataset", flags.dataset);
  if (flags.param.length > 0) spec.params = { ...(spec.params as Record<string, unknown> | undefined), ...Object.fromEntries(flags.param.map(parseParam)) };
  if (flags.objective !== undefined) spec.objective = parseObjective(flags.objective);
  if (flags.topN !== undefined) spec.topN = number("--top-n", flags.topN);
  if (flags.concurrency !== undefined) spec.concurrencyLimit = number("--concurrency", flags.concurrency);
  if (flags.maxRetries !== undefined) spec.maxRetries = number("--max-retries", flags.maxRetries);
  if (flags.earlyStop !== undefined) spec.earlyStopPolicy = parseEarlyStop(flags.earlyStop);
  if (flags.constraint.length > 0)
    spec.constraints = flags.constraint.map((c) => {
      const r = parseRule("--constraint", c);
      // A param's name or a number: what the API takes on the right of a constraint.
      return { ...r, right: readNumberOr(r.right) };
    });
  if (flags.resultConstraint.length > 0)
    spec.resultConstraints = flags.resultConstraint.map((c) => {
      const r = parseRule("--result-constraint", c);
      return { metric: r.left, op: r.op, value: number("--result-constraint", r.right) };
    });
  for (const required of ["strategy", "dataset", "params", "objective"])
    if (spec[required] === undefined) throw new UsageError(`submit: no ${required} (give a spec file or --${required === "params" ? "param" : required})`);
  return spec as JobSpecInput;
}
