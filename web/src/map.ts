// The live map: the collector's SVG drawn into the page (not a frame), cleaned of anything but
// shapes, text and host links first; pan with a drag, zoom with the wheel or the buttons,
// search to centre and highlight a host. Status colours and alert badges follow each refresh
// of the hosts and alerts in place: the drawing, and the view on it, stay.
//
// Clients and sites open and close with a click on them (remembered in this browser). Up to
// OPEN_ALL_UP_TO hosts everything starts open; past it, every client starts closed, one node
// counting its hosts: thousands of hosts at once are unreadable, and slow to lay out and draw.
import { getSvg, probe } from "./api.ts";
import { byId } from "./dom.ts";
import { alertsByHost } from "./format.ts";
import { clockTime, state } from "./state.ts";
import { remember, remembered } from "./storage.ts";

const MAP_PATH = "/api/v1/topology.svg";
const SVG_NS = "http://www.w3.org/2000/svg";
const XLINK = "http://www.w3.org/1999/xlink";
const ELEMENTS = new Set(["svg", "g", "a", "title", "polygon", "path", "ellipse", "polyline", "text", "rect"]);
const ATTRIBUTES = new Set(["fill", "stroke", "stroke-width", "stroke-dasharray", "points", "d", "cx", "cy", "rx", "ry", "x", "y", "width", "height",
  "text-anchor", "font-family", "font-size", "font-weight", "font-style", "transform", "class", "viewBox"]);
const HOST_LINK = /^\/#host=(\d{1,15})$/;
/** A client (`slug`) or site (`client-slug/site-slug`) to open or close. */
const GROUP_KEY = /^[a-z0-9_][a-z0-9._-]*(\/[a-z0-9_][a-z0-9._-]*)?$/;
const TOGGLE_LINK = /^\/#toggle=(.{1,300})$/;
const OPEN_KEY = "netmap.map.open";
const OPEN_ALL_UP_TO = 300;

interface MapView {
  x: number;
  y: number;
  w: number;
  h: number;
}

const map = { available: false, drawnAt: 0, error: null as string | null, box: null as DOMRect | null, view: null as MapView | null };

/**
 * Keeps only drawing: no script, no style, no foreign content, no event attributes, and only
 * links to a host page. The page's policy would block scripts anyway; this keeps markup
 * a name smuggled into the drawing from being anything but text.
 */
export function cleanSvg(text: string): SVGSVGElement | null {
  const parsed = new DOMParser().parseFromString(text, "image/svg+xml");
  const root = parsed.documentElement;
  if (root.localName !== "svg" || root.namespaceURI !== SVG_NS) return null;
  const walk = (el: Element): void => {
    for (const child of [...el.children]) {
      if (!ELEMENTS.has(child.localName) || child.namespaceURI !== SVG_NS) child.remove();
      else walk(child);
    }
    const href = el.getAttributeNS(XLINK, "href") ?? el.getAttribute("href");
    const title = el.getAttributeNS(XLINK, "title");
    for (const attr of [...el.attributes]) if (!ATTRIBUTES.has(attr.name)) el.removeAttributeNode(attr);
    if (el.localName === "a") {
      const host = href ? HOST_LINK.exec(href) : null;
      const toggle = href ? TOGGLE_LINK.exec(href) : null;
      if (host) {
        el.setAttribute("href", `#host=${host[1]}`);
        el.setAttribute("data-host", host[1]!);
      } else if (toggle && GROUP_KEY.test(toggle[1]!)) {
        el.setAttribute("href", "#view=map");
        el.setAttribute("data-toggle", toggle[1]!);
      }
      if (title) el.setAttribute("aria-label", title);
    }
  };
  walk(root);
  return document.importNode(root, true) as unknown as SVGSVGElement;
}

