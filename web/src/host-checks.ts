// The host page's panels of what the agent watches beyond the machine: its
// synthetic checks and the failed SSH authentications it counts. Shown only
// when the agent is configured for them (`checks:`, `auth_log:`).
import type { HostDetail } from "../../collector/src/http/api-types.ts";
import { h, muted, section, table } from "./dom.ts";
import { DASH, formatDuration, formatTimestamp, isNumber } from "./format.ts";

function certificate(days: number | undefined): HTMLElement | string {
  if (!isNumber(days)) return DASH;
  const text = days < 0 ? `expired ${Math.ceil(-days)} d ago` : `${Math.floor(days)} d left`;
  return h("span", { class: days <= 14 ? "level-warn" : null }, text);
}

export function checksPanel(host: HostDetail): HTMLElement | null {
  if (!host.checks.length) return null;
  const rows = host.checks.map((c) =>
    h("tr", null, h("th", { scope: "row", class: "mono" }, c.name), h("td", null, c.type), h("td", { class: "mono" }, c.target),
      h("td", null, c.success ? "ok" : h("strong", { class: "level-crit" }, "failing"), c.error ? muted(` · ${c.error}`) : null),
      h("td", { class: "num" }, isNumber(c.httpStatus) ? String(c.httpStatus) : DASH),
      h("td", { class: "num" }, isNumber(c.latencySeconds) ? `${Math.round(c.latencySeconds * 1000)} ms` : DASH),
      h("td", { class: "num" }, certificate(c.certificateDaysLeft)), h("td", null, formatTimestamp(c.checkedAt))));
  return section("Checks", table("Synthetic checks", [["Name"], ["Type"], ["Target"], ["Result"], ["HTTP", "num"], ["Latency", "num"], ["Certificate", "num"], ["Checked"]], rows, "No checks."));
}

export function sshAuthPanel(host: HostDetail): HTMLElement | null {
  const ssh = host.sshAuth;
  if (!ssh) return null;
  const rows = ssh.sources.map((s) => h("tr", null, h("th", { scope: "row", class: "mono" }, s.address), h("td", { class: "num" }, String(s.failures)), h("td", { class: "mono" }, s.lastUser)));
  const jails = ssh.fail2banJails.map((j) => h("tr", null, h("th", { scope: "row", class: "mono" }, j.name), h("td", { class: "num" }, String(j.currentlyFailed)),
    h("td", { class: "num" }, String(j.totalFailed)), h("td", { class: "num" }, String(j.currentlyBanned)), h("td", { class: "num" }, String(j.totalBanned))));
  return section(
    `Failed SSH logins (${ssh.failures} in ${formatDuration(ssh.windowSeconds)})`,
    table(`Sources of failed SSH authentications, from ${ssh.log}`, [["Source"], ["Failures", "num"], ["Last user tried"]], rows, `No failed SSH authentications in ${ssh.log}.`),
    ...(jails.length ? [table("fail2ban jails", [["Jail"], ["Failing now", "num"], ["Failed in total", "num"], ["Banned now", "num"], ["Banned in total", "num"]], jails, "")] : []),
  );
}
