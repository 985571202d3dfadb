import type uPlot from "uplot";
import {
  isTerminalStatus,
  watchJob,
  type ExportFormat,
  type Heatmap,
  type HeatmapAgg,
  type JobSpec,
  type LiveDeps,
  type LiveJob,
  type LiveState,
  type LiveWatch,
  type OptimizerClient,
  type ParamAxis,
  type ParamValue,
  type StopReason,
  type TopNEntry,
} from "grid-optimizer/client";
import { h, field, option } from "./dom";
import { drawEquity, type EquitySeries } from "./equity-chart";
import { cellAt, drawHeatmap } from "./heatmap-canvas";
import { KEY_METRICS, duration, integer, metric, paramValue, rate, readParamValue } from "../../client/format";
import { mergeHeatmap, neighbourhoodGrid, placeTopN, sameQuery, toCellGrid, type Neighbourhood } from "./robustness";
import { shownError } from "./errors";

/** Curves the overlay draws at most (each one is a result read). */
const MAX_OVERLAY = 10;
/** Least time between two heatmap reads while the page polls (no socket). */
const POLL_HEATMAP_MS = 2_000;


export function stopReasonText(reason: StopReason | null): string {
  if (!reason) return "";
  if (reason.kind === "cancel") return `Canceled${reason.reason ? `: ${reason.reason}` : ""} at ${new Date(reason.at).toLocaleString()}`;
  const cmp = reason.mode === "max" ? "≥" : "≤";
  return `Early stop: ${reason.metric} reached ${metric(reason.metric, reason.value)} (${cmp} ${metric(reason.metric, reason.threshold)}) at task ${reason.taskId}, ${new Date(reason.at).toLocaleString()}`;
}

const axisSize = (axis: ParamAxis): number => ("values" in axis ? axis.values.length : Math.floor((axis.max - axis.min) / axis.step + 1e-9) + 1);

/** Params worth a heatmap axis: more than one value. */
const mappableParams = (spec: JobSpec): string[] => Object.entries(spec.params).filter(([, axis]) => axisSize(axis) > 1).map(([name]) => name);

export interface JobView {
  element: HTMLElement;
  dispose(): void;
}