/** The whole drawing, centred, never drawn larger than 1.5 px a point (a small map stays legible, not huge). */
function wholeMap(svg: SVGSVGElement): MapView {
  const box = map.box!;
  const panel = svg.getBoundingClientRect();
  const scale = Math.min(1.5, panel.width / box.width || 1.5, panel.height / box.height || 1.5);
  const w = Math.max(box.width, panel.width / scale);
  const h = Math.max(box.height, panel.height / scale);
  return { x: box.x - (w - box.width) / 2, y: box.y - (h - box.height) / 2, w, h };
}

function setViewBox(svg: SVGSVGElement): void {
  const v = map.view!;
  svg.setAttribute("viewBox", `${v.x} ${v.y} ${v.w} ${v.h}`);
}

function zoom(svg: SVGSVGElement, factor: number, cx?: number, cy?: number): void {
  const v = map.view!;
  const x = cx ?? v.x + v.w / 2;
  const y = cy ?? v.y + v.h / 2;
  map.view = { x: x - (x - v.x) * factor, y: y - (y - v.y) * factor, w: v.w * factor, h: v.h * factor };
  setViewBox(svg);
}

function svgPoint(svg: SVGSVGElement, clientX: number, clientY: number): { x: number; y: number } {
  const r = svg.getBoundingClientRect();
  const v = map.view!;
  return { x: v.x + ((clientX - r.left) / r.width) * v.w, y: v.y + ((clientY - r.top) / r.height) * v.h };
}

/** Status and alert badge of every host in the drawing, from the last hosts and alerts. */
export function paintMap(): void {
  const svg = byId("map-wrap").querySelector("svg");
  if (!svg) return;
  const status = new Map((state.hosts ?? []).map((host) => [host.id, host.status]));
  const open = alertsByHost(state.alerts);
  for (const link of svg.querySelectorAll<SVGAElement>("a[data-host]")) {
    const id = Number(link.dataset.host);
    link.setAttribute("class", `map-host status-${status.get(id) ?? "unknown"}${open.has(id) ? ` has-alert sev-${open.get(id)!.severity}` : ""}`);
  }
}

/** Centres the view on the first host whose name holds `query`, and highlights it. */
export function findOnMap(query: string): boolean {
  const svg = byId("map-wrap").querySelector("svg");
  if (!svg || !map.view) return false;
  for (const old of svg.querySelectorAll(".is-found")) old.classList.remove("is-found");
  const q = query.trim().toLowerCase();
  if (!q) return false;
  const hit = [...svg.querySelectorAll<SVGGraphicsElement>("g.node")].find((g) => (g.querySelector("title")?.textContent ?? g.textContent ?? "").toLowerCase().includes(q)
    || [...g.querySelectorAll("text")].some((t) => t.textContent?.toLowerCase().includes(q)));
  if (!hit) return false;
  hit.classList.add("is-found");
  const box = hit.getBBox();
  const ctm = hit.getCTM();
  const root = svg.getCTM();
  // The node's box in the root's user space (Graphviz puts everything under one transformed group).
  const m = ctm && root ? root.inverse().multiply(ctm) : new DOMMatrix();
  const cx = m.a * (box.x + box.width / 2) + m.c * (box.y + box.height / 2) + m.e;
  const cy = m.b * (box.x + box.width / 2) + m.d * (box.y + box.height / 2) + m.f;
  // Wide enough to show the host among its neighbours; a map that small is shown whole.
  const w = Math.max(Math.abs(m.a) * box.width * 12, 600);
  const whole = wholeMap(svg);
  if (w >= whole.w) map.view = whole;
  else map.view = { x: cx - w / 2, y: cy - w * (map.view.h / map.view.w) / 2, w, h: w * (map.view.h / map.view.w) };
  setViewBox(svg);
  return true;
}

function renderStatus(): void {
  const error = byId("map-error");
  error.hidden = !map.error;
  error.textContent = map.error ? `Could not ${map.drawnAt ? "refresh" : "load"} the map: ${map.error}.` : "";
  byId("map-updated").textContent = map.drawnAt ? `Drawn ${clockTime(map.drawnAt)}` : map.error ? "" : "Drawing…";
}

