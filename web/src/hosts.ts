// The hosts list: sortable columns, grouped by client or site, filtered by status, client,
// site, kind, label and free text; counters per status (unknown included) in the header.
import type { HostStatus, HostSummary } from "../../collector/src/http/api-types.ts";
import { byId, h, muted, statusBadge, usageBar } from "./dom.ts";
import {
  alertsByHost, compareText, countByStatus, DASH, formatAge, formatBytes, formatTimestamp, hostMatches, isNumber, loadLevel, osLabel,
  STATUSES, statusRank, UNKNOWN, type HostAlerts,
} from "./format.ts";
import { labelMatches, type Placement } from "./placement.ts";
import { sparkline } from "./sparkline.ts";
import { state } from "./state.ts";

type SortKey = "status" | "host" | "place" | "cpu" | "memory" | "load" | "mount" | "agent" | "seen";
type Group = "none" | "client" | "site";

const view = {
  sort: "status" as SortKey,
  descending: false,
  group: "none" as Group,
  text: "",
  status: "" as HostStatus | "",
  client: "",
  site: "",
  kind: "",
  label: "",
};

const COLUMNS: Array<{ key: SortKey; label: string; cls?: string }> = [
  { key: "status", label: "Status", cls: "col-status" },
  { key: "host", label: "Host" },
  { key: "place", label: "Client / site" },
  { key: "cpu", label: "CPU", cls: "col-bar" },
  { key: "memory", label: "Memory", cls: "col-bar" },
  { key: "load", label: "Load / cores", cls: "num" },
  { key: "mount", label: "Fullest mount", cls: "col-bar" },
  { key: "agent", label: "Agent" },
  { key: "seen", label: "Last seen", cls: "num" },
];

const placeOf = (host: HostSummary): Placement | undefined => state.placements.get(host.id);
const num = (v: number | null | undefined) => (isNumber(v) ? v : -Infinity);

function compare(key: SortKey): (a: HostSummary, b: HostSummary) => number {
  switch (key) {
    case "status": return (a, b) => statusRank(a.status) - statusRank(b.status);
    case "host": return (a, b) => compareText(a.hostname, b.hostname);
    case "place": return (a, b) => compareText(placeOf(a)?.client, placeOf(b)?.client) || compareText(placeOf(a)?.site, placeOf(b)?.site);
    case "cpu": return (a, b) => num(a.cpuPercent) - num(b.cpuPercent);
    case "memory": return (a, b) => num(a.memoryPercent) - num(b.memoryPercent);
    case "load": return (a, b) => num(a.load1 !== null && a.logicalCores ? a.load1 / a.logicalCores : null) - num(b.load1 !== null && b.logicalCores ? b.load1 / b.logicalCores : null);
    case "mount": return (a, b) => num(a.fullestMount?.usedPercent) - num(b.fullestMount?.usedPercent);
    case "agent": return (a, b) => compareText(a.agentVersion, b.agentVersion);
    case "seen": return (a, b) => num(b.ageSeconds) - num(a.ageSeconds);
  }
}

/** The hosts the filters keep, in the chosen order (hostname, then id, breaking ties). */
export function visibleHosts(hosts: readonly HostSummary[]): HostSummary[] {
  const by = compare(view.sort);
  const sign = view.descending ? -1 : 1;
  return hosts
    .filter((host) => {
      const place = placeOf(host);
      return (!view.status || host.status === view.status) &&
        (!view.client || place?.client === view.client) &&
        (!view.site || `${place?.client}/${place?.site}` === view.site) &&
        (!view.kind || (place?.host.kind ?? UNKNOWN) === view.kind) &&
        labelMatches(place?.host.labels, view.label) &&
        hostMatches(host, view.text, place ? [place.client, place.site, place.host.kind, ...Object.entries(place.host.labels).map(([k, v]) => `${k}=${v}`)] : []);
    })
    .sort((a, b) => sign * by(a, b) || compareText(a.hostname, b.hostname) || a.id - b.id);
}

