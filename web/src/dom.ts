// Building DOM from data. Every piece of host data reaches the DOM through text nodes or
// attributes, never markup: hostnames, process names and mountpoints come from untrusted agents.
import { formatPercent, isNumber, usageLevel } from "./format.ts";

type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined> | null;

/** h('td', { class: 'num' }, 'text', childNode): strings become text nodes, never markup. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") el.className = String(value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el: Element, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

export const muted = (text: string): HTMLSpanElement => h("span", { class: "muted" }, text);

export function statusBadge(status: string): HTMLSpanElement {
  const known = ["up", "stale", "down"].includes(status) ? status : "unknown";
  return h("span", { class: `status status-${known}` }, h("span", { class: "dot", "aria-hidden": "true" }), known);
}

export function usageBar(percent: number | null | undefined, caption?: string | null): HTMLSpanElement {
  const level = usageLevel(percent);
  const fill = h("span", { class: `bar-fill level-${level}` });
  fill.style.width = `${isNumber(percent) ? Math.min(100, Math.max(0, percent)) : 0}%`;
  return h(
    "span",
    { class: "usage" },
    h("span", { class: "bar", "aria-hidden": "true" }, fill),
    h("span", { class: `usage-value level-${level}` }, formatPercent(percent)),
    caption ? h("span", { class: "usage-caption", title: caption }, caption) : null,
  );
}

/** A definition list of facts; a null value reads "unknown", never blank or "null". */
export function facts(pairs: Array<[string, Child | null | undefined, string?] | null | false>): HTMLDListElement {
  return h(
    "dl",
    { class: "facts" },
    pairs.filter((p): p is [string, Child, string?] => Boolean(p)).map(([term, value, cls]) => [
      h("dt", null, term),
      h("dd", { class: cls ?? null }, value === null || value === undefined || value === "" ? muted("unknown") : value),
    ]),
  );
}

export function section(title: string, ...content: Child[]): HTMLElement {
  return h("section", { class: "panel" }, h("h3", { class: "panel-title" }, title), ...content);
}

export function table(caption: string, headers: Array<[string, string?]>, rows: HTMLElement[], emptyText: string): HTMLElement {
  if (rows.length === 0) return h("p", { class: "empty muted" }, emptyText);
  return h(
    "div",
    { class: "table-scroll" },
    h(
      "table",
      { class: "grid compact" },
      h("caption", { class: "visually-hidden" }, caption),
      h("thead", null, h("tr", null, headers.map(([label, cls]) => h("th", { scope: "col", class: cls ?? null }, label)))),
      h("tbody", null, rows),
    ),
  );
}

/** A button that copies text, for the `netmap ssh` command. */
export function copyButton(text: string, label = "Copy"): HTMLButtonElement {
  const button = h("button", { type: "button", class: "copy", title: `Copy “${text}”` }, label);
  button.addEventListener("click", () => {
    void navigator.clipboard?.writeText(text).then(
      () => (button.textContent = "Copied"),
      () => (button.textContent = "Select and copy"),
    );
  });
  return button;
}
