// Guest actions: what a person asks of a Proxmox guest (start, shutdown, snapshot…) sent to
// PVE as the call its own GUI makes, the task (UPID) PVE answers with stored, and followed
// to its end: GET /api/v1/tasks/:id asks PVE for the task's status while it runs, and keeps
// the exitstatus once it stopped. HTTP (http/guests.ts) and gRPC (grpc/service.ts) call this.
import type { Db } from "../db/database.ts";
import { BadRequestError, NetMapError, NotFoundError } from "../errors.ts";
import type { GuestAction, GuestSnapshot, GuestTask } from "../http/api-types.ts";
import { GUEST_ACTIONS } from "../http/api-types.ts";
import { clusterClient, ProxmoxError, type ProxmoxClient } from "./client.ts";
import type { ProxmoxClusterConfig } from "./config.ts";

/** The host is not a guest an action can be sent to (not Proxmox's, gone, its cluster not configured). */
export class GuestActionError extends NetMapError {
  constructor(message: string) {
    super("GUEST_ACTION_REFUSED", message);
  }
}

export interface GuestActionOptions {
  /** snapshot, rollback, delsnapshot: the snapshot's name. */
  snapshot?: string;
  /** snapshot: its description. */
  description?: string;
  /** shutdown: seconds PVE waits for the guest to stop by itself (PVE's default: 180). */
  timeoutSeconds?: number;
  /** shutdown: stop the guest when the timeout passes, as PVE's forceStop. */
  forceStop?: boolean;
}

export interface GuestControl {
  /** Sends the action to PVE and stores its task, running; a refusal by PVE (403, 500…) throws at once. */
  act(hostId: number, action: string, options: GuestActionOptions, requestedBy: string): Promise<GuestTask>;
  /** The task, its status asked of PVE while it runs. */
  task(id: number): Promise<GuestTask>;
  snapshots(hostId: number): Promise<GuestSnapshot[]>;
  close(): void;
}

// PVE's snapshot name (pve-configid): a letter, then letters, digits, _ and -, 2 to 40 in all.
const SNAPSHOT_NAME = /^[A-Za-z][A-Za-z0-9_-]{1,39}$/;
const NEEDS_SNAPSHOT: ReadonlySet<GuestAction> = new Set(["snapshot", "rollback", "delsnapshot"]);

interface Guest {
  hostId: number;
  cluster: string;
  node: string;
  type: "qemu" | "lxc";
  vmid: number;
}

