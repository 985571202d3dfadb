import { JobSpec, type ApiErrorIssue } from "../../schema";
import { ConstraintWorkExceeded, createAxis, createGrid } from "../../lib/grid";
import type { Config } from "../../lib/config";
import { getStrategy } from "../engine/strategies";
import { ApiError, zodIssues } from "../../lib/errors";

/** Shape check: a spec that does not parse is a 400 naming each field at fault. */
export function parseSpec(input: unknown): JobSpec {
  const parsed = JobSpec.safeParse(input);
  if (!parsed.success) throw new ApiError("validation_failed", "the optimization spec is invalid", zodIssues(parsed.error));
  return parsed.data;
}

/**
 * Meaning check: a well-formed spec that cannot run (unknown strategy or dataset, a metric the strategy
 * does not report, a value outside a parameter's domain, too large a grid) is a 422. Returns the grid size.
 */
export function checkFeasible(spec: JobSpec, config: Config, datasetKnown: boolean): number {
  const issues: ApiErrorIssue[] = [];
  const strategy = spec.strategy === "synthetic" && !config.ALLOW_SYNTHETIC ? undefined : getStrategy(spec.strategy);
  if (!strategy) throw new ApiError("unprocessable", `unknown strategy "${spec.strategy}"`, [{ path: "strategy", message: "not an available strategy" }]);
  checkRawSize(spec, config);
  if (!datasetKnown) issues.push({ path: "dataset", message: `unknown dataset "${spec.dataset}"` });
  for (const [path, metric] of [
    ["objective.metric", spec.objective.metric],
    ["earlyStopPolicy.metric", spec.earlyStopPolicy?.metric],
  ] as const) {
    if (metric !== undefined && !strategy.metrics.includes(metric)) {
      issues.push({ path, message: `"${metric}" is not a metric of ${strategy.id} (${strategy.metrics.join(", ")})` });
    }
  }
  for (const [name, declared] of Object.entries(strategy.params)) {
    if (!strategy.openParams && !declared.optional && !Object.hasOwn(spec.params, name)) issues.push({ path: `params.${name}`, message: "required by the strategy" });
  }
  for (const [name, axisSpec] of Object.entries(spec.params)) {
    const declared = Object.hasOwn(strategy.params, name) ? strategy.params[name] : undefined;
    if (!declared) {
      if (!strategy.openParams) issues.push({ path: `params.${name}`, message: `not a parameter of ${strategy.id}` });
      continue;
    }
    const axis = createAxis(name, axisSpec);
    // Values are checked one by one up to MAX_TASKS_PER_JOB, and the last: a range is monotone.
    const positions = [...Array.from({ length: Math.min(axis.size, config.MAX_TASKS_PER_JOB) }, (_, k) => k), axis.size - 1];
    for (const k of positions) {
      const check = declared.schema.safeParse(axis.valueAt(k));
      if (!check.success) {
        issues.push({ path: `params.${name}`, message: `value ${JSON.stringify(axis.valueAt(k))}: ${check.error.issues[0]?.message ?? "invalid"}` });
        break;
      }
    }
  }
  spec.resultConstraints.forEach((c, i) => {
    if (!strategy.metrics.includes(c.metric)) issues.push({ path: `resultConstraints.${i}.metric`, message: `"${c.metric}" is not a metric of ${strategy.id}` });
  });
  issues.push(...constraintIssues(spec));
  if (issues.length > 0) throw new ApiError("unprocessable", "the optimization cannot run as specified", issues);
  return checkGridSize(spec, config);
}

/** Constraints name the spec's parameters; ordering compares numbers only. */
function constraintIssues(spec: JobSpec): ApiErrorIssue[] {
  const issues: ApiErrorIssue[] = [];
  const numeric = (name: string) => {
    const axis = spec.params[name]!;
    return !("values" in axis) || axis.values.every((v) => typeof v === "number");
  };
  spec.constraints.forEach((c, i) => {
    const path = `constraints.${i}`;
    const names = [c.left, ...(typeof c.right === "string" ? [c.right] : [])];
    const unknown = names.filter((n) => !Object.hasOwn(spec.params, n));
    if (unknown.length > 0) {
      issues.push({ path, message: `unknown parameter ${unknown.map((n) => `"${n}"`).join(", ")}` });
    } else if (!["==", "!="].includes(c.op) && !names.every(numeric)) {
      issues.push({ path: `${path}.op`, message: `"${c.op}" compares numbers; use == or != for other values` });
    }
  });
  return issues;
}

const gridProblem = (message: string): never => {
  throw new ApiError("unprocessable", "the optimization cannot run as specified", [{ path: "params", message }]);
};

/** Before any per-value work: the grid must be small enough to run, or to filter with constraints. */
function checkRawSize(spec: JobSpec, config: Config): void {
  const size = createGrid(spec.params).size;
  if (spec.constraints.length === 0 && size > config.MAX_TASKS_PER_JOB) {
    gridProblem(`the grid has ${size} combinations; the limit is ${config.MAX_TASKS_PER_JOB}`);
  }
  if (size > config.MAX_GRID_BEFORE_CONSTRAINTS) {
    gridProblem(`the grid has ${size} combinations before constraints; at most ${config.MAX_GRID_BEFORE_CONSTRAINTS} can be filtered`);
  }
}

/** Counts the combinations the job would run: at least one, and within MAX_TASKS_PER_JOB. */
function checkGridSize(spec: JobSpec, config: Config): number {
  const grid = createGrid(spec.params, spec.constraints, { maxWork: config.MAX_CONSTRAINT_WORK });
  if (spec.constraints.length === 0) return grid.size;
  let accepted: number;
  try {
    accepted = grid.countAccepted(config.MAX_TASKS_PER_JOB + 1);
  } catch (err) {
    if (!(err instanceof ConstraintWorkExceeded)) throw err;
    // Work, not time, decides: the same spec gets the same answer on any machine, and the DO that runs it never hits it.
    throw new ApiError("unprocessable", "the optimization cannot run as specified", [
      {
        path: "constraints",
        message: `counting what the constraints accept takes more than ${err.limit} steps on this grid: use rules between two parameters on sorted numeric axes, fewer values, or fewer rules on one parameter`,
      },
    ]);
  }
  if (accepted === 0) gridProblem("no combination satisfies the constraints");
  if (accepted > config.MAX_TASKS_PER_JOB) gridProblem(`the constraints accept more than ${config.MAX_TASKS_PER_JOB} combinations`);
  return accepted;
}

