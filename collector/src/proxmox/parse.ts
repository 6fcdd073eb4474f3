// Proxmox VE API responses → NetMap's inventory. Pure: every function takes the
// decoded `data` of one response (as recorded in test/fixtures/proxmox/) and
// tolerates the shapes seen in the field, documented beside each quirk.
import { ProxmoxError } from "./client.ts";

export type GuestType = "qemu" | "lxc";

export interface NodeResource {
  node: string;
  /** "online", "offline" or "unknown", as /nodes says. */
  status: string;
  figures: Figures;
}

export interface GuestResource {
  type: GuestType;
  vmid: number;
  name: string;
  node: string;
  /** running, stopped, paused, or unknown (a guest of an offline node). */
  status: string;
  template: boolean;
  tags: string[];
  figures: Figures;
  /** A lock the guest holds (backup, migrate, snapshot…), present only when locked. */
  lock?: string;
}

/** Figures as the API gives them; counters (net, disk IO) are totals since start. */
export interface Figures {
  /** Fraction of maxcpu in use, 0–1. */
  cpu: number | null;
  maxcpu: number | null;
  mem: number | null;
  maxmem: number | null;
  disk: number | null;
  maxdisk: number | null;
  netin: number | null;
  netout: number | null;
  diskread: number | null;
  diskwrite: number | null;
  uptime: number | null;
}

export interface StorageUsage {
  storage: string;
  type: string;
  total: number | null;
  used: number | null;
  avail: number | null;
  active: boolean;
  shared: boolean;
}

/** A network device from a guest's config (`netN`). */
export interface ConfiguredNic {
  /** The config key: net0, net10… */
  key: string;
  /** virtio, e1000, rtl8139… for QEMU; veth for LXC. */
  model: string | null;
  /** Lower case, colon separated; null when the entry has none. */
  mac: string | null;
  bridge: string | null;
  /** The name inside the guest (LXC `name=`), when the config states it. */
  name: string | null;
  /** Static addresses as CIDR (LXC ip=/ip6=, QEMU cloud-init ipconfigN). */
  addresses: string[];
  /** "dhcp", "manual", "auto" or "static" for IPv4 and IPv6, null when unset. */
  ipv4: string | null;
  ipv6: string | null;
}

/** An interface as the guest itself reports it (QEMU guest agent, LXC /interfaces). */
export interface ReportedNic {
  name: string;
  mac: string | null;
  /** CIDR, loopback and link-local left out. */
  addresses: string[];
}

/** A guest's interface as NetMap stores it: config and what the guest reports, joined by MAC. */
export interface GuestInterface {
  name: string;
  mac: string;
  addresses: string[];
}

export type AgentState = "ok" | "not-configured" | "not-running" | "unsupported" | "failed" | "not-asked";

const num = (value: unknown): number | null => {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) return Number(value);
  return null;
};

const str = (value: unknown): string | null => (typeof value === "string" ? value : typeof value === "number" ? String(value) : null);

function figures(item: Record<string, unknown>): Figures {
  return {
    cpu: num(item.cpu),
    maxcpu: num(item.maxcpu),
    mem: num(item.mem),
    maxmem: num(item.maxmem),
    disk: num(item.disk),
    maxdisk: num(item.maxdisk),
    netin: num(item.netin),
    netout: num(item.netout),
    diskread: num(item.diskread),
    diskwrite: num(item.diskwrite),
    uptime: num(item.uptime),
  };
}

function records(data: unknown, what: string): Record<string, unknown>[] {
  if (!Array.isArray(data)) throw new ProxmoxError("PROXMOX_BAD_RESPONSE", `${what}: expected a list, got ${data === null ? "null" : typeof data}`);
  return data.filter((item): item is Record<string, unknown> => typeof item === "object" && item !== null);
}

