// The host page's containers panel: what the agent last read from Docker or Podman
// (`containers:` in agent.yaml). Shown only when the host reports any.
import type { HostDetail } from "../../collector/src/http/api-types.ts";
import { h, muted, section, table } from "./dom.ts";
import { DASH, formatBytes, formatPercent, formatTimestamp, isNumber } from "./format.ts";

export function containersPanel(host: HostDetail): HTMLElement | null {
  if (!host.containers.length) return null;
  const order = (state: string) => (state === "running" ? 1 : 0);
  const rows = [...host.containers].sort((a, b) => order(a.state) - order(b.state) || a.name.localeCompare(b.name)).map((c) =>
    h("tr", null, h("th", { scope: "row", class: "mono" }, c.name), h("td", { class: "mono" }, c.image),
      h("td", { class: c.state === "running" ? null : "level-crit" }, c.state, isNumber(c.exitCode) ? muted(` (${c.exitCode})`) : null),
      h("td", { class: c.health === "unhealthy" ? "level-warn" : null }, c.health || DASH),
      h("td", { class: "num" }, String(c.restartCount)), h("td", null, c.startedAt ? formatTimestamp(c.startedAt) : DASH),
      h("td", { class: "mono" }, c.ports.length ? c.ports.map((p) => h("div", null, p)) : DASH),
      h("td", { class: "num" }, isNumber(c.cpuPercent) ? formatPercent(c.cpuPercent) : DASH),
      h("td", { class: "num" }, isNumber(c.memoryUsedBytes) ? `${formatBytes(c.memoryUsedBytes)}${isNumber(c.memoryLimitBytes) ? ` / ${formatBytes(c.memoryLimitBytes)}` : ""}` : DASH)));
  const engines = [...new Set(host.containers.map((c) => c.engine))].join(", ");
  return section(`Containers (${host.containers.length}, ${engines})`,
    table("Containers", [["Name"], ["Image"], ["State"], ["Health"], ["Restarts", "num"], ["Started"], ["Ports"], ["CPU", "num"], ["Memory", "num"]], rows, "No containers."));
}