/** Every client and site key of the topology. */
function groupKeys(): string[] {
  const keys = new Set<string>();
  for (const place of state.placements.values()) {
    const [client, site] = place.reference.split("/");
    keys.add(client!).add(`${client}/${site}`);
  }
  return [...keys];
}

/** The clients and sites drawn open: as remembered, else all of a small topology, none of a large one. */
function openGroups(): Set<string> | "all" {
  const stored = remembered(OPEN_KEY);
  if (stored) {
    try {
      const keys: unknown = JSON.parse(stored);
      if (Array.isArray(keys)) return new Set(keys.filter((key): key is string => typeof key === "string" && GROUP_KEY.test(key)));
    } catch {
      // Not ours, or damaged: the default below.
    }
  }
  const hosts = state.topology ? state.placements.size : (state.hosts?.length ?? Infinity);
  return hosts <= OPEN_ALL_UP_TO ? "all" : new Set();
}

function setOpen(open: Set<string>): void {
  remember(OPEN_KEY, JSON.stringify([...open].sort()));
}

/** Opens or closes a client or site, and draws the map again, whole. */
function toggleGroup(key: string): void {
  const current = openGroups();
  const open = current === "all" ? new Set(groupKeys()) : current;
  if (open.has(key)) open.delete(key);
  else open.add(key);
  setOpen(open);
  void loadMap(true, true);
}

/** Opens the client and site of every host whose name holds `q`; true when one was closed. */
function openHostsNamed(q: string): boolean {
  const current = openGroups();
  if (current === "all") return false;
  let opened = false;
  for (const place of state.placements.values()) {
    if (!place.host.name.toLowerCase().includes(q)) continue;
    const [client, site] = place.reference.split("/");
    for (const key of [client!, `${client}/${site}`]) {
      if (current.has(key)) continue;
      current.add(key);
      opened = true;
    }
    break;
  }
  if (opened) setOpen(current);
  return opened;
}

/** Draws the map; later calls only repaint unless `redraw` (the topology or the open groups changed). */
export async function loadMap(redraw = false, fit = false): Promise<void> {
  const wrap = byId("map-wrap");
  if (wrap.querySelector("svg") && !redraw) return paintMap();
  const theme = window.matchMedia?.("(prefers-color-scheme: light)").matches ? "light" : "dark";
  const open = openGroups();
  try {
    const containers = byId("map-containers").getAttribute("aria-pressed") === "true" ? "shown" : "collapsed";
    const svg = cleanSvg(await getSvg(`${MAP_PATH}?theme=${theme}&expand=${encodeURIComponent(open === "all" ? "all" : [...open].sort().join(","))}&containers=${containers}`));
    if (!svg) throw new Error("the collector answered with something other than an SVG");
    const keep = wrap.querySelector("svg") && !fit ? map.view : null;
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "Topology map: clients, sites and hosts, with the SSH hops between them");
    wrap.replaceChildren(svg);
    const vb = svg.viewBox.baseVal;
    map.box = new DOMRect(vb.x, vb.y, vb.width, vb.height);
    map.view = keep ?? wholeMap(svg);
    setViewBox(svg);
    map.drawnAt = Date.now();
    map.error = null;
    paintMap();
  } catch (err) {
    map.error = (err as Error).message;
  }
  renderStatus();
}

/** True when the collector draws a map (no topology: 404, and the Map tab stays hidden). */
export async function mapAvailable(): Promise<boolean> {
  const status = await probe(`${MAP_PATH}?theme=light`);
  map.available = status !== 404 && status !== 0 && status !== 401;
  return map.available;
}

