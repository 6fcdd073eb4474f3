// One discovery cycle of one cluster: nodes → guests → each guest's config and
// addresses. The result says what is known for sure and what is not: a part
// that failed is marked stale (its last known state is kept by the store), and
// the listing is "complete" only when nothing can have hidden a guest.
import type { ProxmoxClient } from "./client.ts";
import { discoverBackups, type BackupCoverage } from "./backups.ts";
import { discoverHealth, type ClusterHealth } from "./health.ts";
import { parseSnapshots } from "./guest-actions.ts";
import { ProxmoxError } from "./client.ts";
import {
  agentStateFromError,
  guestInterfaces,
  isTemplateConfig,
  parseAgentInterfaces,
  parseGuestResources,
  parseLxcInterfaces,
  parseLxcNics,
  parseBackupStorages,
  parseNodeNetwork,
  parseNodes,
  parseQemuNics,
  parseStorage,
  qemuAgentEnabled,
  type AgentState,
  type BackupStorage,
  type BackupTask,
  type Figures,
  type GuestInterface,
  type GuestType,
  type NodeNetwork,
  type StorageUsage,
} from "./parse.ts";

export interface DiscoveredNode {
  node: string;
  /** As /nodes says: online, offline, unknown. */
  status: string;
  /** Why this node's facts and its guests are the last known ones, or null. */
  staleReason: string | null;
  figures: Figures;
  storage: StorageUsage[] | null;
  /** Its addresses from /nodes/{node}/network; null when not learnt this cycle (the store keeps the last ones). */
  network: NodeNetwork | null;
  /** Its latest finished backup job; null: none; undefined: not learnt this cycle. */
  backupTask?: BackupTask | null;
}

export interface DiscoveredGuest {
  type: GuestType;
  vmid: number;
  name: string;
  node: string;
  status: string;
  tags: string[];
  figures: Figures;
  /** Null when not learnt this cycle: the store keeps the last known ones. */
  interfaces: GuestInterface[] | null;
  agent: AgentState;
  staleReason: string | null;
  /** The lock /cluster/resources lists (backup, migrate…), present only when locked. */
  lock?: string;
  /** Its oldest snapshot; null: none; absent: not learnt this cycle. */
  oldestSnapshot?: { name: string; takenAt: Date } | null;
}

export interface Failure {
  what: string;
  code: string;
  message: string;
}

export interface Inventory {
  cluster: string;
  at: Date;
  /** /nodes and /cluster/resources both answered: the guest list is known. */
  listed: boolean;
  /**
   * The listing may mark guests gone: it answered, is not empty, and every node
   * answered. A guest missing from a complete listing is gone; from any other, it is kept.
   */
  complete: boolean;
  nodes: DiscoveredNode[];
  guests: DiscoveredGuest[];
  /** Templates are recognised and listed here, not treated as machines. */
  templates: Array<{ type: GuestType; vmid: number; name: string; node: string }>;
  /** Backup archives per guest; null when the listing failed. */
  backups: BackupCoverage | null;
  /** ZFS, replication, HA and Ceph; null when the listing failed. */
  health: ClusterHealth | null;
  failures: Failure[];
  calls: number;
  durationMs: number;
}

/** What a client learns about its cluster across cycles. */
export interface DiscoveryMemory {
  /** False once a node answered 501 for /lxc/{vmid}/interfaces (PVE before 8.1). */
  lxcInterfaces?: boolean;
}

export const failure = (what: string, error: unknown): Failure => ({
  what,
  code: error instanceof ProxmoxError ? error.code : "ERROR",
  message: (error as Error).message,
});

