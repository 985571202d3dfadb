import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { previewGrid, rowsFor, specOf, type FormState, type ParamRow } from "./form-model";

const range = (name: string, min: string, max: string, step: string): ParamRow => ({ name, include: true, kind: "range", min, max, step, values: "" });

const form = (overrides: Partial<FormState> = {}): FormState => ({
  name: "",
  strategy: "sma-crossover",
  dataset: "sp500",
  params: [range("fast", "5", "50", "5"), range("slow", "20", "200", "20")],
  objectiveMetric: "sharpe",
  objectiveMode: "max",
  earlyStop: { enabled: false, metric: "sharpe", mode: "max", threshold: "1" },
  concurrencyLimit: "4",
  topN: "10",
  maxRetries: "3",
  constraints: "",
  resultConstraints: "",
  ...overrides,
});

describe("the submit form's model", () => {
  it("builds the spec: axes, objective, numbers, rules, and the early stop only when asked for", () => {
    const { spec, problems } = specOf(
      form({
        name: "  first run ",
        params: [range("fast", "5", "50", "5"), { name: "allowShort", include: true, kind: "values", min: "", max: "", step: "", values: "false, true" }, { ...range("skip", "1", "2", "1"), include: false }],
        constraints: "fast < slow\n\n slow <= 150 ",
        resultConstraints: "trades >= 5",
        earlyStop: { enabled: true, metric: "sharpe", mode: "max", threshold: "1.5" },
        topN: "",
      }),
    );
    expect(problems).toEqual([]);
    expect(spec).toEqual({
      name: "first run",
      strategy: "sma-crossover",
      dataset: "sp500",
      params: { fast: { min: 5, max: 50, step: 5 }, allowShort: { values: [false, true] } },
      objective: { metric: "sharpe", mode: "max" },
      constraints: [
        { left: "fast", op: "<", right: "slow" },
        { left: "slow", op: "<=", right: 150 },
      ],
      resultConstraints: [{ metric: "trades", op: ">=", value: 5 }],
      concurrencyLimit: 4,
      maxRetries: 3,
      earlyStopPolicy: { metric: "sharpe", mode: "max", threshold: 1.5 },
    });
  });

  it("sends what is not a number as typed, so the API names the field; a line that is not a rule is a problem at its line", () => {
    const { spec, problems } = specOf(form({ params: [range("fast", "abc", "50", "5")], constraints: "fast < slow\nfast slow" }));
    expect(spec.params).toEqual({ fast: { min: "abc", max: 50, step: 5 } });
    expect(problems).toEqual([{ path: "constraints.1", message: expect.stringContaining('"fast slow": expected <name> <op> <value>') }]);
  });

  it("previews the grid size as the ranges change, after constraints, and says when an axis is incomplete", () => {
    expect(previewGrid(form())).toEqual({ size: 100, accepted: 100 });
    expect(previewGrid(form({ constraints: "fast < slow" }))).toEqual({ size: 100, accepted: 90 });
    expect(previewGrid(form({ params: [range("fast", "5", "", "5")] }))).toEqual({ size: null, accepted: null });
    expect(previewGrid(form({ params: [range("fast", "50", "5", "5")] }))).toEqual({ size: null, accepted: null });
    // A rule naming a param not in the grid: the size before constraints; the API decides.
    expect(previewGrid(form({ constraints: "fast < nope" }))).toEqual({ size: 100, accepted: null });
  });

  it("the preview agrees with counting the combinations one by one", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 30 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 40 }), (lo, span, step, other) => {
        const preview = previewGrid(form({ params: [range("a", String(lo), String(lo + span), String(step)), range("b", "0", String(other), "1")], constraints: "a < b" }));
        let count = 0;
        for (let a = lo; a <= lo + span + 1e-9; a += step) for (let b = 0; b <= other; b++) if (a < b) count++;
        expect(preview).toEqual({ size: (Math.floor(span / step) + 1) * (other + 1), accepted: count });
      }),
      { numRuns: 200 },
    );
  });

  it("starts a strategy's rows from its default axes, optional params left out", () => {
    const rows = rowsFor({
      id: "s",
      description: "",
      openParams: false,
      metrics: ["sharpe"],
      params: [
        { name: "fast", description: "", default: { min: 5, max: 50, step: 5 }, optional: false, schema: {} },
        { name: "allowShort", description: "", default: { values: [false, true] }, optional: true, schema: {} },
      ],
    });
    expect(rows).toEqual([
      { name: "fast", include: true, kind: "range", min: "5", max: "50", step: "5", values: "" },
      { name: "allowShort", include: false, kind: "values", min: "", max: "", step: "", values: "false, true" },
    ]);
  });
});
