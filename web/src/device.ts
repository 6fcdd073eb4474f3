// The host page of a network device (a host the SNMP poller knows): the device as it answers,
// its interfaces with state, speed and rates, its LLDP and ARP neighbours, and the charts of
// its interfaces' traffic, errors and time up.
import type { HostDetail, NetworkDeviceDetail } from "../../collector/src/http/api-types.ts";
import type { ChartSpec } from "./charts.ts";
import { facts, h, muted, section, table } from "./dom.ts";
import { DASH, formatDuration, formatLinkSpeed, formatRate, formatTimestamp, isNumber } from "./format.ts";

export function deviceChartSpecs(): ChartSpec[] {
  return [
    { id: "if-rx", title: "Interfaces: received", unit: "bytes_per_second", metrics: [{ metric: "interface_receive_bytes_per_second", label: "" }] },
    { id: "if-tx", title: "Interfaces: sent", unit: "bytes_per_second", metrics: [{ metric: "interface_transmit_bytes_per_second", label: "" }] },
    { id: "if-errors", title: "Interfaces: errors per second", unit: "1", metrics: [{ metric: "interface_errors_per_second", label: "" }] },
    { id: "if-up", title: "Interfaces: time up", unit: "ratio", metrics: [{ metric: "interface_up_ratio", label: "" }] },
  ];
}

const bits = (bps: number | null) => (isNumber(bps) ? formatRate(bps / 8) : DASH);

export function devicePanels(host: HostDetail & { network: NetworkDeviceDetail }): HTMLElement[] {
  const d = host.network;
  const device = section(
    "Network device (SNMP)",
    facts([
      ["Name", d.sysName],
      ["Description", d.sysDescr || null],
      ["Polled", d.polledAt ? `${formatTimestamp(d.polledAt)}${isNumber(d.pollMs) ? ` in ${Math.round(d.pollMs)} ms` : ""} · ${d.entry} / ${d.address}` : null, "mono"],
      ["Answers", d.reachable ? "yes" : `no: ${d.error ?? "no answer"}`],
      ["Uptime (agent)", isNumber(d.uptimeSeconds) ? formatDuration(d.uptimeSeconds) : null],
      ["Object id", d.sysObjectId, "mono"],
      ["Chassis id", d.chassisId, "mono"],
    ]),
  );
  const interfaces = d.interfaces.map((i) =>
    h("tr", { class: i.adminUp === false ? "is-virtual" : null },
      h("th", { scope: "row", class: "mono" }, i.name, i.alias ? muted(` ${i.alias}`) : null),
      h("td", null, i.adminUp === false ? "shut" : (i.oper ?? DASH)),
      h("td", { class: "num" }, formatLinkSpeed(isNumber(i.speedBps) ? i.speedBps / 1e6 : null)),
      h("td", { class: "num" }, bits(i.inBitsPerSecond)), h("td", { class: "num" }, bits(i.outBitsPerSecond)),
      h("td", { class: "num" }, isNumber(i.inErrorsPerSecond) || isNumber(i.outErrorsPerSecond) ? ((i.inErrorsPerSecond ?? 0) + (i.outErrorsPerSecond ?? 0)).toFixed(2) : DASH),
      h("td", { class: "mono" }, i.mac ?? DASH)));
  const neighbours = d.neighbours.map((n) =>
    h("tr", null, h("th", { scope: "row", class: "mono" }, n.localPort), h("td", null, n.kind.toUpperCase()),
      h("td", null, n.hostId !== null ? h("a", { href: `#host=${n.hostId}` }, n.name || n.address || n.mac || "host") : (n.name || muted("not in NetMap"))),
      h("td", { class: "mono" }, n.port ?? n.address ?? DASH), h("td", { class: "mono" }, n.mac ?? DASH)));
  return [
    device,
    section("Device interfaces", table("Interfaces of the device", [["Name"], ["State"], ["Speed", "num"], ["In", "num"], ["Out", "num"], ["Errors/s", "num"], ["MAC"]], interfaces, "The device lists no interfaces.")),
    section("Neighbours", table("LLDP neighbours and ARP entries", [["Local port"], ["Seen by"], ["Neighbour"], ["Its port / address"], ["MAC"]], neighbours, "No LLDP neighbour or ARP entry.")),
  ];
}