function groupOf(host: HostSummary): string {
  const place = placeOf(host);
  if (view.group === "client") return place?.client ?? "Not placed in the topology";
  return place ? `${place.client} / ${place.site}` : "Not placed in the topology";
}

function alertBadge(open: HostAlerts | undefined): HTMLElement | null {
  if (!open) return null;
  const label = `${open.count} open alert${open.count === 1 ? "" : "s"}: ${open.rules.join(", ")}`;
  return h("span", { class: `alert-badge sev-${open.severity}`, title: label, "aria-label": label }, String(open.count));
}

function hostRow(host: HostSummary, open: HostAlerts | undefined, fetchedAt: number): HTMLTableRowElement {
  const place = placeOf(host);
  const age = isNumber(host.ageSeconds) ? host.ageSeconds + (Date.now() - fetchedAt) / 1000 : null;
  const cores = host.logicalCores;
  const virt = host.os?.virtualization && host.os.virtualization !== "none" ? host.os.virtualization : null;
  return h(
    "tr",
    { class: `host-row row-${host.status}`, "data-id": host.id },
    h("td", { class: "col-status" }, statusBadge(host.status)),
    h(
      "th",
      { scope: "row", class: "hostname" },
      h("a", { class: "hostname-text", href: `#host=${host.id}` }, host.hostname || "(unnamed)"),
      alertBadge(open),
      h("div", { class: "sub muted" }, osLabel(host.os), virt ? ` · ${virt}` : null, place ? ` · ${place.host.kind}` : null),
    ),
    h("td", { class: "place" }, place ? [place.client, muted(` / ${place.site}`)] : muted(UNKNOWN)),
    h("td", { class: "col-bar" }, usageBar(host.cpuPercent), sparkline(state.sparklines?.hosts[host.id]?.cpu, "CPU")),
    h("td", { class: "col-bar" }, usageBar(host.memoryPercent, isNumber(host.memoryTotalBytes) ? `of ${formatBytes(host.memoryTotalBytes)}` : null), sparkline(state.sparklines?.hosts[host.id]?.memory, "Memory")),
    h("td", { class: `num level-${loadLevel(host.load1, cores)}` }, isNumber(host.load1) ? host.load1.toFixed(2) : DASH, muted(` / ${isNumber(cores) ? cores : "?"}`)),
    h("td", { class: "col-bar" }, usageBar(host.fullestMount?.usedPercent, host.fullestMount?.mountpoint)),
    h("td", { class: "agent-version", title: "netmap-agent version" }, host.agentVersion ?? muted(DASH)),
    h("td", { class: `num age age-${host.status}`, title: host.lastSeen ? formatTimestamp(host.lastSeen) : "never reported" }, host.lastSeen || host.status !== "unknown" ? formatAge(age) : muted("not monitored")),
  );
}

function placeholder(...content: Array<Node | string>): HTMLTableRowElement {
  return h("tr", { class: "placeholder" }, h("td", { colspan: COLUMNS.length }, ...content));
}

function options(select: HTMLSelectElement, values: string[], all: string): void {
  const chosen = select.value;
  select.replaceChildren(h("option", { value: "" }, all), ...values.map((v) => h("option", { value: v }, v)));
  select.value = values.includes(chosen) ? chosen : "";
}

export function renderCounts(): void {
  const counts = countByStatus(state.hosts ?? []);
  for (const status of STATUSES) {
    const el = document.querySelector<HTMLElement>(`.count-${status}`);
    if (!el) continue;
    el.querySelector(".count-n")!.textContent = state.hosts ? String(counts[status]) : "–";
    el.classList.toggle("is-zero", counts[status] === 0 && status !== "up");
    el.setAttribute("aria-pressed", view.status === status ? "true" : "false");
  }
  document.title = counts.down > 0 ? `(${counts.down} down) NetMap` : "NetMap";
}

