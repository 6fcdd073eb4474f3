// The host page (#host=<id>): what NetMap knows of any host — where it sits, how to reach
// it, its alerts — then its history in charts and the agent's last report.
import type { HostDetail, RouteResponse, SessionsResponse, TerminalSessionSummary } from "../../collector/src/http/api-types.ts";
import { ApiError, getJson } from "./api.ts";
import { chartFigure, drawChart, resizeCharts, type ChartElement, type ChartSpec } from "./charts.ts";
import { deviceChartSpecs, devicePanels } from "./device.ts";
import { byId, copyButton, facts, h, muted, section, statusBadge, table, usageBar } from "./dom.ts";
import {
  DASH, formatAge, formatBytes, formatDuration, formatLinkSpeed, formatPercent, formatRate, formatTimestamp, isNumber, osLabel, sortAlerts, sshCommand,
} from "./format.ts";
import { checksPanel, sshAuthPanel } from "./host-checks.ts";
import { guestActionsPanel } from "./host-actions.ts";
import { containerAction, containerPanel, containersPanel } from "./host-containers.ts";
import { sessionsPanel } from "./host-sessions.ts";
import { openTerminal, replaySession } from "./terminal.ts";
import { clockTime, state } from "./state.ts";

export const RANGES: Record<string, number> = { "1h": 3600, "6h": 6 * 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400 };
const CHART_REFRESH_MS = 60_000;

const page = {
  id: null as number | null,
  detail: null as HostDetail | null,
  detailAt: 0,
  error: null as ApiError | null,
  route: null as RouteResponse | null,
  routeError: null as string | null,
  /** This caller's recorded terminal sessions; null when its role may not read them. */
  sessions: null as TerminalSessionSummary[] | null,
  range: "1h",
  chartsFor: null as string | null,
  chartTimer: 0,
};

export const openHostId = (): number | null => page.id;

function chartSpecs(host: HostDetail): ChartSpec[] {
  const agent = host.lastSeen !== null;
  if (!agent && host.network) return deviceChartSpecs();
  if (!agent) {
    return [
      { id: "cpu", title: "CPU busy", unit: "ratio", metrics: [{ metric: "cpu_busy_ratio", label: "busy" }] },
      { id: "memory", title: "Memory", unit: "bytes", metrics: [{ metric: "memory_used_bytes", label: "used" }, { metric: "memory_total_bytes", label: "size" }] },
      { id: "network", title: "Network", unit: "bytes_per_second", metrics: [{ metric: "network_receive_bytes_per_second", label: "rx" }, { metric: "network_transmit_bytes_per_second", label: "tx" }] },
      { id: "disk", title: "Disk I/O", unit: "bytes_per_second", metrics: [{ metric: "disk_read_bytes_per_second", label: "read" }, { metric: "disk_written_bytes_per_second", label: "write" }] },
      host.proxmox?.type === "node"
        ? { id: "mounts", title: "Storage used", unit: "bytes", metrics: [{ metric: "proxmox_storage_used_bytes", label: "" }] }
        : { id: "mounts", title: "Root disk used", unit: "bytes", metrics: [{ metric: "proxmox_disk_used_bytes", label: "used" }] },
    ];
  }
  return [
    { id: "cpu", title: "CPU by mode", unit: "ratio", metrics: [{ metric: "cpu_mode_ratio", label: "" }] },
    { id: "memory", title: "Memory", unit: "bytes", metrics: [{ metric: "memory_used_bytes", label: "used" }, { metric: "memory_available_bytes", label: "available" }, { metric: "swap_used_bytes", label: "swap used" }] },
    { id: "load", title: "Load", unit: "1", metrics: [{ metric: "load1", label: "1 min" }, { metric: "load5", label: "5 min" }, { metric: "load15", label: "15 min" }] },
    { id: "network", title: "Network", unit: "bytes_per_second", metrics: [{ metric: "network_receive_bytes_per_second", label: "rx" }, { metric: "network_transmit_bytes_per_second", label: "tx" }] },
    { id: "disk", title: "Disk I/O", unit: "bytes_per_second", metrics: [{ metric: "disk_read_bytes_per_second", label: "read" }, { metric: "disk_written_bytes_per_second", label: "write" }] },
    { id: "mounts", title: "Mounts used", unit: "bytes", metrics: [{ metric: "filesystem_used_bytes", label: "" }] },
    // The synthetic checks of the latest report, one series per check (agent.yaml's and netmap.yaml's alike).
    ...(host.checks.length
      ? [
          { id: "check-latency", title: "Check latency", unit: "seconds", metrics: [{ metric: "check_latency_seconds", label: "" }] },
          { id: "check-up", title: "Checks succeeding", unit: "ratio", metrics: [{ metric: "check_up_ratio", label: "" }] },
        ] satisfies ChartSpec[]
      : []),
  ];
}