/** GET /nodes */
export function parseNodes(data: unknown): NodeResource[] {
  return records(data, "/nodes")
    .filter((n) => typeof n.node === "string" && n.node !== "")
    .map((n) => ({ node: n.node as string, status: str(n.status) ?? "unknown", figures: figures(n) }))
    .sort((a, b) => a.node.localeCompare(b.node));
}

/** GET /cluster/resources?type=vm — QEMU and LXC guests, templates flagged. */
export function parseGuestResources(data: unknown): GuestResource[] {
  const guests: GuestResource[] = [];
  for (const item of records(data, "/cluster/resources")) {
    const type = item.type;
    if (type !== "qemu" && type !== "lxc") continue;
    const vmid = guestId(item.vmid) ?? guestId(String(item.id ?? "").split("/")[1]);
    if (vmid === null || typeof item.node !== "string") continue;
    guests.push({
      type,
      vmid,
      // A guest without a name (possible for QEMU) is called as PVE's GUI calls it.
      name: str(item.name) || `${type === "qemu" ? "VM" : "CT"} ${vmid}`,
      node: item.node,
      status: str(item.status) ?? "unknown",
      // 1 or "1" in the field; absent on older versions for non-templates.
      template: num(item.template) === 1,
      tags: parseTags(item.tags),
      figures: figures(item),
      // `lock` is listed only while a guest holds one (backup, migrate, snapshot…).
      ...(str(item.lock) ? { lock: str(item.lock)! } : {}),
    });
  }
  return guests.sort((a, b) => a.vmid - b.vmid);
}

/** PVE's guest ids are 100 to 999,999,999; anything else cannot be a guest (or fit the integer column). */
function guestId(value: unknown): number | null {
  const id = num(value);
  return id !== null && Number.isInteger(id) && id >= 1 && id <= 999_999_999 ? id : null;
}

/** Tags come ";"-separated from /cluster/resources, and may be " " or "," separated in configs. */
export function parseTags(value: unknown): string[] {
  if (typeof value !== "string") return [];
  return [...new Set(value.split(/[;,\s]+/).map((t) => t.trim()).filter(Boolean))].sort();
}

/** GET /nodes/{node}/storage */
export function parseStorage(data: unknown): StorageUsage[] {
  return records(data, "storage")
    .filter((s) => typeof s.storage === "string")
    .map((s) => ({
      storage: s.storage as string,
      type: str(s.type) ?? "",
      total: num(s.total),
      used: num(s.used),
      avail: num(s.avail),
      active: num(s.active) !== 0,
      shared: num(s.shared) === 1,
    }))
    .sort((a, b) => a.storage.localeCompare(b.storage));
}

/** A storage that holds backups (`content` lists `backup`): vzdump directories, NFS, PBS datastores. */
export interface BackupStorage {
  storage: string;
  type: string;
  /** Shared storages (NFS, PBS…) list the same archives on every node: read once per cycle. */
  shared: boolean;
}

/** GET /nodes/{node}/storage, the storages with backup content that are enabled and active. */
export function parseBackupStorages(data: unknown): BackupStorage[] {
  return records(data, "storage")
    .filter((s) => typeof s.storage === "string" && (str(s.content) ?? "").split(",").includes("backup") && num(s.active) !== 0 && num(s.enabled) !== 0)
    .map((s) => ({ storage: s.storage as string, type: str(s.type) ?? "", shared: num(s.shared) === 1 }))
    .sort((a, b) => a.storage.localeCompare(b.storage));
}

/** One backup archive of a guest: a vzdump file, or a PBS snapshot (volid `store:backup/vm/100/2026-…Z`). */
export interface BackupArchive {
  vmid: number;
  storage: string;
  volid: string;
  at: Date;
  sizeBytes: number | null;
}

