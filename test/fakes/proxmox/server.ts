// A stand-in Proxmox VE 8.x API over HTTPS, built from the documented responses
// (API viewer, pve-manager) and the shapes seen in the field. It serves
// /api2/json/... as pveproxy does: `{ "data": … }`, the reason of an error in
// the HTTP status line, 595 for a node pveproxy cannot reach, API-token auth.
// Its state is plain data a test changes between cycles.
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fakeGuestActions, guestAction, snapshotList, taskCall, type FakeGuestActions } from "./guest-actions.ts";

export interface FakeNode {
  node: string;
  status?: "online" | "offline";
  /** pveproxy cannot reach it: every call for it answers 595, though /nodes may still call it online. */
  unreachable?: boolean;
  /** Added to every call for this node. */
  delayMs?: number;
  cpu?: number;
  maxcpu?: number;
  mem?: number;
  maxmem?: number;
  disk?: number;
  maxdisk?: number;
  uptime?: number;
  storage?: Array<{ storage: string; type: string; total: number; used: number; avail?: number; shared?: 0 | 1; active?: 0 | 1; content?: string }>;
  /** /network entries as PVE lists /etc/network/interfaces (iface, type, cidr, gateway…); default: one NIC, no address. */
  network?: Array<Record<string, unknown>>;
  /** The token lacks Sys.Audit on /nodes/{node}: /network answers 403. */
  networkForbidden?: boolean;
  /** ZFS pools: zpool's health, and the "errors:" line of zpool status (default "No known data errors"). */
  zfs?: Array<{ name: string; health: string; errors?: string }>;
  /** Replication jobs this node is the source of, as /nodes/{node}/replication lists them. */
  replication?: Array<{ id: string; guest: number; target: string; last_sync?: number; fail_count?: number; error?: string }>;
  /** Finished backup jobs, as /tasks?typefilter=vzdump lists them (status "OK", "WARNINGS: 1" or the error). */
  vzdump?: Array<{ starttime: number; endtime: number; status: string; log?: string[] }>;
}

/** A backup archive: of a shared storage (NFS, PBS) when `node` is absent, else of that node's local storage. */
export interface FakeBackup {
  storage: string;
  node?: string;
  vmid: number;
  /** Unix seconds. */
  ctime: number;
  size: number;
  subtype?: "qemu" | "lxc";
}

export interface FakeGuest {
  type: "qemu" | "lxc";
  vmid: number;
  name: string;
  node: string;
  status: "running" | "stopped" | "paused";
  template?: boolean;
  /** A lock the guest holds (backup, migrate…): /cluster/resources lists it as `lock`. */
  lock?: string;
  /** ";"-separated, as /cluster/resources gives them. */
  tags?: string;
  /** The config as /config returns it (netN, ipconfigN, agent…). */
  config: Record<string, string | number>;
  /**
   * QEMU: the `data` of agent/network-get-interfaces, or { error } for PVE's 500 answers.
   * LXC: the `data` of /interfaces (null when stopped is automatic).
   */
  agent?: unknown;
  figures?: Partial<Record<"cpu" | "maxcpu" | "mem" | "maxmem" | "disk" | "maxdisk" | "netin" | "netout" | "diskread" | "diskwrite" | "uptime", number>>;
}

export interface FakeProxmoxState {
  nodes: FakeNode[];
  guests: FakeGuest[];
  /** Paths (after /api2/json) that answer an HTML page instead of JSON, with this status. */
  html: Map<string, number>;
  /** Delay added to every call, in ms (the benchmark's network). */
  latencyMs: number;
  /** PVE before 8.1: /lxc/{vmid}/interfaces does not exist (501). */
  noLxcInterfaces: boolean;
  /** The token sees no guest (no VM.Audit): /cluster/resources lists none. */
  hideGuests: boolean;
  /** Guest actions: the token's privileges, tasks (UPIDs), snapshots, workers that fail. */
  actions: FakeGuestActions;
  /** Backup archives in the backup storages. */
  backups: FakeBackup[];
  /** /cluster/ha/status/current; default: quorate, no HA resource. */
  ha: Array<Record<string, unknown>> | null;
  /** /cluster/ceph/status's data; null: Ceph not set up (PVE's 500). */
  ceph: Record<string, unknown> | null;
}