function wherePanel(host: HostDetail): HTMLElement {
  const place = state.placements.get(host.id);
  const address = host.address ?? place?.host.address ?? null;
  const labels = Object.entries(place?.host.labels ?? {});
  const hops = page.route?.hops ?? [];
  const ssh = place && address ? sshCommand(place.reference) : null;
  return section(
    "Where it is and how to reach it",
    facts([
      ["Client", place?.client],
      ["Site", place?.site],
      ["Kind", place?.host.kind],
      ["Address (SSH)", address, "mono"],
      ["Reported addresses", host.addresses.length ? host.addresses.join(", ") : null, "mono"],
      ["Hypervisor", place?.host.parent ?? (host.proxmox && host.proxmox.type !== "node" ? `${host.proxmox.node} (Proxmox ${host.proxmox.cluster})` : null)],
      ["Route", hops.length ? h("ol", { class: "hops" }, hops.map((hop) => h("li", { class: "mono" }, `${hop.name} (${hop.ssh})`))) : page.routeError ?? (place ? null : "not placed in the topology")],
      ["SSH", ssh ? [h("code", { class: "ssh-command" }, ssh), " ", copyButton(ssh)] : place ? "no address: set one (netmap adopt) to reach it" : null],
      hops.length && place ? ["Terminal", h("button", { type: "button", class: "open-terminal", "data-host": place.reference }, "Terminal"), undefined] : null,
      ["Labels", labels.length ? labels.map(([k, v]) => h("span", { class: "tag" }, `${k}=${v}`)) : place ? "none" : null],
      ["Agent", host.agentId ?? "no agent reports for this host", host.agentId ? "mono" : undefined],
      host.claims.length ? ["Claims to be", host.claims.join(", "), "mono"] : null,
    ]),
  );
}

function alertsPanel(host: HostDetail): HTMLElement {
  const open = sortAlerts((state.alerts ?? []).filter((a) => a.hostId === host.id));
  return section(
    `Open alerts (${open.length})`,
    open.length === 0
      ? h("p", { class: "empty muted" }, state.alerts ? "No open alerts." : "Alerts not loaded.")
      : h("ul", { class: "host-alerts" }, open.map((a) => h("li", null, h("span", { class: `severity sev-${a.severity}` }, a.severity), " ", h("strong", null, a.rule), " ",
          a.annotations.summary ?? "", a.acknowledged ? muted(` · acknowledged by ${a.acknowledged.by}`) : null, " · since ", formatTimestamp(a.startsAt ?? a.activeSince)))),
    open.length ? h("a", { href: "#view=alerts" }, "Act on them in the Alerts view") : null,
  );
}

function systemPanel(host: HostDetail): HTMLElement {
  const mem = host.memory;
  const swap = !mem ? null : mem.swapTotalBytes > 0 ? `${formatBytes(mem.swapUsedBytes)} of ${formatBytes(mem.swapTotalBytes)}` : "no swap";
  const px = host.proxmox;
  return section(
    "Now",
    h("div", { class: "big" }, "CPU ", usageBar(host.cpu?.usagePercent ?? host.cpuPercent)),
    h("div", { class: "big" }, "Memory ", usageBar(host.memoryPercent, mem ? `${formatBytes(mem.usedBytes)} of ${formatBytes(mem.totalBytes)}` : isNumber(host.memoryTotalBytes) ? `of ${formatBytes(host.memoryTotalBytes)}` : null)),
    facts([
      ["Last report", host.lastSeen ? `${formatTimestamp(host.lastSeen)} (${formatAge(host.ageSeconds)})` : null],
      ["OS", host.os ? `${osLabel(host.os)} · ${host.os.kernel} · ${host.os.architecture}` : null],
      ["CPU", host.cpu ? `${host.cpu.model || "unknown model"} · ${host.cpu.physicalCores} physical / ${host.cpu.logicalCores} logical` : px?.latest.cpus ? `${px.latest.cpus} vCPU (Proxmox)` : null],
      ["Load 1/5/15", host.cpu ? [host.cpu.load1, host.cpu.load5, host.cpu.load15].map((v) => v.toFixed(2)).join("  ") : null, "num"],
      ["Swap", swap],
      ["Uptime", isNumber(host.uptimeSeconds) ? formatDuration(host.uptimeSeconds) : isNumber(px?.latest.uptimeSeconds) ? formatDuration(px.latest.uptimeSeconds) : null],
      ["Agent version", host.agentVersion],
      px ? ["Proxmox", `${px.type === "node" ? "node" : `${px.type} ${px.vmid}`} on ${px.node} · cluster ${px.cluster} · ${px.status}${px.stale ? ` (stale: ${px.staleReason})` : ""}`] : null,
      px?.backup ? ["Last backup", px.backup.at ? `${formatTimestamp(px.backup.at)} · ${formatBytes(px.backup.sizeBytes)} · ${px.backup.volid}` : h("strong", { class: "level-warn" }, "never backed up"), px.backup.at ? "mono" : undefined] : null,
    ]),
  );
}

