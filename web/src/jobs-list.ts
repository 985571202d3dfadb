import type { JobListItem } from "grid-optimizer/client";
import { h } from "./dom";
import { integer } from "./format";
import { toServiceError, type Service } from "./service";

/** How often the first page refreshes while the list is shown. */
const REFRESH_MS = 5_000;

export interface JobsList {
  element: HTMLElement;
  dispose(): void;
}

const row = (job: JobListItem): HTMLTableRowElement =>
  h(
    "tr",
    { "data-job": job.id },
    h("td", {}, h("a", { href: `/jobs/${encodeURIComponent(job.id)}`, "data-link": true }, job.name ?? job.id)),
    h("td", {}, job.strategy),
    h("td", {}, job.dataset),
    h("td", {}, h("span", { class: `badge status-${job.status}` }, job.status)),
    h(
      "td",
      { class: "num" },
      h("progress", { max: Math.max(1, job.summary.total), value: job.summary.finished, "aria-label": `Progress of ${job.name ?? job.id}` }),
      ` ${integer(job.summary.finished)}/${integer(job.summary.total)}`,
    ),
    h("td", {}, new Date(job.createdAt).toLocaleString()),
  );

/** The tenant's optimizations, newest first, a page at a time; the first page refreshes itself. */
export function renderJobsList(service: Service): JobsList {
  const tbody = h("tbody");
  const more = h("button", { type: "button", hidden: true }, "Load more");
  const message = h("p", { class: "hint", "aria-live": "polite" });
  let cursor: string | null = null;
  let loadedPages = 1;
  let timer: number | undefined;

  const load = async (append: boolean) => {
    try {
      const page = await service.list(append ? (cursor ?? undefined) : undefined);
      if (!append) tbody.replaceChildren();
      tbody.append(...page.items.map(row));
      if (!append || page.nextCursor !== null) cursor = page.nextCursor;
      more.hidden = cursor === null;
      message.textContent = tbody.rows.length === 0 ? "No optimizations yet: start one with the form." : "";
    } catch (err) {
      const error = toServiceError(err);
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
