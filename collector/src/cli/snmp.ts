// `netmap snmp walk TARGET`: one poll of one device as the poller would make it, with the
// credentials of the `snmp:` entry whose targets cover TARGET (or --entry NAME), printed as
// tables or JSON. Runs here, not in the collector: it needs the config file and the network.
import { loadCollectorConfig } from "../config.ts";
import { UsageError } from "../errors.ts";
import { pollDevice } from "../snmp/poll.ts";
import type { DeviceSnapshot } from "../snmp/parse.ts";
import { targetsCover } from "../snmp/targets.ts";
import { defaultOut, formatTable, parseCommandLine, type Out } from "./command-line.ts";

export const SNMP_COMMANDS = ["snmp"] as const;

export const SNMP_USAGE = `  snmp walk TARGET [--config F] [--entry NAME] [--json]
                                    poll one device as the SNMP poller would (the snmp: entry whose
                                    targets cover TARGET, or --entry NAME) and print what it answers`;

export async function runSnmpCommand(args: string[], out: Out = defaultOut, env: Record<string, string | undefined> = process.env): Promise<number> {
  const { values, positionals } = parseCommandLine("snmp", args, { config: { type: "string" }, entry: { type: "string" }, json: { type: "boolean" } });
  const [sub, target, ...extra] = positionals;
  if (sub !== "walk" || !target || extra.length) throw new UsageError("usage: netmap snmp walk TARGET [--config F] [--entry NAME] [--json]");
  const config = loadCollectorConfig({ configFlag: values.config, env });
  const entry = values.entry !== undefined ? config.snmp.find((e) => e.name === values.entry) : config.snmp.find((e) => targetsCover(e.targets, target));
  if (!entry) {
    const names = config.snmp.map((e) => e.name).join(", ") || "none";
    throw new UsageError(values.entry !== undefined ? `netmap snmp walk: no snmp: entry named ${JSON.stringify(values.entry)} (configured: ${names})` : `netmap snmp walk: no snmp: entry's targets cover ${JSON.stringify(target)} (configured: ${names}); give --entry NAME`);
  }
  const poll = await pollDevice(entry, target);
  if (!poll.ok) {
    out.stderr(`netmap: ${poll.error.message}\n`);
    return 1;
  }
  if (values.json) out.stdout(`${JSON.stringify({ address: target, entry: entry.name, durationMs: Math.round(poll.durationMs), ...poll.snapshot }, (_, v) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`);
  else out.stdout(formatSnapshot(target, poll.snapshot, poll.durationMs));
  return 0;
}

export function formatSnapshot(address: string, s: DeviceSnapshot, durationMs: number): string {
  const dash = (v: unknown) => (v === null || v === undefined || v === "" ? "-" : String(v));
  const speed = (bps: number | null) => (bps === null ? "-" : bps >= 1e9 ? `${bps / 1e9}G` : bps >= 1e6 ? `${bps / 1e6}M` : String(bps));
  const sections = [
    formatTable([
      ["DEVICE", "NAME", "UPTIME", "OBJECT ID", "CHASSIS", "POLL", "DESCRIPTION"],
      [address, dash(s.system.name), s.system.uptimeSeconds === null ? "-" : `${Math.round(s.system.uptimeSeconds)}s`, dash(s.system.objectId), dash(s.system.chassisId), `${Math.round(durationMs)} ms`, s.system.descr],
    ]),
    formatTable([
      ["IFINDEX", "NAME", "ADMIN", "OPER", "SPEED", "MAC", "IN OCTETS", "OUT OCTETS", "IN ERR", "OUT ERR", "ALIAS"],
      ...s.interfaces.map((i) => [
        String(i.index), i.name, i.adminUp === null ? "-" : i.adminUp ? "up" : "down", dash(i.oper), speed(i.speedBps), dash(i.mac),
        i.inOctets ? `${i.inOctets.value} (${i.inOctets.bits}-bit)` : "-", i.outOctets ? String(i.outOctets.value) : "-",
        i.inErrors ? String(i.inErrors.value) : "-", i.outErrors ? String(i.outErrors.value) : "-", dash(i.alias),
      ]),
    ]),
    formatTable([["LOCAL PORT", "NEIGHBOUR", "CHASSIS", "PORT"], ...s.neighbours.map((n) => [n.localPort, dash(n.sysName), n.chassisId, n.portDescr || n.portId])]),
    formatTable([["IFINDEX", "ADDRESS", "MAC"], ...s.arp.map((a) => [String(a.ifIndex), a.address, a.mac])]),
  ];
  return sections.join("\n");
}