export async function discover(client: ProxmoxClient, cluster: string, memory: DiscoveryMemory = {}, now = () => new Date()): Promise<Inventory> {
  const started = performance.now();
  const callsBefore = client.calls;
  const inventory: Inventory = { cluster, at: now(), listed: false, complete: false, nodes: [], guests: [], templates: [], backups: null, health: null, failures: [], calls: 0, durationMs: 0 };
  const finish = () => {
    inventory.calls = client.calls - callsBefore;
    inventory.durationMs = Math.round(performance.now() - started);
    return inventory;
  };

  let nodes, resources;
  try {
    [nodes, resources] = await Promise.all([client.get("nodes").then(parseNodes), client.get("cluster/resources?type=vm").then(parseGuestResources)]);
  } catch (error) {
    inventory.failures.push(failure("listing", error));
    return finish();
  }
  inventory.listed = true;

  // Each online node first answers for its storage; a node that cannot (595,
  // timeout) is out for this cycle and its guests keep their last known state.
  const backupStorages = new Map<string, BackupStorage[]>();
  inventory.nodes = await Promise.all(
    nodes.map(async (n): Promise<DiscoveredNode> => {
      const node: DiscoveredNode = { node: n.node, status: n.status, staleReason: null, figures: n.figures, storage: null, network: null };
      if (n.status !== "online") {
        node.staleReason = `node is ${n.status}`;
        return node;
      }
      try {
        const storage = await client.get(`nodes/${encodeURIComponent(n.node)}/storage`);
        node.storage = parseStorage(storage);
        backupStorages.set(n.node, parseBackupStorages(storage));
      } catch (error) {
        inventory.failures.push(failure(`node ${n.node}`, error));
        node.staleReason = (error as Error).message;
        return node;
      }
      // Its addresses (Sys.Audit on /nodes/{node}): a failure leaves the last known ones, the node is fresh.
      try {
        node.network = parseNodeNetwork(await client.get(`nodes/${encodeURIComponent(n.node)}/network`));
      } catch (error) {
        inventory.failures.push(failure(`node ${n.node} network`, error));
      }
      return node;
    }),
  );
  const nodeState = new Map(inventory.nodes.map((n) => [n.node, n]));
  const health = discoverHealth(client, inventory.nodes, inventory.failures, failure);
  const backups = discoverBackups(client, inventory.nodes, backupStorages, inventory.failures, failure);

  const machines = resources.filter((g) => {
    if (g.template) inventory.templates.push({ type: g.type, vmid: g.vmid, name: g.name, node: g.node });
    return !g.template;
  });
  inventory.guests = await Promise.all(
    machines.map(async (g): Promise<DiscoveredGuest> => {
      const guest: DiscoveredGuest = {
        type: g.type, vmid: g.vmid, name: g.name, node: g.node, status: g.status, tags: g.tags, figures: g.figures,
        interfaces: null, agent: "not-asked", staleReason: null, ...(g.lock ? { lock: g.lock } : {}),
      };
      const node = nodeState.get(g.node);
      if (!node || node.staleReason !== null) {
        guest.staleReason = node ? `node ${g.node}: ${node.staleReason}` : `node ${g.node} is not listed`;
        return guest;
      }
      await describeGuest(client, guest, memory, inventory.failures, (template) => {
        if (template) inventory.templates.push({ type: g.type, vmid: g.vmid, name: g.name, node: g.node });
      });
      return guest;
    }),
  );
  inventory.backups = await backups;
  inventory.health = await health;
  // A guest whose config says template (listing raced a conversion) is not a machine either.
  const templates = new Set(inventory.templates.map((t) => t.vmid));
  inventory.guests = inventory.guests.filter((g) => !templates.has(g.vmid));

  // An empty listing is what a token without VM.Audit sees: never proof that every guest is gone.
  const everyNodeAnswered = inventory.nodes.every((n) => n.staleReason === null);
  inventory.complete = everyNodeAnswered && resources.length > 0;
  if (resources.length === 0) {
    inventory.failures.push({ what: "listing", code: "PROXMOX_EMPTY_LISTING", message: "/cluster/resources listed no guest (no guests, or the token lacks VM.Audit); nothing is marked gone" });
  }
  return finish();
}

async function describeGuest(
  client: ProxmoxClient,
  guest: DiscoveredGuest,
  memory: DiscoveryMemory,
  failures: Failure[],
  onTemplate: (template: boolean) => void,
): Promise<void> {
  const base = `nodes/${encodeURIComponent(guest.node)}/${guest.type}/${guest.vmid}`;
  const what = `${guest.type} ${guest.vmid} (${guest.name})`;
  let config: Record<string, unknown>;
  try {
    const data = await client.get(`${base}/config`);
    if (typeof data !== "object" || data === null) throw new ProxmoxError("PROXMOX_BAD_RESPONSE", `GET /api2/json/${base}/config: data is not an object`);
    config = data as Record<string, unknown>;
  } catch (error) {
    failures.push(failure(what, error));
    guest.staleReason = (error as Error).message;
    return;
  }
  if (isTemplateConfig(config)) return onTemplate(true);
  // `parent` in the config names the snapshot the guest runs on: only a guest with one has snapshots to list.
  if (typeof config.parent !== "string") guest.oldestSnapshot = null;
  else {
    try {
      const oldest = parseSnapshots(await client.get(`${base}/snapshot`)).find((s) => s.takenAt !== null);
      guest.oldestSnapshot = oldest ? { name: oldest.name, takenAt: new Date(oldest.takenAt!) } : null;
    } catch (error) {
      failures.push(failure(`${what} snapshots`, error));
    }
  }
  const configured = guest.type === "qemu" ? parseQemuNics(config) : parseLxcNics(config);
  const running = guest.status === "running";

  if (guest.type === "qemu") {
    if (!running) {
      guest.agent = "not-asked";
    } else if (!qemuAgentEnabled(config)) {
      guest.agent = "not-configured";
    } else {
      try {
        const reported = parseAgentInterfaces(await client.get(`${base}/agent/network-get-interfaces`));
        guest.agent = "ok";
        guest.interfaces = guestInterfaces(configured, reported);
        return;
      } catch (error) {
        const state = agentStateFromError((error as Error).message);
        if (state === undefined) {
          failures.push(failure(`${what} guest agent`, error));
          guest.agent = "failed";
          guest.staleReason = (error as Error).message;
          return;
        }
        guest.agent = state;
      }
    }
    guest.interfaces = guestInterfaces(configured, null);
    return;
  }

  // LXC: /interfaces from PVE 8.1 while running (null when stopped); static ip= otherwise.
  if (running && memory.lxcInterfaces !== false) {
    try {
      const reported = parseLxcInterfaces(await client.get(`${base}/interfaces`));
      guest.agent = reported ? "ok" : "not-running";
      guest.interfaces = guestInterfaces(configured, reported);
      memory.lxcInterfaces = true;
      return;
    } catch (error) {
      if (error instanceof ProxmoxError && error.status === 501) {
        memory.lxcInterfaces = false;
        guest.agent = "unsupported";
      } else {
        failures.push(failure(`${what} interfaces`, error));
        guest.agent = "failed";
        guest.staleReason = (error as Error).message;
        return;
      }
    }
  }
  guest.interfaces = guestInterfaces(configured, null);
}