export function renderHosts(): void {
  renderCounts();
  const tbody = byId("host-rows");
  if (byId("hosts-view").hidden) return;
  const clients = [...new Set([...state.placements.values()].map((p) => p.client))].sort(compareText);
  const sites = [...new Set([...state.placements.values()].map((p) => `${p.client}/${p.site}`))].sort(compareText);
  const kinds = [...new Set([...state.placements.values()].map((p) => p.host.kind)), UNKNOWN].sort(compareText);
  options(byId("filter-client"), clients, "All clients");
  options(byId("filter-site"), sites, "All sites");
  options(byId("filter-kind"), kinds, "All kinds");
  for (const th of document.querySelectorAll<HTMLElement>("#host-table th[data-sort]")) {
    th.setAttribute("aria-sort", th.dataset.sort === view.sort ? (view.descending ? "descending" : "ascending") : "none");
  }
  if (!state.hosts) {
    tbody.replaceChildren(placeholder(state.hostsError ? `Cannot reach the NetMap API — ${state.hostsError.message}. Retrying…` : "Loading hosts…"));
    return;
  }
  if (state.hosts.length === 0) {
    tbody.replaceChildren(placeholder(h("strong", null, "No hosts yet"), " — start an agent: ", h("code", null, "netmap-agent --nats nats://COLLECTOR:4222"), ", or import a topology."));
    return;
  }
  const shown = visibleHosts(state.hosts);
  byId("shown").textContent = `${shown.length} of ${state.hosts.length} hosts`;
  if (shown.length === 0) {
    tbody.replaceChildren(placeholder("No host matches these filters."));
    return;
  }
  const open = alertsByHost(state.alerts);
  const rows = document.createDocumentFragment();
  if (view.group === "none") {
    for (const host of shown) rows.append(hostRow(host, open.get(host.id), state.hostsAt));
  } else {
    const groups = new Map<string, HostSummary[]>();
    for (const host of shown) groups.set(groupOf(host), [...(groups.get(groupOf(host)) ?? []), host]);
    for (const name of [...groups.keys()].sort(compareText)) {
      const members = groups.get(name)!;
      const counts = countByStatus(members);
      rows.append(h("tr", { class: "group-row" }, h("th", { colspan: COLUMNS.length, scope: "rowgroup" }, name,
        muted(` — ${members.length} host${members.length === 1 ? "" : "s"}: ${STATUSES.filter((s) => counts[s]).map((s) => `${counts[s]} ${s}`).join(", ")}`))));
      for (const host of members) rows.append(hostRow(host, open.get(host.id), state.hostsAt));
    }
  }
  tbody.replaceChildren(rows);
}

export function startHosts(): void {
  const head = byId("host-head");
  head.replaceChildren(h("tr", null, COLUMNS.map((c) =>
    h("th", { scope: "col", class: c.cls ?? null, "data-sort": c.key, "aria-sort": "none" }, h("button", { type: "button", class: "sort" }, c.label)))));
  head.addEventListener("click", (event) => {
    const th = (event.target as Element).closest<HTMLElement>("th[data-sort]");
    if (!th) return;
    const key = th.dataset.sort as SortKey;
    view.descending = view.sort === key ? !view.descending : key === "cpu" || key === "memory" || key === "load" || key === "mount";
    view.sort = key;
    renderHosts();
  });
  const bind = (id: string, set: (value: string) => void, event = "change") => {
    const input = byId<HTMLInputElement | HTMLSelectElement>(id);
    input.addEventListener(event, () => {
      set(input.value.trim());
      renderHosts();
    });
  };
  bind("filter", (v) => (view.text = v), "input");
  bind("filter-status", (v) => (view.status = v as HostStatus | ""));
  bind("filter-client", (v) => (view.client = v));
  bind("filter-site", (v) => (view.site = v));
  bind("filter-kind", (v) => (view.kind = v));
  bind("filter-label", (v) => (view.label = v), "input");
  bind("group", (v) => (view.group = v as Group));
  // The counters filter by their status; pressed again, they show every host.
  for (const status of STATUSES) {
    document.querySelector(`.count-${status}`)?.addEventListener("click", () => {
      view.status = view.status === status ? "" : status;
      byId<HTMLSelectElement>("filter-status").value = view.status;
      location.hash = "view=hosts";
      renderHosts();
    });
  }
}