/** GET /nodes/{node}/storage/{storage}/content?content=backup */
export function parseBackupContent(data: unknown, storage: string): BackupArchive[] {
  return records(data, `storage ${storage} content`)
    .filter((c) => (c.content === undefined || c.content === "backup") && typeof c.volid === "string" && num(c.vmid) !== null && num(c.ctime) !== null)
    .map((c) => ({ vmid: num(c.vmid)!, storage, volid: c.volid as string, at: new Date(num(c.ctime)! * 1000), sizeBytes: num(c.size) }));
}

/** A node's latest finished backup job (vzdump task). */
export interface BackupTask {
  upid: string;
  /** PVE's status: "OK", "WARNINGS: n", or the error the job ended with. */
  status: string;
  failed: boolean;
  endedAt: Date | null;
  /** From the failed job's log: each guest it could not back up, and why. */
  failedGuests: Array<{ vmid: number; error: string }>;
}

/** GET /nodes/{node}/tasks?typefilter=vzdump&limit=1: the latest finished vzdump task, or null. */
export function parseLatestBackupTask(data: unknown): BackupTask | null {
  const task = records(data, "tasks")
    .filter((t) => t.type === "vzdump" && typeof t.upid === "string" && typeof t.status === "string" && t.status !== "")
    .sort((a, b) => (num(b.starttime) ?? 0) - (num(a.starttime) ?? 0))[0];
  if (!task) return null;
  const status = task.status as string;
  // "WARNINGS: 2": the archives were written; a guest the job could not back up is an error.
  return {
    upid: task.upid as string, status, failed: status !== "OK" && !/^WARNINGS: \d+$/.test(status),
    endedAt: num(task.endtime) === null ? null : new Date(num(task.endtime)! * 1000), failedGuests: [],
  };
}

/** GET /nodes/{node}/tasks/{upid}/log of a vzdump job: vzdump writes "ERROR: Backup of VM 101 failed - <why>" per guest it could not back up. */
export function parseBackupLogFailures(data: unknown): Array<{ vmid: number; error: string }> {
  const failed = new Map<number, string>();
  for (const line of records(data, "task log")) {
    const m = /^ERROR: Backup of VM (\d+) failed - (.*)$/.exec(str(line.t) ?? "");
    if (m && !failed.has(Number(m[1]))) failed.set(Number(m[1]), m[2]!.trim().slice(0, 300));
  }
  return [...failed].map(([vmid, error]) => ({ vmid, error })).sort((a, b) => a.vmid - b.vmid);
}

/** A node's addresses from its network configuration; `address` the one it is managed on. */
export interface NodeNetwork {
  /** The address of the interface with the default gateway (IPv4 first), else of the first one with an address; null when none. */
  address: string | null;
  /** Every configured address, without prefix, IPv4 first. */
  addresses: string[];
}

/**
 * GET /nodes/{node}/network: /etc/network/interfaces as PVE reads it, one entry per iface
 * with `cidr`/`address` (and `cidr6`/`address6`) and `gateway`/`gateway6` where configured.
 * Older PVE gives `address` + `netmask` without `cidr`. Pending changes are not applied yet.
 */
export function parseNodeNetwork(data: unknown): NodeNetwork {
  const ifaces = records(data, "network")
    .filter((i) => typeof i.iface === "string" && i.type !== "loopback" && !isLoopbackName(i.iface as string))
    .sort((a, b) => (num(a.priority) ?? Infinity) - (num(b.priority) ?? Infinity) || String(a.iface).localeCompare(String(b.iface)));
  const v4 = (i: Record<string, unknown>) => normalizeCidr(str(i.cidr) ?? str(i.address) ?? "");
  const v6 = (i: Record<string, unknown>) => normalizeCidr(str(i.cidr6) ?? str(i.address6) ?? "");
  const bare = (cidr: string | null) => (cidr && usefulAddress(cidr) ? cidr.split("/")[0]! : null);
  const all = ifaces.flatMap((i) => [bare(v4(i)), bare(v6(i))]).filter((a): a is string => a !== null);
  const addresses = [...new Set([...all.filter((a) => !a.includes(":")), ...all.filter((a) => a.includes(":"))])];
  const managed =
    ifaces.map((i) => (str(i.gateway) ? bare(v4(i)) : null)).find(Boolean) ??
    ifaces.map((i) => (str(i.gateway6) ? bare(v6(i)) : null)).find(Boolean) ??
    addresses[0] ??
    null;
  return { address: managed, addresses };
}

