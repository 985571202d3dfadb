import type { JobListItem, OptimizerClient } from "grid-optimizer/client";
import { h } from "./dom";
import { integer } from "../../client/format";
import { shownError } from "./errors";

/** Jobs a page of the list holds. */
const PAGE_SIZE = 20;
/** How often the first page refreshes while the list is shown. */
const REFRESH_MS = 5_000;

export interface JobsList {
  element: HTMLElement;
  dispose(): void;
}

/** The row's cells for a job, as text: what a refresh compares and rewrites in place. */
const cellTexts = (job: JobListItem): string[] => [
  job.name ?? job.id,
  job.strategy,
  job.dataset,
  job.status,
  ` ${integer(job.summary.finished)}/${integer(job.summary.total)}`,
  new Date(job.createdAt).toLocaleString(),
];

function createRow(job: JobListItem): HTMLTableRowElement {
  const [name, strategy, dataset, status, progress, created] = cellTexts(job);
  return h(
    "tr",
    { "data-job": job.id },
    h("td", {}, h("a", { href: `/jobs/${encodeURIComponent(job.id)}`, "data-link": true }, name!)),
    h("td", {}, strategy!),
    h("td", {}, dataset!),
    h("td", {}, h("span", { class: `badge status-${job.status}` }, status!)),
    h("td", { class: "num" }, h("progress", { max: Math.max(1, job.summary.total), value: job.summary.finished, "aria-label": `Progress of ${name}` }), progress!),
    h("td", {}, created!),
  );
}

/** Rewrites a row for the job's new state, keeping its elements (and so the keyboard focus on its link). */
function updateRow(row: HTMLTableRowElement, job: JobListItem): void {
  const badge = row.querySelector(".badge")!;
  if (badge.textContent !== job.status) {
    badge.textContent = job.status;
    badge.className = `badge status-${job.status}`;
  }
  const bar = row.querySelector("progress")!;
  bar.max = Math.max(1, job.summary.total);
  bar.value = job.summary.finished;
  const text = cellTexts(job)[4]!;
  const progressText = bar.nextSibling;
  if (progressText && progressText.textContent !== text) progressText.textContent = text;
}

/** The tenant's optimizations, newest first, a page at a time; the first page refreshes itself. */
export function renderJobsList(service: OptimizerClient): JobsList {
  const tbody = h("tbody");
  const more = h("button", { type: "button", hidden: true }, "Load more");
  const message = h("p", { class: "hint", "aria-live": "polite" });
  let cursor: string | null = null;
  let loadedPages = 1;
  let timer: number | undefined;

  const load = async (append: boolean) => {
    try {
      const pages = loadedPages;
      const page = await service.list({ limit: PAGE_SIZE, ...(append && cursor ? { cursor } : {}) });
      if (append) {
        tbody.append(...page.items.map(createRow));
      } else {
        // A refresh that lands after "Load more" would drop the pages below: ignore it.
        if (pages !== loadedPages) return;
        const rows = [...tbody.rows];
        const sameJobs = rows.length === page.items.length && rows.every((r, i) => r.dataset.job === page.items[i]!.id);
        if (sameJobs) page.items.forEach((job, i) => updateRow(rows[i]!, job));
        else tbody.replaceChildren(...page.items.map(createRow));
      }
      cursor = page.nextCursor;
      more.hidden = cursor === null;
      message.textContent = tbody.rows.length === 0 ? "No optimizations yet: start one with the form." : "";
    } catch (err) {
      const error = shownError(err);
      message.textContent = `Could not list optimizations: ${error.message} (${error.code})`;
    }
  };
  more.addEventListener("click", () => {
    loadedPages += 1;
    void load(true);
  });
  const refresh = () => {
    // Only the first page refreshes: pages loaded further down stay as they were read.
    if (loadedPages === 1) void load(false);
    timer = window.setTimeout(refresh, REFRESH_MS);
  };
  refresh();

  const element = h(
    "section",
    { class: "jobs-list", "aria-labelledby": "jobs-title" },
    h("h2", { id: "jobs-title" }, "Optimizations"),
    h(
      "div",
      { class: "table-wrap" },
      h("table", { "data-testid": "jobs" }, h("thead", {}, h("tr", {}, ...["Name", "Strategy", "Dataset", "Status", "Progress", "Created"].map((c) => h("th", { scope: "col" }, c)))), tbody),
    ),
    message,
    more,
  );
  return { element, dispose: () => window.clearTimeout(timer) };
}