/** One job: status, progress, Top-N, heatmap with robustness, equity curves, cancel and export; live from the job's DO. */
export async function renderJobView(service: OptimizerClient, jobId: string, liveDeps: LiveDeps): Promise<JobView> {
  const initial = await service.status(jobId);
  const spec = initial.spec;
  let job: LiveJob = initial;
  let heatmap: Heatmap | null = null;
  let selected: TopNEntry | null = null;
  let userSelected = false;
  let chart: uPlot | null = null;
  let lastHeatmapPoll = 0;
  let disposed = false;
  let endShown = false;
  let watch: LiveWatch | null = null;
  /** Guards against stale answers: the newest heatmap read and equity selection win. */
  let heatmapRequest = 0;
  let liveHeatmaps = 0;
  let equityRequest = 0;

  const status = h("span", { class: "badge", "data-testid": "job-status" });
  const liveState = h("span", { class: "live-state", "data-testid": "live-state", "aria-live": "polite" });
  const stopReason = h("p", { class: "stop-reason", "data-testid": "stop-reason" });
  const progressBar = h("progress", { max: 1, value: 0, "aria-label": "Progress" });
  const progressText = h("span", { "data-testid": "job-progress", class: "num" });
  const counts = h("span", { class: "counts" });
  const throughput = h("span", { "data-testid": "job-rate" });
  const eta = h("span", { "data-testid": "job-eta" });
  const errorLine = h("p", { class: "form-error", role: "alert", hidden: true, "data-testid": "job-error" });

  // Cancel, with a confirmation that shows what the API answered.
  const cancelButton = h("button", { type: "button", class: "danger" }, "Cancel");
  const confirmYes = h("button", { type: "button", class: "danger" }, "Yes, cancel the job");
  // Focused first, so that Enter in the dialog keeps the job.
  const confirmNo = h("button", { type: "button", autofocus: true }, "Keep running");
  const dialog = h("dialog", { "aria-label": "Cancel this optimization?" }, h("p", {}, "Cancel this optimization? Tasks not yet run are dropped; finished results stay."), confirmYes, confirmNo);
  const cancelOutcome = h("p", { "data-testid": "cancel-outcome", "aria-live": "polite" });
  cancelButton.addEventListener("click", () => dialog.showModal());
  confirmNo.addEventListener("click", () => dialog.close());
  confirmYes.addEventListener("click", async () => {
    dialog.close();
    cancelButton.disabled = true;
    cancelOutcome.textContent = "Canceling…";
    try {
      const { status: httpStatus, job: ended } = await service.cancel(jobId, "canceled from the web page");
      cancelOutcome.textContent = `${httpStatus} Accepted: the job is ${ended.status} (${ended.summary.finished}/${ended.summary.total} tasks had finished).`;
      showJob(ended);
    } catch (err) {
      const error = shownError(err);
      cancelOutcome.textContent = `Cancel refused (${error.code}): ${error.message}`;
      cancelButton.disabled = isTerminalStatus(job.status);
    }
  });

  const exportStatus = h("span", { "data-testid": "export-status", "aria-live": "polite" });
  const exportButton = (format: ExportFormat) => {
    const button = h("button", { type: "button" }, `Export ${format.toUpperCase()}`);
    button.addEventListener("click", async () => {
      exportStatus.textContent = `Exporting ${format.toUpperCase()}…`;
      try {
        const blob = await (await service.export(jobId, format)).blob();
        const url = URL.createObjectURL(blob);
        const a = h("a", { href: url, download: `${jobId}.${format}` });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10_000);
        exportStatus.textContent = `Exported ${jobId}.${format} (${integer(blob.size / 1024)} KB)`;
      } catch (err) {
        exportStatus.textContent = `Export failed: ${shownError(err).message}`;
      }
    });
    return button;
  };

  // Top-N: rows kept and rewritten in place, so the table never jumps.
  const paramNames = Object.keys(spec.params);
  const objective = spec.objective.metric;
  // The key metrics the strategy reports (a strategy without trades gets no trades column), known
  // from the first entry; the header is settled then, while the table is still empty.
  let extraMetrics: readonly string[] | null = null;
  const tbody = h("tbody");
  const thead = h("thead");
  const drawHeader = () =>
    thead.replaceChildren(h("tr", {}, h("th", { scope: "col" }, "#"), ...paramNames.map((p) => h("th", { scope: "col" }, p)), h("th", { scope: "col" }, objective), ...(extraMetrics ?? []).map((m) => h("th", { scope: "col" }, m)), h("th", { scope: "col" }, "Plateau"), h("th", { scope: "col" }, "Equity")));
  drawHeader();
  const topTable = h("table", { class: "top-n", "data-testid": "top-n" }, h("caption", {}, `Top ${spec.topN} by ${objective} (${spec.objective.mode === "max" ? "highest" : "lowest"} first)`), thead, tbody);
  const plateauOf = new Map<string, boolean | null>();

  const renderTopN = () => {
    const entries = job.summary.topN;
    if (extraMetrics === null && entries[0]) {
      const reported = entries[0].metrics;
      extraMetrics = KEY_METRICS.filter((m) => m !== objective && m in reported);
      drawHeader();
    }
    const metricsShown = extraMetrics ?? [];
    while (tbody.rows.length > entries.length) tbody.deleteRow(-1);
    entries.forEach((entry, i) => {
      let row = tbody.rows[i];
      if (!row) {
        row = tbody.insertRow();
        const columns = 1 + paramNames.length + 1 + metricsShown.length + 1;
        for (let c = 0; c < columns; c++) row.insertCell();
        const button = h("button", { type: "button", class: "link" }, "Show");
        button.addEventListener("click", () => {
          const current = job.summary.topN[i];
          if (!current) return;
          userSelected = true;
          void selectEntry(current);
        });
        row.insertCell().append(button);
      }
      const cells = [
        String(i + 1),
        ...paramNames.map((p) => paramValue(entry.params[p])),
        metric(objective, entry.score),
        ...metricsShown.map((m) => metric(m, entry.metrics[m])),
        plateauOf.has(entry.taskId) ? (plateauOf.get(entry.taskId) === null ? "?" : plateauOf.get(entry.taskId) ? "plateau" : "spike") : "",
      ];
      cells.forEach((text, c) => {
        const cell = row.cells[c]!;
        if (cell.textContent !== text) cell.textContent = text;
      });
      row.classList.toggle("selected", selected?.taskId === entry.taskId);
      const button = row.cells[cells.length]?.querySelector("button");
      if (button) button.setAttribute("aria-label", `Show the equity curve of #${i + 1}`);
    });
  };

  // Heatmap and robustness.
  const mappable = mappableParams(spec);
  const xSelect = h("select", { name: "heatmapX" }, ...mappable.map((p, i) => option(p, p, i === 0)));
  const ySelect = h("select", { name: "heatmapY" }, ...mappable.map((p, i) => option(p, p, i === 1)));
  const aggSelect = h("select", { name: "heatmapAgg" }, option("max", "best (max)", spec.objective.mode === "max"), option("mean", "mean"), option("min", "best (min)", spec.objective.mode === "min"));
  const neighbourSelect = h("select", { name: "neighbourhood" }, option("mean", "neighbourhood mean", true), option("worst", "neighbourhood worst"));
  const fixedHost = h("div", { class: "fixed-params" });
  const fixedInputs = new Map<string, HTMLInputElement>();
  const heatCanvas = h("canvas", { "data-testid": "heatmap", role: "img", tabindex: 0, "aria-label": `Heatmap of ${objective}: arrow keys read the cells` });
  const robustCanvas = h("canvas", { "data-testid": "robustness", role: "img", "aria-label": `Robustness of ${objective}: each cell's neighbourhood` });
  const heatReadout = h("p", { class: "hint", "aria-live": "polite", "data-testid": "heatmap-readout" });
  const plateauSummary = h("p", { class: "hint", "data-testid": "plateau-summary" });
  const heatError = h("p", { class: "form-error", role: "alert", hidden: true });

  const renderFixedInputs = () => {
    fixedInputs.clear();
    const others = paramNames.filter((p) => p !== xSelect.value && p !== ySelect.value && mappable.includes(p));
    fixedHost.replaceChildren(
      ...others.map((p) => {
        const input = h("input", { type: "text", name: `at.${p}`, placeholder: "any (aggregated)" });
        input.addEventListener("change", () => void loadHeatmap());
        fixedInputs.set(p, input);
        return field(`${p} fixed at`, input);
      }),
    );
  };

  const heatmapQuery = () => {
    const at: Record<string, ParamValue> = {};
    for (const [p, input] of fixedInputs) if (input.value.trim() !== "") at[p] = readParamValue(input.value);
    return { x: xSelect.value, y: ySelect.value, agg: aggSelect.value as HeatmapAgg, ...(Object.keys(at).length > 0 ? { at: JSON.stringify(at) } : {}) };
  };

  let drawPending = false;
  const drawHeatmaps = () => {
    if (drawPending || disposed) return;
    drawPending = true;
    requestAnimationFrame(() => {
      drawPending = false;
      if (!heatmap || disposed) return;
      const grid = toCellGrid(heatmap);
      const placed = placeTopN(heatmap, job.summary.topN);
      plateauOf.clear();
      placed.forEach((p) => plateauOf.set(job.summary.topN[p.rank - 1]!.taskId, p.plateau));
      drawHeatmap(heatCanvas, { grid, x: heatmap.x, y: heatmap.y, mode: heatmap.mode, marks: placed });
      const robust = neighbourhoodGrid(grid, neighbourSelect.value as Neighbourhood, heatmap.mode);
      drawHeatmap(robustCanvas, { grid: robust, x: heatmap.x, y: heatmap.y, mode: heatmap.mode, marks: placed });
      const onPlateau = placed.filter((p) => p.plateau).map((p) => `#${p.rank}`);
      plateauSummary.textContent = `${integer(heatmap.finished)} results in ${integer(heatmap.cells.length)} cells. Top-N on a plateau: ${onPlateau.length > 0 ? onPlateau.join(", ") : "none yet"} (filled dot: plateau, ring: lone spike, cross: too few neighbours).`;
      renderTopN();
    });
  };

  const showHeatError = (message: string) => {
    heatError.hidden = false;
    heatError.textContent = `Heatmap: ${message}`;
  };

  /** Subscribes the socket to the chosen heatmap (it answers the whole map, then changed cells); reads it over HTTP when not live. */
  async function loadHeatmap(): Promise<void> {
    if (mappable.length < 2) return;
    if (xSelect.value === ySelect.value) {
      showHeatError("choose two different params.");
      return;
    }
    heatError.hidden = true;
    const query = heatmapQuery();
    const request = ++heatmapRequest;
    const liveBefore = liveHeatmaps;
    watch?.subscribeHeatmap({ type: "heatmap", ...query });
    if (watch?.state === "live") return;
    try {
      const answer = await service.heatmap(jobId, query);
      // A newer read, or the socket's own heatmap since, is fresher than this answer.
      if (request !== heatmapRequest || liveHeatmaps !== liveBefore) return;
      heatmap = answer;
      drawHeatmaps();
    } catch (err) {
      if (request === heatmapRequest) showHeatError(shownError(err).message);
    }
  }

  /** Whether a heatmap from the socket answers the query now chosen (not one replaced since). */
  const isCurrent = (map: Heatmap) => {
    const q = heatmapQuery();
    return sameQuery(map, { x: { name: q.x } as Heatmap["x"], y: { name: q.y } as Heatmap["y"], agg: q.agg, at: q.at ? (JSON.parse(q.at) as Heatmap["at"]) : null });
  };

  for (const select of [xSelect, ySelect]) select.addEventListener("change", () => (renderFixedInputs(), void loadHeatmap()));
  aggSelect.addEventListener("change", () => void loadHeatmap());
  neighbourSelect.addEventListener("change", drawHeatmaps);
  // The readout of one cell, moved by the mouse or by the arrow keys.
  let cursor = { x: 0, y: 0 };
  const readCell = () => {
    if (!heatmap) return;
    const grid = toCellGrid(heatmap);
    cursor = { x: Math.min(Math.max(0, cursor.x), grid.width - 1), y: Math.min(Math.max(0, cursor.y), grid.height - 1) };
    const v = grid.values[cursor.y * grid.width + cursor.x];
    heatReadout.textContent = `${heatmap.x.name} ${paramValue(heatmap.x.values[cursor.x])}, ${heatmap.y.name} ${paramValue(heatmap.y.values[cursor.y])}: ${v === undefined || Number.isNaN(v) ? "no result yet" : metric(objective, v)}`;
  };
  heatCanvas.addEventListener("mousemove", (event) => {
    if (!heatmap) return;
    const at = cellAt(heatCanvas, toCellGrid(heatmap), event.offsetX, event.offsetY);
    if (!at) return;
    cursor = at;
    readCell();
  });
  const MOVES: Record<string, [number, number]> = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
  heatCanvas.addEventListener("keydown", (event) => {
    const move = MOVES[event.key];
    if (!move) return;
    event.preventDefault();
    cursor = { x: cursor.x + move[0], y: cursor.y + move[1] };
    readCell();
  });

  // Equity curves.
  const equityHost = h("div", { class: "equity", "data-testid": "equity-chart" });
  const equityLabel = h("p", { class: "hint", "aria-live": "polite", "data-testid": "equity-label" }, "Choose a Top-N entry (Show) to see its equity curve.");
  const overlay = h("input", { type: "checkbox", name: "overlay" });
  overlay.addEventListener("change", () => {
    // The entry as the Top-N holds it now (its result summary may have come since it was chosen).
    const current = selected && (job.summary.topN.find((e) => e.taskId === selected!.taskId) ?? selected);
    if (current) void selectEntry(current);
  });

  async function selectEntry(entry: TopNEntry): Promise<void> {
    selected = entry;
    const request = ++equityRequest;
    renderTopN();
    if (!entry.resultSummaryId) {
      equityLabel.textContent = "This result has no summary yet.";
      return;
    }
    equityLabel.textContent = "Loading the equity curve…";
    try {
      const ids = [entry.resultSummaryId];
      if (overlay.checked)
        for (const other of job.summary.topN.slice(0, MAX_OVERLAY))
          if (other.resultSummaryId && !ids.includes(other.resultSummaryId)) ids.push(other.resultSummaryId);
      const results = await Promise.all(ids.map((id) => service.result(id)));
      // A later choice (another row, the overlay) is what the chart must show.
      if (disposed || request !== equityRequest) return;
      const rank = (id: string) => job.summary.topN.findIndex((e) => e.resultSummaryId === id) + 1;
      const series: EquitySeries[] = results.map((r) => ({
        label: `#${rank(r.id) || "?"} ${paramNames.map((p) => `${p}=${paramValue(r.params[p])}`).join(" ")}`,
        points: r.equity,
      }));
      const first = results[0]!;
      if (first.equity.length === 0) {
        chart?.destroy();
        chart = null;
        equityHost.replaceChildren();
        equityLabel.textContent = `${first.strategy} records no equity curve for this result.`;
        return;
      }
      chart = drawEquity(equityHost, series, chart);
      equityLabel.textContent = `Equity of ${series[0]!.label}: total return ${metric("totalReturn", first.metrics.totalReturn)}, max drawdown ${metric("maxDrawdown", first.metrics.maxDrawdown)}, ${integer(first.metrics.trades)} trades${results.length > 1 ? `; ${results.length - 1} more overlaid` : ""}.`;
    } catch (err) {
      if (request === equityRequest) equityLabel.textContent = `Equity curve: ${shownError(err).message}`;
    }
  }

  function showJob(next: LiveJob): void {
    job = { ...next, spec: next.spec ?? job.spec };
    const s = job.summary;
    status.textContent = job.status;
    status.className = `badge status-${job.status}`;
    stopReason.textContent = stopReasonText(job.stopReason);
    stopReason.hidden = job.stopReason === null;
    progressBar.max = Math.max(1, s.total);
    progressBar.value = s.finished;
    progressText.textContent = `${s.finished}/${s.total}`;
    counts.textContent = `${integer(s.succeeded)} succeeded · ${integer(s.failed)} failed · ${integer(s.canceled)} canceled · ${integer(s.running)} running · ${integer(s.queued)} queued · ${integer(s.retries)} retries`;
    throughput.textContent = rate(job.stats.throughputPerSec);
    eta.textContent = isTerminalStatus(job.status) ? "done" : `ETA ${duration(job.stats.etaSeconds)}`;
    cancelButton.disabled = isTerminalStatus(job.status);
    renderTopN();
    if (heatmap) drawHeatmaps();
    if (isTerminalStatus(job.status) && !endShown) {
      endShown = true;
      // The last heatmap and, unless the user chose one, the best result's curve.
      void loadHeatmap();
      const best = job.summary.topN[0];
      if (best && !userSelected) void selectEntry(best);
    }
  }

  const showLiveState = (state: LiveState) => {
    const words: Record<LiveState, string> = {
      connecting: "connecting…",
      live: "live",
      reconnecting: "reconnecting…",
      polling: "polling every 2 s",
      ended: "final",
      closed: "closed",
    };
    liveState.textContent = words[state];
    liveState.dataset.state = state;
  };

  const element = h(
    "section",
    { class: "job-view", "aria-labelledby": "job-title" },
    h("p", {}, h("a", { href: "/", "data-link": true }, "← All optimizations")),
    h("h2", { id: "job-title" }, job.name ?? job.id),
    h("p", { class: "hint" }, `${job.id} · ${spec.strategy} on ${spec.dataset} · objective ${spec.objective.mode} ${objective}${spec.earlyStopPolicy ? ` · early stop when ${spec.earlyStopPolicy.metric} ${spec.earlyStopPolicy.mode === "max" ? "≥" : "≤"} ${spec.earlyStopPolicy.threshold}` : ""}`),
    h("div", { class: "status-line" }, status, liveState),
    stopReason,
    h("div", { class: "progress" }, progressBar, progressText, throughput, eta),
    h("p", { class: "hint" }, counts),
    errorLine,
    h("div", { class: "actions" }, cancelButton, exportButton("csv"), exportButton("json"), exportStatus),
    cancelOutcome,
    dialog,
    h("div", { class: "table-wrap" }, topTable),
    h(
      "section",
      { class: "heatmaps", "aria-label": "Heatmap and robustness" },
      h("h3", {}, "Where on the grid the good results lie"),
      mappable.length < 2
        ? h("p", { class: "hint" }, "A heatmap needs two params with more than one value.")
        : h(
            "div",
            {},
            h("div", { class: "heatmap-controls" }, field("x", xSelect), field("y", ySelect), field("cells", aggSelect), field("robustness", neighbourSelect), fixedHost),
            heatError,
            h("div", { class: "heatmap-pair" }, h("figure", {}, heatCanvas, h("figcaption", {}, `${objective} per cell`)), h("figure", {}, robustCanvas, h("figcaption", {}, "neighbourhood (3×3) of each cell"))),
            heatReadout,
            plateauSummary,
          ),
    ),
    h("section", { class: "equity-section", "aria-label": "Equity curve" }, h("h3", {}, "Equity curve"), field("Overlay the Top-N curves", overlay), equityLabel, equityHost),
  );

  renderFixedInputs();
  if (isTerminalStatus(initial.status)) {
    // Nothing will change: no socket, one heatmap read (showJob's, at the end).
    showLiveState("ended");
  } else {
    watch = watchJob(
      service,
      jobId,
      {
        job: (next, source) => {
          errorLine.hidden = true;
          showJob(next);
          if (source === "poll" && Date.now() - lastHeatmapPoll > POLL_HEATMAP_MS) {
            lastHeatmapPoll = Date.now();
            void loadHeatmap();
          }
        },
        heatmap: (next, full) => {
          if (!isCurrent(next)) return;
          liveHeatmaps += 1;
          heatmap = mergeHeatmap(heatmap, next, full);
          drawHeatmaps();
        },
        state: showLiveState,
        error: (error) => {
          const shown = shownError(error);
          errorLine.hidden = false;
          errorLine.textContent = `${shown.message} (${shown.code})`;
        },
        refused: (error) => showHeatError(error.message),
      },
      liveDeps,
    );
    queueMicrotask(() => void loadHeatmap());
  }
  showJob(initial);
  return {
    element,
    dispose() {
      disposed = true;
      watch?.close();
      chart?.destroy();
    },
  };
}