/** Splits a PVE property string `a=1,b=2,flag` into ordered pairs; a bare word has value null. */
export function parsePropertyString(value: string): Array<[string, string | null]> {
  return value
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part): [string, string | null] => {
      const eq = part.indexOf("=");
      return eq < 0 ? [part, null] : [part.slice(0, eq).trim(), part.slice(eq + 1).trim()];
    });
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

export function normalizeMac(value: string | null | undefined): string | null {
  if (!value) return null;
  const mac = value.trim().toLowerCase().replace(/-/g, ":");
  return MAC.test(mac) && mac !== "00:00:00:00:00:00" ? mac : null;
}

/** Keys of a QEMU net device that are options, not `model=MAC`. */
const QEMU_NET_OPTIONS = new Set(["bridge", "firewall", "link_down", "macaddr", "model", "mtu", "queues", "rate", "tag", "trunks"]);

/** The `netN` keys of a config, any N, in numeric order. */
function netKeys(config: Record<string, unknown>, prefix: string): Array<[number, string, string]> {
  const pattern = new RegExp(`^${prefix}(\\d+)$`);
  return Object.entries(config)
    .flatMap(([key, value]): Array<[number, string, string]> => {
      const match = pattern.exec(key);
      return match && typeof value === "string" ? [[Number(match[1]), key, value]] : [];
    })
    .sort((a, b) => a[0] - b[0]);
}

/**
 * GET /nodes/{node}/qemu/{vmid}/config: `netN: virtio=BC:24:11:AA:BB:CC,bridge=vmbr0,firewall=1`
 * (the model is the key of the MAC: e1000=…, rtl8139=…; the long form model=…,macaddr=… is
 * accepted too), with cloud-init `ipconfigN: ip=10.0.0.5/24,gw=…` as static addresses of netN.
 */
export function parseQemuNics(config: Record<string, unknown>): ConfiguredNic[] {
  const ipconfig = new Map(netKeys(config, "ipconfig").map(([n, , value]) => [n, parsePropertyString(value)]));
  return netKeys(config, "net").map(([n, key, value]) => {
    const pairs = parsePropertyString(value);
    const get = (k: string) => pairs.find(([name]) => name === k)?.[1] ?? null;
    let model = get("model");
    let mac = normalizeMac(get("macaddr"));
    if (!model) {
      const first = pairs.find(([name]) => !QEMU_NET_OPTIONS.has(name));
      if (first) {
        model = first[0];
        mac ??= normalizeMac(first[1]);
      }
    }
    const nic: ConfiguredNic = { key, model, mac, bridge: get("bridge"), name: null, addresses: [], ipv4: null, ipv6: null };
    const cloud = ipconfig.get(n);
    if (cloud) applyIpSettings(nic, Object.fromEntries(cloud));
    return nic;
  });
}

/** GET /nodes/{node}/lxc/{vmid}/config: `netN: name=eth0,bridge=vmbr0,hwaddr=BC:24:…,ip=10.0.0.5/24|dhcp|manual,gw=…` */
export function parseLxcNics(config: Record<string, unknown>): ConfiguredNic[] {
  return netKeys(config, "net").map(([, key, value]) => {
    const pairs = Object.fromEntries(parsePropertyString(value));
    const nic: ConfiguredNic = {
      key,
      model: pairs.type ?? "veth",
      mac: normalizeMac(pairs.hwaddr),
      bridge: pairs.bridge ?? null,
      name: pairs.name ?? null,
      addresses: [],
      ipv4: null,
      ipv6: null,
    };
    applyIpSettings(nic, pairs);
    return nic;
  });
}

