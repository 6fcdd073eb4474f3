// The console's entry: which view the address shows (#view=hosts|alerts|map, #host=<id>),
// and the refresh loop that feeds them (hosts and alerts every 5 s, the topology every 30 s,
// the hosts' sparklines every minute: they move a point a minute).
import type { AlertsResponse, HostsResponse, SparklinesResponse, TopologyResponse } from "../../collector/src/http/api-types.ts";
import { refreshAlertExtras, renderAlerts, startAlerts } from "./alerts.ts";
import { getJson, type ApiError } from "./api.ts";
import { needsToken, startAuth } from "./auth.ts";
import { byId } from "./dom.ts";
import { parseHostHash, parseViewHash, type View } from "./format.ts";
import { openHost, refreshHost, renderHost, startHost } from "./host.ts";
import { renderHosts, startHosts } from "./hosts.ts";
import { loadMap, mapAvailable, paintMap, startMap } from "./map.ts";
import { startTerminal } from "./terminal.ts";
import { changed, clockTime, onChange, setTopology, state } from "./state.ts";

const REFRESH_MS = 5000;
const TOPOLOGY_MS = 30_000;
const SPARKLINES_MS = 60_000;
let view: View | "host" = "hosts";
let timer = 0;
let topologyAt = 0;
let sparklinesAt = 0;
let mapShown = false;

function route(): void {
  const host = parseHostHash(location.hash);
  view = host !== null ? "host" : (parseViewHash(location.hash) ?? (view === "host" ? "hosts" : view));
  if (view === "map" && !mapShown) view = "hosts";
  openHost(host);
  for (const tab of document.querySelectorAll<HTMLElement>(".view-tab")) {
    const selected = tab.dataset.view === view;
    tab.setAttribute("aria-selected", selected ? "true" : "false");
    tab.tabIndex = selected || (view === "host" && tab.dataset.view === "hosts") ? 0 : -1;
  }
  for (const name of ["hosts", "alerts", "map", "host"]) byId(`${name}-view`).hidden = view !== name;
  byId("tab-map").hidden = !mapShown;
  document.body.dataset.view = view;
  if (view === "map") void loadMap();
  if (view === "alerts") void refreshAlertExtras().then(renderAlerts);
  changed();
}

function renderHeader(): void {
  const conn = byId("conn");
  conn.hidden = !state.hostsError;
  conn.textContent = state.hostsError ? `API ${state.hostsError.status === 0 ? "unreachable" : `error ${state.hostsError.status}`}: ${state.hostsError.message}` : "";
  byId("refreshed").textContent = state.hostsAt ? `Updated ${clockTime(state.hostsAt)}` : state.hostsError ? "no data yet" : "Loading…";
}

async function refresh(): Promise<void> {
  if (needsToken()) return;
  window.clearTimeout(timer);
  const topology = Date.now() - topologyAt > TOPOLOGY_MS;
  // Not awaited with the rest: the list shows without its sparklines rather than wait for them.
  if (view === "hosts" && Date.now() - sparklinesAt > SPARKLINES_MS) {
    sparklinesAt = Date.now();
    void getJson<SparklinesResponse>("/api/v1/hosts/sparklines").then((b) => ((state.sparklines = b), changed()), () => (sparklinesAt = 0));
  }
  await Promise.all([
    getJson<HostsResponse>("/api/v1/hosts").then((b) => ((state.hosts = b.hosts), (state.hostsAt = Date.now()), (state.hostsError = null)), (e: ApiError) => (state.hostsError = e)),
    getJson<AlertsResponse>("/api/v1/alerts").then((b) => ((state.alerts = b.alerts), (state.alertsAt = Date.now()), (state.alertsError = null)), (e: ApiError) => (state.alertsError = e)),
    topology
      ? getJson<TopologyResponse>("/api/v1/topology").then((b) => ((topologyAt = Date.now()), setTopology(b.topology)), (e: ApiError) => e.status === 404 && setTopology(null))
      : null,
    view === "host" ? refreshHost() : null,
    view === "alerts" ? refreshAlertExtras() : null,
  ]);
  if (topology && view === "map") void loadMap(true);
  changed();
  if (!needsToken()) timer = window.setTimeout(() => void refresh(), REFRESH_MS);
}

function start(): void {
  onChange(() => {
    renderHeader();
    renderHosts();
    renderAlerts();
    if (view === "map") paintMap();
    if (view === "host" && !state.hostsError) renderHost();
  });
  startHosts();
  startHost();
  startAlerts(refresh);
  startMap();
  startTerminal();
  const tabs = byId("views");
  tabs.addEventListener("click", (event) => {
    const tab = (event.target as Element).closest<HTMLElement>(".view-tab");
    if (tab) location.hash = `view=${tab.dataset.view}`;
  });
  tabs.addEventListener("keydown", (event) => {
    if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
    event.preventDefault();
    const shown = [...tabs.querySelectorAll<HTMLElement>(".view-tab:not([hidden])")];
    const at = Math.max(0, shown.findIndex((t) => t.getAttribute("aria-selected") === "true"));
    const next = shown[(at + (event.key === "ArrowRight" ? 1 : shown.length - 1)) % shown.length]!;
    location.hash = `view=${next.dataset.view}`;
    next.focus();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && view === "host" && !(event.target as Element).closest?.("input, dialog")) history.back();
  });
  window.addEventListener("hashchange", route);
  document.addEventListener("visibilitychange", () => document.visibilityState === "visible" && void refresh());
  // The token first: it takes "#token=…" out of the address before the views read it.
  startAuth(() => {
    route();
    void refresh();
    void mapAvailable().then((available) => {
      mapShown = available;
      route();
    });
  });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
