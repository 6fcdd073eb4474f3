// A device's answers (raw varbinds, untrusted) into its state: the system group, interfaces
// from IF-MIB's ifTable and ifXTable, LLDP neighbours and the ARP table. Pure: tests feed it
// recorded varbinds. A value of the wrong type is ignored, text loses its control characters
// and is cut at 255 characters, so nothing a device says reaches a sink unbounded or raw
// (docs/security.md).
import { isIP } from "node:net";
import type { RawVarbind } from "./session.ts";

export const OID = {
  sysDescr: "1.3.6.1.2.1.1.1.0",
  sysObjectID: "1.3.6.1.2.1.1.2.0",
  sysUpTime: "1.3.6.1.2.1.1.3.0",
  sysName: "1.3.6.1.2.1.1.5.0",
  ifEntry: "1.3.6.1.2.1.2.2.1",
  ifXEntry: "1.3.6.1.2.1.31.1.1.1",
  lldpLocChassisIdSubtype: "1.0.8802.1.1.2.1.3.1.0",
  lldpLocChassisId: "1.0.8802.1.1.2.1.3.2.0",
  lldpLocPortEntry: "1.0.8802.1.1.2.1.3.7.1",
  lldpRemEntry: "1.0.8802.1.1.2.1.4.1.1",
  ipNetToMediaEntry: "1.3.6.1.2.1.4.22.1",
} as const;

/** The tables a poll walks, in order. */
export const WALKED = [OID.ifEntry, OID.ifXEntry, OID.lldpLocPortEntry, OID.lldpRemEntry, OID.ipNetToMediaEntry] as const;
export const SCALARS = [OID.sysDescr, OID.sysObjectID, OID.sysUpTime, OID.sysName, OID.lldpLocChassisIdSubtype, OID.lldpLocChassisId] as const;

// ASN.1 / SMI tags as net-snmp reports them.
const T = { Integer: 2, OctetString: 4, OID: 6, IpAddress: 64, Counter32: 65, Gauge32: 66, TimeTicks: 67, Counter64: 70 } as const;

export type OperStatus = "up" | "down" | "testing" | "unknown" | "dormant" | "notPresent" | "lowerLayerDown";
const OPER: Record<number, OperStatus> = { 1: "up", 2: "down", 3: "testing", 4: "unknown", 5: "dormant", 6: "notPresent", 7: "lowerLayerDown" };

export interface DeviceSystem {
  name: string | null;
  descr: string;
  objectId: string | null;
  /** sysUpTime in seconds (TimeTicks are hundredths). */
  uptimeSeconds: number | null;
  /** The device's own LLDP chassis id, as neighbours report it. */
  chassisId: string | null;
}

export interface Counter {
  value: bigint;
  bits: 32 | 64;
}

export interface DeviceInterface {
  index: number;
  name: string;
  descr: string;
  alias: string;
  type: number | null;
  mac: string | null;
  adminUp: boolean | null;
  oper: OperStatus | null;
  /** Bits per second: ifHighSpeed × 10⁶ where the device has it, else ifSpeed. */
  speedBps: number | null;
  inOctets: Counter | null;
  outOctets: Counter | null;
  inErrors: Counter | null;
  outErrors: Counter | null;
  inDiscards: Counter | null;
  outDiscards: Counter | null;
}

export interface LldpNeighbour {
  /** The local interface the neighbour was heard on (ifIndex), when the device's port numbering maps to one. */
  localIfIndex: number | null;
  localPort: string;
  chassisId: string;
  portId: string;
  portDescr: string;
  sysName: string;
}

export interface ArpEntry {
  ifIndex: number;
  address: string;
  mac: string;
}

export interface DeviceSnapshot {
  system: DeviceSystem;
  interfaces: DeviceInterface[];
  neighbours: LldpNeighbour[];
  arp: ArpEntry[];
}

const MAX_TEXT = 255;

/** Text a device sent, safe for any sink's escaper: control characters become spaces, at most 255 characters. */
export function deviceText(value: unknown): string | null {
  if (!Buffer.isBuffer(value) && typeof value !== "string") return null;
  const text = Buffer.isBuffer(value) ? value.toString("utf8") : value;
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\ud800-\udfff]/g, " ").trim().slice(0, MAX_TEXT);
}

