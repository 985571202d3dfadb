import type { Dataset, Mode, OptimizerClient, StrategyInfo } from "grid-optimizer/client";
import { clearFieldErrors, errorSlot, field, h, option, showFieldErrors } from "./dom";
import { integer } from "../../client/format";
import { previewGrid, rowsFor, specOf, type FormState, type ParamRow } from "./form-model";
import { shownError } from "./errors";

const DEFAULT_DATASET = "sp500";

/**
 * The submit form, built from GET /strategies and the datasets list: a row per param with its
 * default axis, the grid size as the ranges change, and the API's validation errors at their fields.
 */
export async function renderSubmitForm(service: OptimizerClient, onSubmitted: (jobId: string) => void): Promise<HTMLElement> {
  const [strategies, datasetList] = await Promise.all([service.strategies(), service.datasets.list()]);
  let datasets: Dataset[] = datasetList;
  const first = strategies.find((s) => s.id === "sma-crossover") ?? strategies[0];
  if (!first) throw new Error("the API lists no strategies");
  let strategy: StrategyInfo = first;
  let rows: ParamRow[] = rowsFor(strategy);

  const formError = h("p", { class: "form-error", "data-testid": "form-error", role: "alert", hidden: true });
  const gridSize = h("output", { "data-testid": "grid-size", "aria-live": "polite" });
  const strategySelect = h("select", { name: "strategy" }, ...strategies.map((s) => option(s.id, s.id, s === strategy)));
  const strategyHelp = h("small", { class: "hint" });
  const datasetSelect = h("select", { name: "dataset" });
  const paramsHost = h("div", { class: "param-rows" });
  const objectiveMetric = h("select", { name: "objectiveMetric" });
  const objectiveMode = h("select", { name: "objectiveMode" }, option("max", "maximise", true), option("min", "minimise"));
  const earlyEnabled = h("input", { type: "checkbox", name: "earlyStopEnabled" });
  const earlyMetric = h("select", { name: "earlyStopMetric" });
  const earlyMode = h("select", { name: "earlyStopMode" }, option("max", "at or above", true), option("min", "at or below"));
  const earlyThreshold = h("input", { type: "text", inputmode: "decimal", name: "earlyStopThreshold", value: "1" });
  const name = h("input", { type: "text", name: "name", placeholder: "optional", maxlength: 200 });
  const concurrency = h("input", { type: "number", name: "concurrencyLimit", value: "4", min: 1, max: 256 });
  const topN = h("input", { type: "number", name: "topN", value: "10", min: 1, max: 100 });
  const maxRetries = h("input", { type: "number", name: "maxRetries", value: "3", min: 0, max: 20 });
  const constraints = h("textarea", { name: "constraints", rows: 2, placeholder: "fast < slow" });
  const resultConstraints = h("textarea", { name: "resultConstraints", rows: 2, placeholder: "trades >= 5" });
  const addName = h("input", { type: "text", name: "newParam", placeholder: "name" });
  const addButton = h("button", { type: "button" }, "Add parameter");
  const addRow = h("div", { class: "add-param" }, field("New parameter", addName), addButton);
  const submit = h("button", { type: "submit", class: "primary" }, "Start optimization");

  const uploadName = h("input", { type: "text", name: "uploadName", placeholder: "my-prices", pattern: "[a-z0-9-]{1,64}" });
  const uploadFile = h("input", { type: "file", name: "uploadFile", accept: ".csv,text/csv" });
  const uploadButton = h("button", { type: "button" }, "Upload");
  const uploadStatus = h("p", { class: "hint", "aria-live": "polite", "data-testid": "upload-status" });

  const fillDatasets = (selected: string) =>
    datasetSelect.replaceChildren(
      ...datasets.map((d) => option(d.id, d.kind === "builtin" ? `${d.name} (built-in, ${integer(d.bars)} bars)` : `${d.id} (${integer(d.bars)} bars)`, d.id === selected)),
    );
  fillDatasets(datasets.some((d) => d.id === DEFAULT_DATASET) ? DEFAULT_DATASET : (datasets[0]?.id ?? ""));

  const fillMetrics = () => {
    const metrics = strategy.metrics;
    const preferred = metrics.includes("sharpe") ? "sharpe" : (metrics[0] ?? "");
    objectiveMetric.replaceChildren(...metrics.map((m) => option(m, m, m === preferred)));
    earlyMetric.replaceChildren(...metrics.map((m) => option(m, m, m === preferred)));
    strategyHelp.textContent = strategy.description;
    addRow.hidden = !strategy.openParams;
  };

  const paramRow = (row: ParamRow, optional: boolean): HTMLElement => {
    const path = `params.${row.name}`;
    const input = (key: "min" | "max" | "step" | "values", label: string) => {
      const el = h("input", { type: "text", inputmode: key === "values" ? "text" : "decimal", name: `${path}.${key}`, value: row[key] });
      el.addEventListener("input", () => {
        row[key] = el.value;
        update();
      });
      return field(label, el, `${path}.${key}`);
    };
    const kind = h("select", { name: `${path}.kind` }, option("range", "range", row.kind === "range"), option("values", "values", row.kind === "values"));
    const rangeInputs = h("div", { class: "range-inputs", hidden: row.kind !== "range" }, input("min", "min"), input("max", "max"), input("step", "step"));
    const valueInputs = h("div", { class: "value-inputs", hidden: row.kind !== "values" }, input("values", "values (comma-separated)"));
    kind.addEventListener("change", () => {
      row.kind = kind.value as ParamRow["kind"];
      rangeInputs.hidden = row.kind !== "range";
      valueInputs.hidden = row.kind !== "values";
      update();
    });
    const include = h("input", { type: "checkbox", name: `${path}.include` });
    include.checked = row.include;
    include.addEventListener("change", () => {
      row.include = include.checked;
      update();
    });
    const description = strategy.params.find((p) => p.name === row.name)?.description ?? "added parameter";
    return h(
      "fieldset",
      { class: "param-row", "data-param": row.name },
      h("legend", {}, row.name),
      h("small", { class: "hint" }, description),
      h("div", { class: "param-controls" }, optional ? field("include", include) : null, field("axis", kind), rangeInputs, valueInputs),
      errorSlot(path),
    );
  };

  const renderRows = () => {
    const optional = new Set(strategy.params.filter((p) => p.optional).map((p) => p.name));
    paramsHost.replaceChildren(...rows.map((row) => paramRow(row, optional.has(row.name) || !strategy.params.some((p) => p.name === row.name))));
  };

  const state = (): FormState => ({
    name: name.value,
    strategy: strategy.id,
    dataset: datasetSelect.value,
    params: rows,
    objectiveMetric: objectiveMetric.value,
    objectiveMode: objectiveMode.value as Mode,
    earlyStop: { enabled: earlyEnabled.checked, metric: earlyMetric.value, mode: earlyMode.value as Mode, threshold: earlyThreshold.value },
    concurrencyLimit: concurrency.value,
    topN: topN.value,
    maxRetries: maxRetries.value,
    constraints: constraints.value,
    resultConstraints: resultConstraints.value,
  });

  function update(): void {
    const preview = previewGrid(state());
    if (preview.size === null) gridSize.textContent = "Grid size: – (complete every axis)";
    else if (preview.accepted === null) gridSize.textContent = `Grid size: ${integer(preview.size)} combinations before constraints`;
    else gridSize.textContent = `Grid size: ${integer(preview.accepted)} combinations`;
  }

  strategySelect.addEventListener("change", () => {
    strategy = strategies.find((s) => s.id === strategySelect.value) ?? strategy;
    rows = rowsFor(strategy);
    fillMetrics();
    renderRows();
    update();
  });
  addButton.addEventListener("click", () => {
    const n = addName.value.trim();
    if (n === "" || rows.some((r) => r.name === n)) return;
    rows.push({ name: n, include: true, kind: "range", min: "0", max: "9", step: "1", values: "" });
    addName.value = "";
    renderRows();
    update();
  });
  uploadButton.addEventListener("click", async () => {
    const file = uploadFile.files?.[0];
    if (!file || uploadName.value.trim() === "") {
      uploadStatus.textContent = "Choose a CSV file and a name (a-z, 0-9, -) first.";
      return;
    }
    uploadStatus.textContent = `Uploading ${file.name}…`;
    try {
      const dataset = await service.datasets.upload(uploadName.value.trim(), file);
      datasets = await service.datasets.list();
      fillDatasets(dataset.id);
      uploadStatus.textContent = `Uploaded ${dataset.id}: ${integer(dataset.bars)} bars, ${dataset.firstDate} to ${dataset.lastDate}.`;
    } catch (err) {
      const error = shownError(err);
      uploadStatus.textContent = `Upload failed (${error.code}): ${error.message}${error.details.map((d) => `; ${d.path}: ${d.message}`).join("")}`;
    }
  });

  const form = h(
    "form",
    { class: "submit-form", novalidate: true, "aria-label": "New optimization" },
    h("h2", {}, "New optimization"),
    field("Name", name, "name"),
    field("Strategy", strategySelect, "strategy"),
    strategyHelp,
    field("Dataset", datasetSelect, "dataset"),
    h("details", { class: "upload" }, h("summary", {}, "Upload a dataset (OHLCV CSV)"), field("Dataset name", uploadName), field("CSV file", uploadFile), uploadButton, uploadStatus),
    h("fieldset", { class: "params" }, h("legend", {}, "Parameter grid"), paramsHost, addRow, errorSlot("params")),
    h("fieldset", { class: "inline" }, h("legend", {}, "Objective"), field("Metric", objectiveMetric, "objective.metric"), field("Mode", objectiveMode, "objective.mode"), errorSlot("objective")),
    h(
      "fieldset",
      { class: "inline" },
      h("legend", {}, "Early stop"),
      field("Stop early", earlyEnabled),
      field("When metric", earlyMetric, "earlyStopPolicy.metric"),
      field("is", earlyMode, "earlyStopPolicy.mode"),
      field("Threshold", earlyThreshold, "earlyStopPolicy.threshold"),
      errorSlot("earlyStopPolicy"),
    ),
    h(
      "fieldset",
      { class: "inline" },
      h("legend", {}, "Run"),
      field("Concurrency", concurrency, "concurrencyLimit"),
      field("Top-N size", topN, "topN"),
      field("Retry limit", maxRetries, "maxRetries"),
    ),
    field("Parameter constraints", constraints, "constraints", "one rule a line, e.g. fast < slow"),
    field("Result constraints", resultConstraints, "resultConstraints", "one rule a line, e.g. trades >= 5"),
    gridSize,
    formError,
    submit,
  );
  form.addEventListener("input", update);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    formError.hidden = true;
    const { spec, problems } = specOf(state());
    const showErrors = (message: string, details: readonly { path: string; message: string }[]) => {
      const unplaced = showFieldErrors(form, details);
      formError.hidden = false;
      formError.textContent = [details.length > unplaced.length ? `${message}: see the marked fields.` : message, ...unplaced].join("\n");
    };
    if (problems.length > 0) {
      showErrors("The form has rules that cannot be read", problems);
      return;
    }
    submit.disabled = true;
    try {
      const job = await service.submit(spec, crypto.randomUUID());
      onSubmitted(job.id);
    } catch (err) {
      const error = shownError(err);
      showErrors(`${error.message} (${error.code})`, error.details);
    } finally {
      submit.disabled = false;
    }
  });

  fillMetrics();
  renderRows();
  update();
  return form;
}