function applyIpSettings(nic: ConfiguredNic, pairs: Record<string, string | null>): void {
  for (const [key, family] of [["ip", "ipv4"], ["ip6", "ipv6"]] as const) {
    const value = pairs[key];
    if (!value) continue;
    if (["dhcp", "manual", "auto"].includes(value)) {
      nic[family] = value;
    } else {
      nic[family] = "static";
      const cidr = normalizeCidr(value);
      if (cidr && usefulAddress(cidr)) nic.addresses.push(cidr);
    }
  }
}

/** Whether the config enables the QEMU guest agent: `agent: 1` or `agent: enabled=1,fstrim_cloned_disks=1`. */
export function qemuAgentEnabled(config: Record<string, unknown>): boolean {
  const value = str(config.agent);
  if (value === null) return false;
  const pairs = parsePropertyString(value);
  // The bare first value is the default key `enabled`.
  const enabled = pairs.find(([k]) => k === "enabled")?.[1] ?? (pairs[0]?.[1] === null ? pairs[0][0] : null);
  return enabled === "1" || enabled === "true" || enabled === "on" || enabled === "yes";
}

/** A template is recognised from the config too (`template: 1`). */
export function isTemplateConfig(config: Record<string, unknown>): boolean {
  return num(config.template) === 1;
}

/**
 * GET /nodes/{node}/qemu/{vmid}/agent/network-get-interfaces:
 * `{ result: [{ name, "hardware-address", "ip-addresses": [{ "ip-address", "ip-address-type", prefix }] }] }`.
 * Field quirks handled: `ip-addresses` as one object or an index-keyed object instead of a list,
 * `prefix` as a string, `result` missing (the bare list), missing hardware address.
 */
export function parseAgentInterfaces(data: unknown): ReportedNic[] {
  const result = Array.isArray(data) ? data : (data as { result?: unknown } | null)?.result;
  if (!Array.isArray(result)) throw new ProxmoxError("PROXMOX_BAD_RESPONSE", "network-get-interfaces: no result list");
  const nics: ReportedNic[] = [];
  for (const item of result) {
    if (typeof item !== "object" || item === null) continue;
    const name = str((item as Record<string, unknown>).name) ?? "";
    const mac = normalizeMac(str((item as Record<string, unknown>)["hardware-address"]));
    if (isLoopbackName(name) && mac === null) continue;
    const raw = (item as Record<string, unknown>)["ip-addresses"];
    const list = Array.isArray(raw) ? raw : raw && typeof raw === "object" ? ("ip-address" in raw ? [raw] : Object.values(raw)) : [];
    const addresses: string[] = [];
    for (const entry of list) {
      if (typeof entry !== "object" || entry === null) continue;
      const address = str((entry as Record<string, unknown>)["ip-address"]);
      const prefix = num((entry as Record<string, unknown>).prefix);
      if (!address) continue;
      const cidr = normalizeCidr(prefix === null ? address : `${address}/${prefix}`);
      if (cidr && usefulAddress(cidr)) addresses.push(cidr);
    }
    nics.push({ name, mac, addresses });
  }
  return nics;
}

/**
 * GET /nodes/{node}/lxc/{vmid}/interfaces (PVE ≥ 8.1): `[{ name, hwaddr, inet: "10.0.0.5/24", inet6: "…/64" }]`,
 * `null` when the container is stopped. Returns null for null.
 */
export function parseLxcInterfaces(data: unknown): ReportedNic[] | null {
  if (data === null || data === undefined) return null;
  return records(data, "lxc interfaces").flatMap((item) => {
    const name = str(item.name) ?? "";
    const mac = normalizeMac(str(item.hwaddr));
    if (isLoopbackName(name) && mac === null) return [];
    const addresses = [item.inet, item.inet6]
      .flatMap((value) => (typeof value === "string" ? value.split(/[\s,]+/) : Array.isArray(value) ? value.map(String) : []))
      .map((value) => normalizeCidr(value))
      .filter((cidr): cidr is string => cidr !== null && usefulAddress(cidr));
    return [{ name, mac, addresses }];
  });
}

