import type { z } from "zod";
import { JobSpec, type ApiErrorIssue } from "../../schema";
import { createAxis, createGrid } from "../../durable-objects/grid";
import type { Config } from "../config";
import { hasDataset } from "../engine/datasets";
import { getStrategy } from "../engine/strategies";
import { ApiError } from "../errors";

const pathOf = (path: readonly PropertyKey[]) => path.map(String).join(".") || "(root)";

/** One detail per field at fault; an unknown key is named itself, not its parent object. */
export const zodIssues = (error: z.ZodError): ApiErrorIssue[] =>
  error.issues.flatMap((i) =>
    i.code === "unrecognized_keys"
      ? i.keys.map((key) => ({ path: pathOf([...i.path, key]), message: "unknown field" }))
      : [{ path: pathOf(i.path), message: i.message }],
  );

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
export function checkFeasible(spec: JobSpec, config: Config): number {
  const issues: ApiErrorIssue[] = [];
  const strategy = spec.strategy === "synthetic" && !config.ALLOW_SYNTHETIC ? undefined : getStrategy(spec.strategy);
  if (!strategy) throw new ApiError("unprocessable", `unknown strategy "${spec.strategy}"`, [{ path: "strategy", message: "not an available strategy" }]);
  if (!hasDataset(spec.dataset)) issues.push({ path: "dataset", message: `unknown dataset "${spec.dataset}"` });
  for (const [path, metric] of [
    ["objective.metric", spec.objective.metric],
    ["earlyStopPolicy.metric", spec.earlyStopPolicy?.metric],
  ] as const) {
    if (metric !== undefined && !strategy.metrics.includes(metric)) {
      issues.push({ path, message: `"${metric}" is not a metric of ${strategy.id} (${strategy.metrics.join(", ")})` });
    }
  }
  for (const name of Object.keys(strategy.params)) {
    if (!strategy.openParams && !(name in spec.params)) issues.push({ path: `params.${name}`, message: "required by the strategy" });
  }
  for (const [name, axisSpec] of Object.entries(spec.params)) {
    const declared = strategy.params[name];
    if (!declared) {
      if (!strategy.openParams) issues.push({ path: `params.${name}`, message: `not a parameter of ${strategy.id}` });
      continue;
    }
    const axis = createAxis(name, axisSpec);
    // Every value of an axis is checked: axes are at most MAX_TASKS_PER_JOB long.
    for (let k = 0; k < Math.min(axis.size, config.MAX_TASKS_PER_JOB); k++) {
      const check = declared.schema.safeParse(axis.valueAt(k));
      if (!check.success) {
        issues.push({ path: `params.${name}`, message: `value ${JSON.stringify(axis.valueAt(k))}: ${check.error.issues[0]?.message ?? "invalid"}` });
        break;
      }
    }
  }
  const size = createGrid(spec.params).size;
  if (size > config.MAX_TASKS_PER_JOB) issues.push({ path: "params", message: `the grid has ${size} combinations; the limit is ${config.MAX_TASKS_PER_JOB}` });
  if (issues.length > 0) throw new ApiError("unprocessable", "the optimization cannot run as specified", issues);
  return size;
}