export function guestControl(db: Db, clusters: readonly ProxmoxClusterConfig[]): GuestControl {
  const clients = new Map<string, ProxmoxClient>();
  const clientOf = (name: string) => {
    let client = clients.get(name);
    if (!client) {
      const cluster = clusters.find((c) => c.name === name);
      if (!cluster) throw new GuestActionError(`Proxmox cluster ${JSON.stringify(name)} is not in this collector's configuration (proxmox[])`);
      client = clusterClient(cluster);
      clients.set(name, client);
    }
    return client;
  };

  const guestOf = async (hostId: number): Promise<Guest> => {
    const r = await db.selectFrom("proxmox_resources").select(["cluster", "type", "node", "vmid", "gone_at"]).where("host_id", "=", hostId).executeTakeFirst();
    if (!r) {
      const host = await db.selectFrom("hosts").select("id").where("id", "=", hostId).executeTakeFirst();
      if (!host) throw new NotFoundError(`no host with id ${hostId}`);
      throw new GuestActionError(`host ${hostId} is not a Proxmox guest: Proxmox discovery does not know it`);
    }
    if (r.type === "node") throw new GuestActionError(`host ${hostId} is the Proxmox node ${r.node}, not a guest`);
    if (r.gone_at) throw new GuestActionError(`guest ${r.vmid} is gone from cluster ${r.cluster} since ${r.gone_at.toISOString()}`);
    return { hostId, cluster: r.cluster, node: r.node, type: r.type, vmid: r.vmid };
  };

  return {
    async act(hostId, requested, options, requestedBy) {
      const action = parseAction(requested, options);
      const guest = await guestOf(hostId);
      const upid = await sendAction(clientOf(guest.cluster), guest, action, options);
      const row = await db
        .insertInto("proxmox_tasks")
        .values({
          host_id: hostId, cluster: guest.cluster, node: guest.node, guest_type: guest.type, vmid: guest.vmid, action,
          snapshot: options.snapshot ?? null, upid, requested_by: requestedBy,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return taskOf(row);
    },

    async task(id) {
      const row = await db.selectFrom("proxmox_tasks").selectAll().where("id", "=", id).executeTakeFirst();
      if (!row) throw new NotFoundError(`no task with id ${id}`);
      if (row.status !== "running") return taskOf(row);
      const state = await taskStatus(clientOf(row.cluster), row.node, row.upid);
      if (state.running) return taskOf(row);
      const ended = await db
        .updateTable("proxmox_tasks")
        .set({ status: state.exitStatus === "OK" ? "ok" : "failed", exit_status: state.exitStatus, ended_at: new Date() })
        .where("id", "=", id)
        .where("status", "=", "running")
        .returningAll()
        .executeTakeFirst();
      // Another reader finished it first: what it stored is the answer.
      return taskOf(ended ?? (await db.selectFrom("proxmox_tasks").selectAll().where("id", "=", id).executeTakeFirstOrThrow()));
    },

    async snapshots(hostId) {
      const guest = await guestOf(hostId);
      return parseSnapshots(await clientOf(guest.cluster).get(`${guestPath(guest)}/snapshot`));
    },

    close() {
      for (const client of clients.values()) client.close();
    },
  };
}

function parseAction(requested: string, options: GuestActionOptions): GuestAction {
  if (!(GUEST_ACTIONS as readonly string[]).includes(requested)) throw new BadRequestError(`unknown guest action ${JSON.stringify(requested)}: expected ${GUEST_ACTIONS.join(", ")}`);
  const action = requested as GuestAction;
  if (NEEDS_SNAPSHOT.has(action)) {
    if (!options.snapshot) throw new BadRequestError(`${action}: a snapshot name is needed`);
    if (!SNAPSHOT_NAME.test(options.snapshot)) throw new BadRequestError(`${action}: snapshot name ${JSON.stringify(options.snapshot)} is not one PVE accepts (a letter, then letters, digits, _ or -, 2 to 40 in all)`);
  } else if (options.snapshot !== undefined) {
    throw new BadRequestError(`${action}: takes no snapshot name`);
  }
  if (action !== "shutdown" && (options.forceStop !== undefined || options.timeoutSeconds !== undefined)) throw new BadRequestError(`${action}: forceStop and timeout are for shutdown`);
  if (action !== "snapshot" && options.description !== undefined) throw new BadRequestError(`${action}: a description is for snapshot`);
  return action;
}

const guestPath = (g: Pick<Guest, "node" | "type" | "vmid">) => `nodes/${encodeURIComponent(g.node)}/${g.type}/${g.vmid}`;

/** The PVE call of the action; PVE answers with the UPID of the task doing it. */
async function sendAction(client: ProxmoxClient, guest: Guest, action: GuestAction, options: GuestActionOptions): Promise<string> {
  const base = guestPath(guest);
  const snapshot = encodeURIComponent(options.snapshot ?? "");
  let data: unknown;
  switch (action) {
    case "shutdown":
      data = await client.post(`${base}/status/shutdown`, {
        ...(options.timeoutSeconds !== undefined && { timeout: options.timeoutSeconds }),
        ...(options.forceStop && { forceStop: 1 }),
      });
      break;
    case "snapshot":
      data = await client.post(`${base}/snapshot`, { snapname: options.snapshot!, ...(options.description && { description: options.description }) });
      break;
    case "rollback":
      data = await client.post(`${base}/snapshot/${snapshot}/rollback`);
      break;
    case "delsnapshot":
      data = await client.delete(`${base}/snapshot/${snapshot}`);
      break;
    default:
      data = await client.post(`${base}/status/${action}`);
  }
  if (typeof data !== "string" || !parseUpid(data)) throw new ProxmoxError("PROXMOX_BAD_RESPONSE", `${action} of ${guest.type} ${guest.vmid}: PVE answered ${JSON.stringify(data)?.slice(0, 80)}, not a task UPID`);
  return data;
}

/** UPID:node:pid:pstart:starttime:type:id:user: — pid, pstart and starttime in hex (PVE::Tools::upid_encode). */
export function parseUpid(upid: string): { node: string; type: string; id: string; user: string; startedAt: Date } | null {
  const m = /^UPID:([^:]+):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:]+):([^:]*):([^:]+):$/.exec(upid);
  if (!m) return null;
  return { node: m[1]!, type: m[5]!, id: m[6]!, user: m[7]!, startedAt: new Date(parseInt(m[4]!, 16) * 1000) };
}