export function startMap(): void {
  const wrap = byId("map-wrap");
  // The drawing's colours are the collector's, per theme: a change of scheme draws it again.
  window.matchMedia?.("(prefers-color-scheme: light)").addEventListener("change", () => {
    if (wrap.querySelector("svg")) void loadMap(true);
  });
  let drag: { x: number; y: number; moved: boolean } | null = null;
  wrap.addEventListener("wheel", (event) => {
    const svg = wrap.querySelector("svg");
    if (!svg || !map.view) return;
    event.preventDefault();
    const p = svgPoint(svg, event.clientX, event.clientY);
    zoom(svg, event.deltaY > 0 ? 1.2 : 1 / 1.2, p.x, p.y);
  }, { passive: false });
  wrap.addEventListener("pointerdown", (event) => (drag = { x: event.clientX, y: event.clientY, moved: false }));
  wrap.addEventListener("pointermove", (event) => {
    const svg = wrap.querySelector("svg");
    if (!drag || !svg || !map.view || event.buttons !== 1) return;
    const r = svg.getBoundingClientRect();
    const dx = ((event.clientX - drag.x) / r.width) * map.view.w;
    const dy = ((event.clientY - drag.y) / r.height) * map.view.h;
    if (Math.abs(event.clientX - drag.x) + Math.abs(event.clientY - drag.y) > 3) drag.moved = true;
    map.view = { ...map.view, x: map.view.x - dx, y: map.view.y - dy };
    drag.x = event.clientX;
    drag.y = event.clientY;
    setViewBox(svg);
  });
  wrap.addEventListener("pointerup", () => setTimeout(() => (drag = null)));
  // A drag that ends on a host is a pan, not a click to its page.
  wrap.addEventListener("click", (event) => {
    if (drag?.moved) event.preventDefault();
  }, true);
  wrap.addEventListener("click", (event) => {
    const group = (event.target as Element).closest<SVGAElement>("a[data-toggle]");
    if (!group || event.defaultPrevented) return;
    event.preventDefault();
    toggleGroup(group.dataset.toggle!);
  });
  // The keyboard pans (arrows) and zooms (+ and −) the focused map as the mouse does; Tab
  // moves through its hosts, clients and sites, Enter follows or opens one.
  wrap.addEventListener("keydown", (event) => {
    const svg = wrap.querySelector("svg");
    if (!svg || !map.view || event.target !== wrap || event.altKey || event.ctrlKey || event.metaKey) return;
    const step = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[event.key];
    if (step) map.view = { ...map.view, x: map.view.x + step[0]! * map.view.w * 0.1, y: map.view.y + step[1]! * map.view.h * 0.1 };
    else if (event.key === "+" || event.key === "=") zoom(svg, 1 / 1.25);
    else if (event.key === "-") zoom(svg, 1.25);
    else return;
    event.preventDefault();
    setViewBox(svg);
  });
  const svgOf = () => wrap.querySelector("svg");
  byId("map-zoom-in").addEventListener("click", () => svgOf() && zoom(svgOf()!, 1 / 1.5));
  byId("map-zoom-out").addEventListener("click", () => svgOf() && zoom(svgOf()!, 1.5));
  // Containers drawn one by one, or folded into one node per host: the map is drawn again.
  byId("map-containers").addEventListener("click", (event) => {
    const button = event.currentTarget as HTMLElement;
    button.setAttribute("aria-pressed", button.getAttribute("aria-pressed") === "true" ? "false" : "true");
    void loadMap(true);
  });
  byId("map-fit").addEventListener("click", () => {
    const svg = svgOf();
    if (!svg || !map.box) return;
    map.view = wholeMap(svg);
    setViewBox(svg);
  });
  byId("map-search").addEventListener("submit", async (event) => {
    event.preventDefault();
    const query = byId<HTMLInputElement>("map-query").value;
    let found = findOnMap(query);
    // A host inside a closed client or site: open them, draw again, then find it.
    if (!found && query.trim() && openHostsNamed(query.trim().toLowerCase())) {
      await loadMap(true, true);
      found = findOnMap(query);
    }
    byId("map-found").textContent = found ? "" : "No host by that name on the map.";
  });
}