function mountsTable(host: HostDetail): HTMLElement {
  const rows = [...host.mounts].sort((a, b) => a.mountpoint.localeCompare(b.mountpoint)).map((m) =>
    h("tr", null, h("th", { scope: "row", class: "mono" }, m.mountpoint), h("td", null, m.fsType || DASH), h("td", { class: "num" }, formatBytes(m.sizeBytes)),
      h("td", { class: "col-bar" }, usageBar(m.usedPercent))));
  return section("Mounts", table("Mounted file systems", [["Mount point"], ["Type"], ["Size", "num"], ["Used", "col-bar"]], rows, host.lastSeen ? "No mounts reported." : "No agent reports on this host."));
}

function interfacesTable(host: HostDetail): HTMLElement {
  const rows = [...host.interfaces].sort((a, b) => Number(a.virtual) - Number(b.virtual) || a.name.localeCompare(b.name)).map((i) =>
    h("tr", { class: i.virtual ? "is-virtual" : null }, h("th", { scope: "row", class: "mono" }, i.name, i.virtual ? h("span", { class: "tag" }, "virtual") : null),
      h("td", null, i.up ? "up" : "down"), h("td", { class: "mono" }, i.addresses.map((a) => h("div", null, `${a.address}/${a.prefixLength}`))),
      h("td", { class: "num" }, formatLinkSpeed(i.speedMbps)), h("td", { class: "num" }, formatRate(i.rxBytesPerSecond)), h("td", { class: "num" }, formatRate(i.txBytesPerSecond))));
  return section("Interfaces", table("Network interfaces", [["Name"], ["Link"], ["Addresses"], ["Speed", "num"], ["RX", "num"], ["TX", "num"]], rows, host.lastSeen ? "No interfaces reported." : "No agent reports on this host."));
}

function listenersTable(host: HostDetail): HTMLElement {
  const rows = [...host.listeners].sort((a, b) => a.port - b.port).map((l) =>
    h("tr", null, h("td", { class: "mono" }, l.protocol), h("td", { class: "mono" }, l.address), h("th", { scope: "row", class: "num" }, String(l.port)), h("td", null, l.process || muted(DASH))));
  return section("Listening sockets", table("Listening sockets", [["Proto"], ["Address"], ["Port", "num"], ["Process"]], rows, host.lastSeen ? "No listening sockets reported." : "No agent reports on this host."));
}

function rangePicker(): HTMLElement {
  return h("div", { class: "ranges", role: "group", "aria-label": "Chart range" }, Object.keys(RANGES).map((r) =>
    h("button", { type: "button", class: "range", "data-range": r, "aria-pressed": r === page.range ? "true" : "false" }, r)));
}

async function drawCharts(): Promise<void> {
  const host = page.detail;
  if (!host) return;
  const to = Math.floor(Date.now() / 1000);
  const from = to - RANGES[page.range]!;
  const figures = [...byId("host-charts").querySelectorAll<ChartElement>("figure.chart")];
  const specs = chartSpecs(host);
  await Promise.all(figures.map((figure, i) => drawChart(figure, host.id, specs[i]!, from, to).catch((err: Error) => {
    figure.querySelector(".chart-plot")!.replaceChildren(h("p", { class: "notice notice-warn" }, `Could not load: ${err.message}`));
  })));
  window.clearTimeout(page.chartTimer);
  page.chartTimer = window.setTimeout(() => void drawCharts(), CHART_REFRESH_MS);
}

