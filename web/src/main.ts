import "./style.css";
import { h, field } from "./dom";
import { renderJobView } from "./job-view";
import { renderJobsList } from "./jobs-list";
import { createOptimizerClient, defaultLiveDeps, type OptimizerClient } from "grid-optimizer/client";
import { shownError } from "./errors";
import { renderSubmitForm } from "./submit-form";

/** Where the key is kept: the browser's storage for this origin, never a URL. */
const KEY_STORAGE = "gridopt.apiKey";

const app = document.getElementById("app")!;
const keyInput = h("input", { type: "password", name: "apiKey", autocomplete: "off", spellcheck: "false" });
const keyStatus = h("span", { class: "hint", "aria-live": "polite", "data-testid": "key-status" });
let disposeView: () => void = () => undefined;
/** Counts routes: a view that finishes loading after the user went elsewhere is dropped, not shown. */
let routeGeneration = 0;

const storedKey = () => localStorage.getItem(KEY_STORAGE) ?? "";
const service = (): OptimizerClient => createOptimizerClient({ url: location.origin, apiKey: storedKey() });

const keyForm = h(
  "form",
  { class: "key-form", "aria-label": "Your API key" },
  field("API key", keyInput),
  h("button", { type: "submit" }, "Save key"),
  h("button", { type: "button", onclick: () => (localStorage.removeItem(KEY_STORAGE), (keyInput.value = ""), route()) }, "Forget key"),
  keyStatus,
);
keyForm.addEventListener("submit", (event) => {
  event.preventDefault();
  localStorage.setItem(KEY_STORAGE, keyInput.value.trim());
  route();
});

export function navigate(path: string): void {
  history.pushState(null, "", path);
  route();
}

function showError(err: unknown, what: string): void {
  const error = shownError(err);
  app.replaceChildren(
    h(
      "section",
      { class: "page-error", role: "alert", "data-testid": "page-error" },
      h("h2", {}, error.code === "not_found" ? `${what}: not found` : `${what}: ${error.code}`),
      h("p", {}, error.message),
      h("p", {}, h("a", { href: "/", "data-link": true }, "← All optimizations")),
    ),
  );
}

async function route(): Promise<void> {
  const generation = ++routeGeneration;
  const current = () => generation === routeGeneration;
  disposeView();
  disposeView = () => undefined;
  keyInput.value = storedKey();
  keyStatus.textContent = storedKey() ? "key saved in this browser" : "enter the API key your team gave you";
  if (!storedKey()) {
    app.replaceChildren(h("p", { class: "hint" }, "Save an API key above to see and start optimizations."));
    return;
  }
  const match = /^\/jobs\/([A-Za-z0-9-]{1,64})\/?$/.exec(location.pathname);
  app.replaceChildren(h("p", { class: "hint" }, "Loading…"));
  if (match) {
    const id = match[1]!;
    document.title = `${id} · Grid optimizer`;
    try {
      const view = await renderJobView(service(), id, defaultLiveDeps());
      if (!current()) return view.dispose();
      disposeView = view.dispose;
      app.replaceChildren(view.element);
    } catch (err) {
      if (current()) showError(err, `Optimization ${id}`);
    }
    return;
  }
  document.title = "Grid optimizer";
  const list = renderJobsList(service());
  disposeView = list.dispose;
  try {
    const form = await renderSubmitForm(service(), (id) => navigate(`/jobs/${id}`));
    if (current()) app.replaceChildren(h("div", { class: "home" }, form, list.element));
  } catch (err) {
    if (!current()) return;
    list.dispose();
    showError(err, "The submit form");
  }
}

// Links inside the page change the view without a reload; deep links (/jobs/<id>) load the same page.
document.addEventListener("click", (event) => {
  const link = (event.target as Element | null)?.closest?.("a[data-link]");
  if (!(link instanceof HTMLAnchorElement) || event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  navigate(link.pathname);
});
window.addEventListener("popstate", () => void route());

document.getElementById("key-slot")!.replaceWith(keyForm);
void route();
