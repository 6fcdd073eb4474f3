// The host page's containers panel: what the agent last read from Docker or Podman
// (`containers:` in agent.yaml), shown only when the host reports any; and a container's own
// panel, with its actions.
import type { HostDetail } from "../../collector/src/http/api-types.ts";
import { sendJson } from "./api.ts";
import { copyButton, facts, h, muted, section, table } from "./dom.ts";
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

/** The last action's answer on this page, per container host. */
let outcome: { hostId: number; text: string; failed: boolean } | null = null;

/**
 * A container's own page (a host of kind container): what its host's agent last listed, and
 * start / stop / restart, which the collector carries out over SSH through the host's chain
 * (POST /api/v1/hosts/:id/container/:action, operator role). Logs: the CLI command to copy.
 */
export function containerPanel(host: HostDetail): HTMLElement | null {
  const c = host.container;
  if (!c) return null;
  const reference = `${c.parent.name}/${c.name}`;
  const logs = `netmap container logs ${reference} --lines 100 --follow`;
  const labels = Object.entries(c.labels);
  const gone = c.goneAt !== null;
  return section(
    "Container",
    facts([
      ["Runs on", h("a", { href: `#host=${c.parent.id}` }, c.parent.name)],
      ["Name", c.name, "mono"],
      ["Image", c.image, "mono"],
      ["State", gone ? `gone since ${formatTimestamp(c.goneAt!)} (last ${c.state})` : c.state],
      ["Health", c.health || null],
      ["Started", c.startedAt ? formatTimestamp(c.startedAt) : null],
      ["Engine", `${c.engine} · ${c.containerId.slice(0, 12)}`, "mono"],
      ["Compose", c.compose ? `project ${c.compose.project}${c.compose.service ? `, service ${c.compose.service}` : ""}` : null],
      ["Networks", c.networks.length ? c.networks.map((n) => h("div", { class: "mono" }, `${n.name}: ${n.address || DASH} ${n.mac}`)) : "none"],
      ["Ports", c.ports.length ? c.ports.map((p) => h("div", { class: "mono" }, p)) : "none published"],
      ["Labels", labels.length ? labels.map(([k, v]) => h("span", { class: "tag" }, `${k}=${v}`)) : "none"],
      c.stale ? ["Stale", c.staleReason] : null,
    ]),
    h("div", { class: "container-actions", "data-host": String(host.id) },
      ...(["start", "stop", "restart"] as const).map((action) => h("button", { type: "button", "data-container-action": action, disabled: gone }, action[0]!.toUpperCase() + action.slice(1))),
      " ", muted("carried out by the collector over SSH through the host's chain (operator role)")),
    outcome?.hostId === host.id ? h("p", { class: outcome.failed ? "notice notice-error" : "notice", role: "status" }, outcome.text) : null,
    h("p", null, "Logs: ", h("code", { class: "ssh-command" }, logs), " ", copyButton(logs)),
  );
}

/** Start, stop or restart the container of host hostId; the answer is shown on its panel. */
export async function containerAction(hostId: number, action: string): Promise<void> {
  try {
    // The collector gives the engine 60 s (containers/actions.ts); a little more here.
    const { result } = await sendJson<{ result: { container: string; action: string } }>("POST", `/api/v1/hosts/${hostId}/container/${encodeURIComponent(action)}`, undefined, 70_000);
    outcome = { hostId, text: `${result.action}: done (${result.container})`, failed: false };
  } catch (err) {
    outcome = { hostId, text: `${action} failed: ${(err as Error).message}`, failed: true };
  }
}