export function renderHost(): void {
  const root = byId("host-view");
  const host = page.detail;
  const title = byId("host-title");
  const meta = byId("host-meta");
  const error = page.error
    ? h("p", { class: "notice notice-warn" }, page.detail ? `Could not refresh: ${page.error.message}. Showing data from ${clockTime(page.detailAt)}.` : `Could not load host ${page.id}: ${page.error.message}.`)
    : null;
  if (!host) {
    title.textContent = page.error?.status === 404 ? "No such host" : "Host";
    meta.replaceChildren();
    byId("host-body").replaceChildren(error ?? h("p", { class: "muted" }, "Loading…"));
    return;
  }
  title.textContent = host.hostname || "(unnamed)";
  meta.replaceChildren(statusBadge(host.status), " ", muted(host.lastSeen ? `reported ${formatAge(host.ageSeconds)}` : host.proxmox ? "known from Proxmox" : host.network ? "polled over SNMP" : "not monitored"));
  // The charts keep their element across refreshes (no flicker, no lost zoom); the panels are rebuilt.
  const key = `${host.id}:${page.range}:${host.lastSeen !== null}:${host.checks.length > 0}`;
  if (page.chartsFor !== key) {
    page.chartsFor = key;
    const measured = host.agentId !== null || host.proxmox || host.network;
    byId("host-charts-head").replaceChildren(h("h3", { class: "panel-title" }, "History"), ...(measured ? [rangePicker(), muted("Drag across a chart to zoom, double-click to zoom out.")] : []));
    if (!measured) {
      // Nothing has ever measured it: say how to change that rather than draw empty charts.
      const place = state.placements.get(host.id);
      const install = `netmap agent install ${place?.reference ?? "HOST"}`;
      byId("host-charts").replaceChildren(
        h("p", { class: "notice" }, "No history: no agent reports for this host and no Proxmox cluster lists it. Install the agent with ", h("code", null, install), ", or adopt an agent that claims it (netmap adopt)."),
      );
    } else {
      byId("host-charts").replaceChildren(...chartSpecs(host).map(chartFigure));
      void drawCharts();
    }
  }
  const scroll = root.scrollTop;
  const panels = host.network && host.lastSeen === null
    ? devicePanels({ ...host, network: host.network })
    : [systemPanel(host), guestActionsPanel(host, renderHost), checksPanel(host), containersPanel(host), mountsTable(host), interfacesTable(host), listenersTable(host), sshAuthPanel(host)];
  const place = state.placements.get(host.id);
  const sessions = place ? sessionsPanel(place.reference, page.sessions) : null;
  byId("host-body").replaceChildren(...[error, containerPanel(host), wherePanel(host), sessions, alertsPanel(host), ...panels].filter((x) => x !== null));
  root.scrollTop = scroll;
}

export async function refreshHost(): Promise<void> {
  const id = page.id;
  if (id === null) return;
  try {
    const { host } = await getJson<{ host: HostDetail }>(`/api/v1/hosts/${id}`);
    if (page.id !== id) return;
    page.detail = host;
    page.detailAt = Date.now();
    page.error = null;
  } catch (err) {
    if (page.id !== id) return;
    page.error = err as ApiError;
    if (page.error.status === 404) page.detail = null;
  }
  const place = state.placements.get(id);
  // A container is reached through its host's engine, not by SSH: it has no route to ask for.
  if (place && place.host.kind !== "container" && !page.route && !page.routeError) {
    try {
      page.route = await getJson<RouteResponse>(`/api/v1/routes/${encodeURIComponent(place.reference)}`);
    } catch (err) {
      page.routeError = (err as Error).message;
    }
  }
  if (place) {
    // A viewer may not read recordings (403): the panel is left out rather than shown empty.
    page.sessions = await getJson<SessionsResponse>("/api/v1/sessions").then((b) => b.sessions, () => null);
  }
  if (page.id === id) renderHost();
}

export function openHost(id: number | null): void {
  if (page.id === id) return;
  Object.assign(page, { id, detail: null, error: null, route: null, routeError: null, sessions: null, chartsFor: null });
  window.clearTimeout(page.chartTimer);
  if (id === null) return;
  byId("host-charts").replaceChildren();
  byId("host-charts-head").replaceChildren();
  renderHost();
  void refreshHost();
}

export function startHost(): void {
  byId("host-charts-head").addEventListener("click", (event) => {
    const button = (event.target as Element).closest<HTMLElement>("button[data-range]");
    if (!button || !page.detail) return;
    page.range = button.dataset.range!;
    for (const b of byId("host-charts-head").querySelectorAll("button[data-range]")) b.setAttribute("aria-pressed", b === button ? "true" : "false");
    page.chartsFor = null;
    renderHost();
  });
  byId("host-body").addEventListener("click", (event) => {
    const button = (event.target as Element).closest<HTMLButtonElement>("button[data-container-action]");
    const hostId = Number(button?.closest<HTMLElement>("[data-host]")?.dataset.host);
    if (!button || !Number.isInteger(hostId)) return;
    for (const b of button.parentElement!.querySelectorAll("button")) b.disabled = true;
    void containerAction(hostId, button.dataset.containerAction!).then(refreshHost);
  });
  window.addEventListener("resize", () => resizeCharts(byId("host-charts")));
  byId("host-body").addEventListener("click", (event) => {
    const target = event.target as Element;
    const terminal = target.closest<HTMLElement>("button.open-terminal");
    if (terminal) openTerminal(terminal.dataset.host!);
    const replay = target.closest<HTMLElement>("button.replay");
    const session = replay && page.sessions?.find((s) => s.id === Number(replay.dataset.session));
    if (session) void replaySession(session);
  });
}