const isLoopbackName = (name: string) => name === "lo" || name.startsWith("lo:") || name === "Loopback Pseudo-Interface 1";

/** `10.0.0.5/24`, `fe80::1%eth0/64` → canonical CIDR; a bare address gets /32 or /128. Null if not an address. */
export function normalizeCidr(value: string): string | null {
  const [rawAddress, rawPrefix, ...rest] = value.trim().split("/");
  if (!rawAddress || rest.length) return null;
  const address = rawAddress.replace(/%.*$/, "").toLowerCase();
  const v4 = /^\d{1,3}(\.\d{1,3}){3}$/.test(address) && address.split(".").every((o) => Number(o) <= 255);
  const v6 = !v4 && address.includes(":") && /^[0-9a-f:.]+$/.test(address);
  if (!v4 && !v6) return null;
  const max = v4 ? 32 : 128;
  const prefix = rawPrefix === undefined ? max : Number(rawPrefix);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) return null;
  return `${address}/${prefix}`;
}

/** Loopback and link-local addresses say nothing about where a guest is reachable; they are left out. */
export function usefulAddress(cidr: string): boolean {
  const address = cidr.split("/")[0]!;
  if (address.includes(":")) {
    if (address === "::1" || address === "::") return false;
    return !/^fe[89ab][0-9a-f]?:/.test(address);
  }
  return !address.startsWith("127.") && !address.startsWith("169.254.") && address !== "0.0.0.0";
}

/**
 * A guest's interfaces: one per configured NIC (MAC from the config), with the
 * addresses the guest reports for that MAC, else the config's static ones.
 * Reported interfaces with a MAC the config does not know (a bridge, a VPN inside
 * the guest) are kept when they carry addresses.
 */
export function guestInterfaces(configured: ConfiguredNic[], reported: ReportedNic[] | null): GuestInterface[] {
  const interfaces: GuestInterface[] = [];
  const used = new Set<ReportedNic>();
  for (const nic of configured) {
    if (!nic.mac) continue;
    const match = reported?.find((r) => r.mac === nic.mac && !used.has(r));
    if (match) used.add(match);
    const addresses = match && match.addresses.length ? match.addresses : nic.addresses;
    interfaces.push({ name: match?.name || nic.name || nic.key, mac: nic.mac, addresses: [...new Set(addresses)] });
  }
  for (const r of reported ?? []) {
    if (used.has(r) || !r.mac || !r.addresses.length) continue;
    interfaces.push({ name: r.name, mac: r.mac, addresses: r.addresses });
  }
  // Interface names are the key of host_interfaces: make them unique.
  const seen = new Map<string, number>();
  return interfaces.map((i) => {
    const n = seen.get(i.name) ?? 0;
    seen.set(i.name, n + 1);
    return n ? { ...i, name: `${i.name}#${n}` } : i;
  });
}

/** Addresses without prefix, IPv4 first, in interface order: what the map shows and SSH tries. */
export function guestAddresses(interfaces: GuestInterface[]): string[] {
  const all = interfaces.flatMap((i) => i.addresses.map((a) => a.split("/")[0]!));
  return [...new Set([...all.filter((a) => !a.includes(":")), ...all.filter((a) => a.includes(":"))])];
}

/**
 * What an error from a guest-agent call means. PVE answers HTTP 500 with the reason
 * in the status line (and, from 8.x, a "message" in the body): these two are
 * ordinary states of a guest, not failures.
 */
export function agentStateFromError(message: string): AgentState | undefined {
  if (/no qemu guest agent configured/i.test(message)) return "not-configured";
  if (/guest agent is not running/i.test(message)) return "not-running";
  return undefined;
}