function mac(value: unknown): string | null {
  if (!Buffer.isBuffer(value) || value.length !== 6) return null;
  return [...value].map((b) => b.toString(16).padStart(2, "0")).join(":");
}

function integer(v: RawVarbind | undefined, ...types: number[]): number | null {
  if (!v || !types.includes(v.type) || typeof v.value !== "number" || !Number.isFinite(v.value)) return null;
  return v.value;
}

/** A Counter32 (a number) or Counter64 (net-snmp gives its big-endian bytes). */
export function counter(v: RawVarbind | undefined): Counter | null {
  if (!v) return null;
  if (v.type === T.Counter32 && typeof v.value === "number" && v.value >= 0 && v.value < 2 ** 32) return { value: BigInt(v.value), bits: 32 };
  if (v.type === T.Counter64 && Buffer.isBuffer(v.value) && v.value.length >= 1 && v.value.length <= 9) {
    const value = BigInt(`0x${v.value.toString("hex")}`);
    return value < 2n ** 64n ? { value, bits: 64 } : null;
  }
  return null;
}

/** Rows of a table: index (the OID after entry.column.) → column → varbind. */
function rows(varbinds: readonly RawVarbind[], entry: string): Map<string, Map<number, RawVarbind>> {
  const out = new Map<string, Map<number, RawVarbind>>();
  const prefix = `${entry}.`;
  for (const v of varbinds) {
    if (!v.oid.startsWith(prefix)) continue;
    const rest = v.oid.slice(prefix.length);
    const dot = rest.indexOf(".");
    if (dot <= 0) continue;
    const column = Number(rest.slice(0, dot));
    const index = rest.slice(dot + 1);
    if (!Number.isInteger(column) || !/^\d+(\.\d+)*$/.test(index)) continue;
    let row = out.get(index);
    if (!row) out.set(index, (row = new Map()));
    row.set(column, v);
  }
  return out;
}

function parseSystem(scalars: readonly RawVarbind[]): DeviceSystem {
  const by = new Map(scalars.map((v) => [v.oid, v]));
  const text = (oid: string) => {
    const v = by.get(oid);
    return v?.type === T.OctetString ? deviceText(v.value) : null;
  };
  const objectId = by.get(OID.sysObjectID);
  const uptime = integer(by.get(OID.sysUpTime), T.TimeTicks);
  const name = text(OID.sysName);
  return {
    name: name || null,
    descr: text(OID.sysDescr) ?? "",
    objectId: objectId?.type === T.OID && typeof objectId.value === "string" && /^\d+(\.\d+)*$/.test(objectId.value) ? objectId.value.slice(0, MAX_TEXT) : null,
    uptimeSeconds: uptime === null ? null : uptime / 100,
    chassisId: lldpId(integer(by.get(OID.lldpLocChassisIdSubtype), T.Integer), by.get(OID.lldpLocChassisId)?.value, "chassis"),
  };
}

/** An LLDP chassis or port id as text: a MAC (chassis subtype 4, port subtype 3) in colon form, else the text. */
function lldpId(subtype: number | null, value: unknown, kind: "chassis" | "port"): string | null {
  if ((kind === "chassis" && subtype === 4) || (kind === "port" && subtype === 3)) return mac(value);
  return deviceText(value);
}