/** GET /nodes/{node}/tasks/{upid}/status: running, or stopped with its exitstatus. */
async function taskStatus(client: ProxmoxClient, node: string, upid: string): Promise<{ running: boolean; exitStatus: string | null }> {
  const data = await client.get(`nodes/${encodeURIComponent(node)}/tasks/${encodeURIComponent(upid)}/status`);
  const status = (data as { status?: unknown } | null)?.status;
  if (status === "running") return { running: true, exitStatus: null };
  if (status !== "stopped") throw new ProxmoxError("PROXMOX_BAD_RESPONSE", `task ${upid}: status ${JSON.stringify(status)} is neither running nor stopped`);
  const exit = (data as { exitstatus?: unknown }).exitstatus;
  // A task that died without writing its end (node rebooted under it) has no exitstatus: it did not end OK.
  return { running: false, exitStatus: typeof exit === "string" && exit ? exit.slice(0, 2000) : "unknown (the task ended without an exit status)" };
}

/** /snapshot lists the snapshots and "current" (where the guest is now), which is none. */
export function parseSnapshots(data: unknown): GuestSnapshot[] {
  if (!Array.isArray(data)) throw new ProxmoxError("PROXMOX_BAD_RESPONSE", "snapshot list: data is not a list");
  return data
    .filter((s): s is Record<string, unknown> => typeof s === "object" && s !== null && typeof s.name === "string" && s.name !== "current")
    .map((s) => ({
      name: s.name as string,
      description: typeof s.description === "string" ? s.description.trim().slice(0, 1000) : "",
      takenAt: typeof s.snaptime === "number" ? new Date(s.snaptime * 1000).toISOString() : null,
      parent: typeof s.parent === "string" ? s.parent : null,
      withMemory: s.vmstate === 1 || s.vmstate === true,
    }))
    .sort((a, b) => (a.takenAt ?? "").localeCompare(b.takenAt ?? "") || a.name.localeCompare(b.name));
}

type TaskRow = {
  id: number; host_id: number | null; cluster: string; node: string; guest_type: "qemu" | "lxc"; vmid: number; action: string; snapshot: string | null;
  upid: string; requested_by: string; status: "running" | "ok" | "failed"; exit_status: string | null; started_at: Date; ended_at: Date | null;
};

const taskOf = (r: TaskRow): GuestTask => ({
  id: Number(r.id), hostId: r.host_id === null ? null : Number(r.host_id), cluster: r.cluster, node: r.node, type: r.guest_type, vmid: r.vmid,
  action: r.action as GuestAction, snapshot: r.snapshot, upid: r.upid, requestedBy: r.requested_by, status: r.status, exitStatus: r.exit_status,
  startedAt: r.started_at.toISOString(), endedAt: r.ended_at?.toISOString() ?? null,
});
