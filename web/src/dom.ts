import { slotPathFor } from "./errors";

/** A small element builder: the page has no framework, only the DOM. */
type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") el.addEventListener(key.replace(/^on/, ""), value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  el.append(...children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false));
  return el;
}

let nextId = 0;

/** A labelled control (label bound by id, so its accessible name is the label alone), with an error slot for the field's path below. */
export function field(label: string, control: HTMLElement, path?: string, hint?: string): HTMLElement {
  if (!control.id) control.id = `f${++nextId}`;
  return h(
    "div",
    { class: "field" },
    h("label", { for: control.id, class: "label" }, label),
    control,
    hint ? h("small", { class: "hint" }, hint) : null,
    path ? errorSlot(path) : null,
  );
}

export const errorSlot = (path: string): HTMLElement =>
  h("p", { class: "field-error", "data-error-for": path, "data-testid": `error-${path}`, role: "alert", hidden: true });

/** Shows each problem at the slot of its path, or of the nearest parent path; answers those with no slot. */
export function showFieldErrors(root: HTMLElement, problems: readonly { path: string; message: string }[]): string[] {
  clearFieldErrors(root);
  const unplaced: string[] = [];
  const slotOf = (path: string) => root.querySelector<HTMLElement>(`[data-error-for="${CSS.escape(path)}"]`);
  for (const { path, message } of problems) {
    const at = slotPathFor(path, (p) => slotOf(p) !== null);
    const slot = at === null ? null : slotOf(at);
    if (!slot) {
      unplaced.push(path ? `${path}: ${message}` : message);
      continue;
    }
    slot.hidden = false;
    slot.textContent = slot.textContent ? `${slot.textContent}; ${message}` : message;
    slot.parentElement?.querySelector("input, select, textarea")?.setAttribute("aria-invalid", "true");
  }
  return unplaced;
}

export function clearFieldErrors(root: HTMLElement): void {
  for (const slot of root.querySelectorAll<HTMLElement>("[data-error-for]")) {
    slot.hidden = true;
    slot.textContent = "";
  }
  for (const el of root.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

export function option(value: string, label = value, selected = false): HTMLOptionElement {
  const o = h("option", { value }, label);
  o.selected = selected;
  return o;
}