export interface FakeProxmox {
  url: string;
  /** SHA-256 of the certificate, "AB:CD:…". */
  fingerprint: string;
  tokenId: string;
  secret: string;
  state: FakeProxmoxState;
  /** Every call: "GET /api2/json/…". */
  calls: string[];
  close(): Promise<void>;
}

export function selfSignedCertificate(): { key: string; cert: string; fingerprint: string } {
  const dir = mkdtempSync(join(tmpdir(), "netmap-pve-cert-"));
  try {
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=pve", "-days", "1",
      "-addext", "subjectAltName=DNS:pve,IP:127.0.0.1", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
    ], { stdio: "ignore" });
    const key = readFileSync(join(dir, "key.pem"), "utf8");
    const cert = readFileSync(join(dir, "cert.pem"), "utf8");
    return { key, cert, fingerprint: new X509Certificate(cert).fingerprint256 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const HTML_PAGE = `<!DOCTYPE html>
<html><head><title>502 Bad Gateway</title></head>
<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>
`;

export async function startFakeProxmox(options: {
  tokenId?: string;
  secret?: string;
  nodes: FakeNode[];
  guests: FakeGuest[];
  latencyMs?: number;
  certificate?: { key: string; cert: string; fingerprint: string };
}): Promise<FakeProxmox> {
  const tokenId = options.tokenId ?? "monitor@pve!netmap";
  const secret = options.secret ?? "0b7c6f4e-1d3a-4c2b-9e8f-5a6b7c8d9e0f";
  const certificate = options.certificate ?? selfSignedCertificate();
  const state: FakeProxmoxState = { nodes: options.nodes, guests: options.guests, html: new Map(), latencyMs: options.latencyMs ?? 0, noLxcInterfaces: false, hideGuests: false, actions: fakeGuestActions(), backups: [], ha: null, ceph: null };
  const calls: string[] = [];

  const server: Server = createServer({ key: certificate.key, cert: certificate.cert }, (req, res) => {
    void handle(req, res).catch(() => reply(res, 500, "internal error", { data: null }));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "https://pve");
    calls.push(`${req.method} ${url.pathname}${url.search}`);
    if (state.latencyMs) await sleep(state.latencyMs);
    if (req.headers.authorization !== `PVEAPIToken=${tokenId}=${secret}`) {
      // pveproxy's own answer: the reason in the status line, an empty body.
      return reply(res, 401, req.headers.authorization?.startsWith(`PVEAPIToken=${tokenId}=`) ? "invalid token value!" : "no ticket", "");
    }
    if (!url.pathname.startsWith("/api2/json/")) return reply(res, 501, `Method '${req.method} ${url.pathname}' not implemented`, "");
    const path = url.pathname.slice("/api2/json".length);
    const htmlStatus = state.html.get(path);
    if (htmlStatus !== undefined) {
      res.writeHead(htmlStatus, { "Content-Type": "text/html; charset=utf-8" });
      res.end(HTML_PAGE);
      return;
    }
    if (req.method !== "GET" && !(/^\/nodes\//.test(path) && (req.method === "POST" || req.method === "DELETE"))) {
      return reply(res, 501, `Method '${req.method} ${path}' not implemented`, { data: null });
    }

    if (path === "/version") return ok(res, { version: "8.2.4", release: "8.2", repoid: "faa83925c9641325" });
    if (path === "/nodes") return ok(res, state.nodes.map(nodeListEntry));
    if (path === "/cluster/resources") {
      const type = url.searchParams.get("type");
      const vms = state.hideGuests ? [] : state.guests.map(resourceEntry);
      const nodes = state.nodes.map((n) => ({ ...nodeListEntry(n), id: `node/${n.node}`, type: "node" }));
      return ok(res, type === "vm" ? vms : type === "node" ? nodes : [...nodes, ...vms]);
    }

    if (path === "/cluster/ha/status/current") {
      return ok(res, state.ha ?? [{ id: "quorum", type: "quorum", node: state.nodes[0]?.node, status: "OK", quorate: 1 }]);
    }
    if (path === "/cluster/ceph/status") {
      if (!state.ceph) return pveError(res, 500, "pveceph configuration not initialized");
      return ok(res, state.ceph);
    }

    const nodeMatch = /^\/nodes\/([^/]+)(\/.*)?$/.exec(path);
    if (nodeMatch) {
      const node = state.nodes.find((n) => n.node === decodeURIComponent(nodeMatch[1]!));
      if (!node) return reply(res, 500, `hostname lookup '${nodeMatch[1]}' failed - failed to get address info for: ${nodeMatch[1]}: Name or service not known`, { data: null });
      if (node.unreachable || node.status === "offline") return reply(res, 595, "Errors during connection establishment, proxy handshake: No route to host", "");
      if (node.delayMs) await sleep(node.delayMs);
      return nodeCall(res, node, nodeMatch[2] ?? "", req.method ?? "GET", req.method === "GET" ? url.searchParams : new URLSearchParams(await readBody(req)));
    }
    return reply(res, 501, `Method 'GET ${path}' not implemented`, { data: null });
  }

  function nodeCall(res: ServerResponse, node: FakeNode, rest: string, method: string, params: URLSearchParams): void {
    const jobs = (node.vzdump ?? []).map((j, i) => {
      const upid = `UPID:${node.node}:${(0x3000 + i).toString(16).toUpperCase().padStart(8, "0")}:0000ABCD:${j.starttime.toString(16).toUpperCase().padStart(8, "0")}:vzdump::root@pam:`;
      return { upid, node: node.node, pid: 0x3000 + i, pstart: 0xabcd, starttime: j.starttime, endtime: j.endtime, type: "vzdump", id: "", user: "root@pam", status: j.status, log: j.log };
    });
    if (rest === "/tasks" && method === "GET") {
      const type = params.get("typefilter");
      const limit = Number(params.get("limit") ?? 50);
      return ok(res, jobs.filter((j) => !type || j.type === type).sort((a, b) => b.starttime - a.starttime).slice(0, limit).map(({ log: _log, ...j }) => j));
    }
    const jobLog = /^\/tasks\/([^/]+)\/log$/.exec(rest);
    const job = jobLog && jobs.find((j) => j.upid === decodeURIComponent(jobLog[1]!));
    if (job && method === "GET") {
      const lines = [`INFO: starting new backup job: vzdump --all 1 --mode snapshot --storage pbs-main`, ...(job.log ?? []), job.status === "OK" ? "INFO: Backup job finished successfully" : `TASK ERROR: ${job.status}`];
      return ok(res, lines.map((t, i) => ({ n: i + 1, t })));
    }
    const task = method === "GET" ? taskCall(state.actions, node.node, rest) : undefined;
    if (task) return reply(res, task.status, task.reason, { data: task.data ?? null });
    if (rest === "/status") {
      return ok(res, {
        cpu: node.cpu ?? 0.05, uptime: node.uptime ?? 86400,
        memory: { total: node.maxmem ?? 68719476736, used: node.mem ?? 8589934592, free: (node.maxmem ?? 68719476736) - (node.mem ?? 8589934592) },
        cpuinfo: { cpus: node.maxcpu ?? 16, sockets: 1, model: "AMD EPYC 7302P 16-Core Processor" },
        pveversion: "pve-manager/8.2.4/faa83925c9641325",
      });
    }
    const content = /^\/storage\/([^/]+)\/content$/.exec(rest);
    if (content && method === "GET") {
      const name = decodeURIComponent(content[1]!);
      const storage = node.storage?.find((s) => s.storage === name);
      if (!storage) return reply(res, 500, `storage '${name}' does not exist`, { data: null });
      const wanted = params.get("content");
      if (wanted && wanted !== "backup") return ok(res, []);
      return ok(res, state.backups.filter((b) => b.storage === name && (storage.shared ? b.node === undefined : b.node === node.node)).map((b) => backupEntry(b, storage.type)));
    }

    if (rest === "/disks/zfs") {
      return ok(res, (node.zfs ?? []).map((p) => ({ name: p.name, health: p.health, size: 1999844147200, alloc: 400000000000, free: 1599844147200, frag: 3, dedup: 1 })));
    }
    const zpool = /^\/disks\/zfs\/([^/]+)$/.exec(rest);
    if (zpool) {
      const pool = node.zfs?.find((p) => p.name === decodeURIComponent(zpool[1]!));
      if (!pool) return pveError(res, 500, `cannot open '${zpool[1]}': no such pool`);
      return ok(res, { name: pool.name, state: pool.health, errors: pool.errors ?? "No known data errors", scan: "scrub repaired 0B in 00:12:01 with 0 errors", children: [] });
    }
    if (rest === "/replication") {
      return ok(res, (node.replication ?? []).map((j) => ({
        id: j.id, guest: j.guest, target: j.target, type: "local", jobnum: Number(j.id.split("-")[1] ?? 0), source: node.node, schedule: "*/15",
        last_sync: j.last_sync ?? 0, last_try: j.last_sync ?? 0, fail_count: j.fail_count ?? 0, duration: 2.5, next_sync: (j.last_sync ?? 0) + 900, ...(j.error && { error: j.error }),
      })));
    }
    if (rest === "/network") {
      if (node.networkForbidden) return reply(res, 403, `Permission check failed (/nodes/${node.node}, Sys.Audit)`, { data: null });
      return ok(res, node.network ?? [{ iface: "eno1", type: "eth", method: "manual", families: ["inet"], active: 1, exists: 1, autostart: 0, priority: 3 }]);
    }
    if (rest === "/storage") {
      return ok(res, (node.storage ?? []).map((s) => ({
        storage: s.storage, type: s.type, content: s.content ?? "images,rootdir", active: s.active ?? 1, enabled: 1, shared: s.shared ?? 0,
        total: s.total, used: s.used, avail: s.avail ?? s.total - s.used, used_fraction: s.total ? s.used / s.total : 0,
      })));
    }
    const guestMatch = /^\/(qemu|lxc)\/(\d+)(\/.*)$/.exec(rest);
    if (!guestMatch) return reply(res, 501, `Method 'GET /nodes/${node.node}${rest}' not implemented`, { data: null });
    const [, type, id, call] = guestMatch;
    const guest = state.guests.find((g) => g.type === type && g.vmid === Number(id) && g.node === node.node);
    if (!guest) {
      const file = type === "qemu" ? `qemu-server/${id}.conf` : `lxc/${id}.conf`;
      return reply(res, 500, `Configuration file 'nodes/${node.node}/${file}' does not exist`, { data: null });
    }
    if (method !== "GET") {
      const answer = guestAction(state.actions, guest, method, call!, params, tokenId);
      if (!answer) return reply(res, 501, `Method '${method} /nodes/${node.node}${rest}' not implemented`, { data: null });
      return reply(res, answer.status, answer.reason, { data: answer.status === 200 ? answer.data : null, ...(answer.status === 400 && { errors: answer.data }) });
    }
    if (call === "/snapshot") return ok(res, snapshotList(state.actions, guest));
    if (call === "/config") {
      // `parent`: the snapshot the guest runs on, as PVE writes it once a snapshot exists.
      const taken = state.actions.snapshots.get(guest.vmid) ?? [];
      return ok(res, { digest: "9d8c2a1b0e7f6a5d4c3b2a1f0e9d8c7b6a5f4e3d", ...guest.config, ...(guest.template ? { template: 1 } : {}), ...(taken.length && { parent: taken.at(-1)!.name }) });
    }
    if (call === "/status/current") return ok(res, { ...resourceEntry(guest), qmpstatus: guest.status });
    if (type === "qemu" && call === "/agent/network-get-interfaces") {
      const agentOn = /^(1|enabled=1)/.test(String(guest.config.agent ?? ""));
      if (!agentOn) return pveError(res, 500, "No QEMU guest agent configured");
      if (guest.status !== "running") return pveError(res, 500, `VM ${guest.vmid} is not running`);
      const agent = guest.agent as { error?: string } | undefined;
      if (agent === undefined || agent.error) return pveError(res, 500, agent?.error ?? "QEMU guest agent is not running");
      return ok(res, agent);
    }
    if (type === "lxc" && call === "/interfaces") {
      if (state.noLxcInterfaces) return reply(res, 501, `Method 'GET /nodes/${node.node}/lxc/${guest.vmid}/interfaces' not implemented`, { data: null });
      return ok(res, guest.status === "running" ? (guest.agent ?? null) : null);
    }
    return reply(res, 501, `Method 'GET /nodes/${node.node}${rest}' not implemented`, { data: null });
  }

  /** As PVE lists a backup: vzdump's file name, or PBS's snapshot path, with vmid, ctime and size. */
  function backupEntry(b: FakeBackup, storageType: string) {
    const kind = b.subtype ?? (state.guests.find((g) => g.vmid === b.vmid)?.type ?? "qemu");
    const when = new Date(b.ctime * 1000).toISOString().replace(/\.\d+Z$/, "Z");
    if (storageType === "pbs") {
      return { volid: `${b.storage}:backup/${kind === "qemu" ? "vm" : "ct"}/${b.vmid}/${when}`, content: "backup", format: `pbs-${kind === "qemu" ? "vm" : "ct"}`, ctime: b.ctime, size: b.size, vmid: b.vmid, subtype: kind, verification: { state: "ok", upid: "UPID:pbs:0000:0000:0000:verify::root@pam:" } };
    }
    const stamp = when.replace(/[-:]/g, "_").replace("T", "-").replace("Z", "");
    const file = `vzdump-${kind}-${b.vmid}-${stamp}.${kind === "qemu" ? "vma.zst" : "tar.zst"}`;
    return { volid: `${b.storage}:backup/${file}`, content: "backup", format: kind === "qemu" ? "vma.zst" : "tar.zst", ctime: b.ctime, size: b.size, vmid: b.vmid, subtype: kind, notes: `{{guestname}}` };
  }

  function nodeListEntry(n: FakeNode) {
    const online = (n.status ?? "online") === "online";
    return {
      node: n.node, status: n.status ?? "online", type: "node", id: `node/${n.node}`, level: "",
      ssl_fingerprint: certificate.fingerprint,
      ...(online
        ? { cpu: n.cpu ?? 0.05, maxcpu: n.maxcpu ?? 16, mem: n.mem ?? 8589934592, maxmem: n.maxmem ?? 68719476736, disk: n.disk ?? 10737418240, maxdisk: n.maxdisk ?? 100861726720, uptime: n.uptime ?? 86400 }
        : {}),
    };
  }

  function resourceEntry(g: FakeGuest) {
    const node = state.nodes.find((n) => n.node === g.node);
    const reachable = node && !node.unreachable && (node.status ?? "online") === "online";
    const f = g.figures ?? {};
    const running = g.status === "running";
    return {
      id: `${g.type}/${g.vmid}`, type: g.type, vmid: g.vmid, name: g.name, node: g.node,
      // pmxcfs still knows the guests of a node it cannot reach; their status is unknown.
      status: reachable ? g.status : "unknown",
      template: g.template ? 1 : 0,
      ...(g.tags ? { tags: g.tags } : {}),
      ...(g.lock ? { lock: g.lock } : {}),
      cpu: running ? (f.cpu ?? 0.02) : 0, maxcpu: f.maxcpu ?? 2, mem: running ? (f.mem ?? 536870912) : 0, maxmem: f.maxmem ?? 2147483648,
      disk: f.disk ?? 0, maxdisk: f.maxdisk ?? 34359738368, netin: running ? (f.netin ?? 1000) : 0, netout: running ? (f.netout ?? 2000) : 0,
      diskread: running ? (f.diskread ?? 0) : 0, diskwrite: running ? (f.diskwrite ?? 0) : 0, uptime: running ? (f.uptime ?? 3600) : 0,
      hastate: undefined,
    };
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    fingerprint: certificate.fingerprint,
    tokenId,
    secret,
    state,
    calls,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function ok(res: ServerResponse, data: unknown): void {
  reply(res, 200, "OK", { data });
}

/** PVE's answer to an error raised in an API method: status line and body both say it. */
function pveError(res: ServerResponse, status: number, message: string): void {
  reply(res, status, message, { data: null, message: `${message}\n` });
}

function reply(res: ServerResponse, status: number, reason: string, body: unknown): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, reason.replace(/[^\x20-\x7e]/g, " "), {
    "Content-Type": "application/json;charset=UTF-8",
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "max-age=0",
    Server: "pve-api-daemon/3.0",
  });
  res.end(text);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