function parseInterfaces(varbinds: readonly RawVarbind[]): DeviceInterface[] {
  const ifRows = rows(varbinds, OID.ifEntry);
  const xRows = rows(varbinds, OID.ifXEntry);
  const out: DeviceInterface[] = [];
  for (const [index, row] of ifRows) {
    const ifIndex = Number(index);
    if (!Number.isSafeInteger(ifIndex) || ifIndex < 1 || ifIndex > 2 ** 31 - 1) continue;
    const x = xRows.get(index) ?? new Map<number, RawVarbind>();
    const admin = integer(row.get(7), T.Integer);
    const oper = integer(row.get(8), T.Integer);
    const highSpeed = integer(x.get(15), T.Gauge32);
    const speed = integer(row.get(5), T.Gauge32);
    const descr = deviceText(row.get(2)?.value) ?? "";
    // The 64-bit counters where the device has them: a 32-bit octet counter wraps in 3.4 s at 10 Gbit/s.
    const hc = (column: number) => counter(x.get(column));
    out.push({
      index: ifIndex,
      name: deviceText(x.get(1)?.value) || descr || `if${ifIndex}`,
      descr,
      alias: deviceText(x.get(18)?.value) ?? "",
      type: integer(row.get(3), T.Integer),
      mac: mac(row.get(6)?.value),
      adminUp: admin === 1 ? true : admin === 2 ? false : null,
      oper: oper === null ? null : (OPER[oper] ?? null),
      speedBps: highSpeed !== null && highSpeed > 0 ? highSpeed * 1e6 : speed,
      inOctets: hc(6) ?? counter(row.get(10)),
      outOctets: hc(10) ?? counter(row.get(16)),
      inErrors: counter(row.get(14)),
      outErrors: counter(row.get(20)),
      inDiscards: counter(row.get(13)),
      outDiscards: counter(row.get(19)),
    });
  }
  return out.sort((a, b) => a.index - b.index);
}

function parseNeighbours(varbinds: readonly RawVarbind[], interfaces: readonly DeviceInterface[]): LldpNeighbour[] {
  const byName = new Map(interfaces.map((i) => [i.name, i.index]));
  const byMac = new Map(interfaces.filter((i) => i.mac).map((i) => [i.mac!, i.index]));
  const nameOf = new Map(interfaces.map((i) => [i.index, i.name]));
  // lldpLocPortNum → the local port's id: a name (subtype 5/7), a MAC (subtype 3: lldpd), or else the number is the ifIndex.
  const localPorts = new Map<number, string>();
  for (const [index, row] of rows(varbinds, OID.lldpLocPortEntry)) {
    const id = lldpId(integer(row.get(2), T.Integer), row.get(3)?.value, "port");
    if (id) localPorts.set(Number(index), id);
  }
  const out: LldpNeighbour[] = [];
  // lldpRemEntry index: timeMark.localPortNum.remIndex
  for (const [index, row] of rows(varbinds, OID.lldpRemEntry)) {
    const parts = index.split(".");
    if (parts.length !== 3) continue;
    const portNum = Number(parts[1]);
    const chassisId = lldpId(integer(row.get(4), T.Integer), row.get(5)?.value, "chassis");
    const remotePort = lldpId(integer(row.get(6), T.Integer), row.get(7)?.value, "port");
    if (!chassisId || !remotePort) continue;
    const portId = localPorts.get(portNum);
    const localIfIndex = (portId !== undefined ? (byName.get(portId) ?? byMac.get(portId)) : undefined) ?? (nameOf.has(portNum) ? portNum : null);
    const localPort = localIfIndex !== null ? nameOf.get(localIfIndex)! : (portId ?? String(portNum));
    out.push({ localIfIndex, localPort, chassisId, portId: remotePort, portDescr: deviceText(row.get(8)?.value) ?? "", sysName: deviceText(row.get(9)?.value) ?? "" });
  }
  return out;
}

function parseArp(varbinds: readonly RawVarbind[]): ArpEntry[] {
  const out: ArpEntry[] = [];
  // ipNetToMediaEntry index: ifIndex.a.b.c.d; type 2 is an invalidated entry.
  for (const [index, row] of rows(varbinds, OID.ipNetToMediaEntry)) {
    const parts = index.split(".");
    if (parts.length !== 5 || integer(row.get(4), T.Integer) === 2) continue;
    const address = parts.slice(1).join(".");
    const physical = mac(row.get(2)?.value);
    if (isIP(address) !== 4 || !physical || physical === "00:00:00:00:00:00") continue;
    out.push({ ifIndex: Number(parts[0]), address, mac: physical });
  }
  return out;
}

/** The state of a device from the scalars it answered and the tables it walked. */
export function parseDevice(scalars: readonly RawVarbind[], tables: readonly RawVarbind[]): DeviceSnapshot {
  const interfaces = parseInterfaces(tables);
  return { system: parseSystem(scalars), interfaces, neighbours: parseNeighbours(tables, interfaces), arp: parseArp(tables) };
}
