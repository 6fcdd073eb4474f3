// The stand-in's guest actions and tasks, as PVE 8 serves them: each POST/DELETE checks the
// token's privilege on /vms/{vmid} (403 "Permission check failed (path, privilege)" in the
// status line, as PVE::RPCEnvironment raises it), then forks a worker: the answer is its UPID
// at once, /nodes/{node}/tasks/{upid}/status says "running" until the worker ends, then
// "stopped" with exitstatus "OK" or the error the worker died with, and /log holds its lines
// ending in "TASK OK" or "TASK ERROR: …". The guest changes state when its task ends.
import type { FakeGuest } from "./server.ts";

export interface FakeTask {
  upid: string;
  node: string;
  type: string;
  id: string;
  user: string;
  pid: number;
  pstart: number;
  starttime: number;
  /** Null while running. */
  exitstatus: string | null;
  log: string[];
}

export interface FakeSnapshot {
  name: string;
  description?: string;
  snaptime: number;
  vmstate?: 0 | 1;
  parent?: string;
  /** The guest's status when it was taken (a snapshot with RAM resumes it). */
  status: FakeGuest["status"];
}

export interface FakeGuestActions {
  /** The token's privileges; null: all (PVE's Administrator). */
  privileges: Set<string> | null;
  /** How long a worker runs before it ends. */
  taskMs: number;
  tasks: Map<string, FakeTask>;
  /** Per vmid, its snapshots. */
  snapshots: Map<number, FakeSnapshot[]>;
  /** Per vmid, guests that ignore an ACPI shutdown (no guest OS answering). */
  ignoresShutdown: Set<number>;
  /** Per "vmid action", an error the worker dies with (a QEMU that will not start…). */
  failures: Map<string, string>;
}

export function fakeGuestActions(): FakeGuestActions {
  return { privileges: null, taskMs: 150, tasks: new Map(), snapshots: new Map(), ignoresShutdown: new Set(), failures: new Map() };
}

type Answer = { status: number; reason: string; data?: unknown };

const TASK_TYPES: Record<"qemu" | "lxc", Record<string, string>> = {
  qemu: { start: "qmstart", shutdown: "qmshutdown", stop: "qmstop", reboot: "qmreboot", suspend: "qmsuspend", resume: "qmresume", snapshot: "qmsnapshot", rollback: "qmrollback", delsnapshot: "qmdelsnapshot" },
  lxc: { start: "vzstart", shutdown: "vzshutdown", stop: "vzstop", reboot: "vzreboot", suspend: "vzsuspend", resume: "vzresume", snapshot: "pctsnapshot", rollback: "vzrollback", delsnapshot: "vzdelsnapshot" },
};

let pid = 0x2c3d00;

/** A POST or DELETE under /nodes/{node}/{qemu|lxc}/{vmid}; undefined when it is no action of these. */
export function guestAction(actions: FakeGuestActions, guest: FakeGuest, method: string, call: string, params: URLSearchParams, user: string): Answer | undefined {
  let action: string | undefined;
  let snapname: string | undefined;
  const status = /^\/status\/(start|shutdown|stop|reboot|suspend|resume)$/.exec(call);
  const snapshot = /^\/snapshot\/([^/]+)(\/rollback)?$/.exec(call);
  if (method === "POST" && status) action = status[1];
  else if (method === "POST" && call === "/snapshot") [action, snapname] = ["snapshot", params.get("snapname") ?? undefined];
  else if (method === "POST" && snapshot?.[2]) [action, snapname] = ["rollback", decodeURIComponent(snapshot[1]!)];
  else if (method === "DELETE" && snapshot && !snapshot[2]) [action, snapname] = ["delsnapshot", decodeURIComponent(snapshot[1]!)];
  if (!action) return undefined;

  // The privileges each method's permission check names (qemu-server, pve-container API).
  const needed = action === "rollback" ? ["VM.Snapshot", "VM.Snapshot.Rollback"] : action === "snapshot" || action === "delsnapshot" ? ["VM.Snapshot"] : ["VM.PowerMgmt"];
  if (actions.privileges && !needed.some((p) => actions.privileges!.has(p))) {
    return { status: 403, reason: `Permission check failed (/vms/${guest.vmid}, ${needed.join("|")})` };
  }
  if ((action === "snapshot" || action === "rollback" || action === "delsnapshot") && (!snapname || !/^[A-Za-z][A-Za-z0-9_-]{1,39}$/.test(snapname))) {
    return { status: 400, reason: "Parameter verification failed.", data: { snapname: "invalid format - invalid configuration ID" } };
  }

  const starttime = Math.floor(Date.now() / 1000);
  const taskPid = ++pid;
  const pstart = 0x1a2b3c4 + taskPid;
  const type = TASK_TYPES[guest.type][action]!;
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, "0");
  const upid = `UPID:${guest.node}:${hex(taskPid)}:${hex(pstart)}:${hex(starttime)}:${type}:${guest.vmid}:${user}:`;
  const task: FakeTask = { upid, node: guest.node, type, id: String(guest.vmid), user, pid: taskPid, pstart, starttime, exitstatus: null, log: [] };
  actions.tasks.set(upid, task);
  const forceStop = params.get("forceStop") === "1";
  setTimeout(() => {
    try {
      const log = work(actions, guest, action, snapname, params.get("description") ?? undefined, forceStop);
      task.log.push(...log, "TASK OK");
      task.exitstatus = "OK";
    } catch (error) {
      const message = (error as Error).message;
      task.log.push(`TASK ERROR: ${message}`);
      task.exitstatus = message;
    }
  }, actions.taskMs);
  return { status: 200, reason: "OK", data: upid };
}

/** What the worker does; throws what it dies with. */
function work(actions: FakeGuestActions, guest: FakeGuest, action: string, snapname: string | undefined, description: string | undefined, forceStop: boolean): string[] {
  const failure = actions.failures.get(`${guest.vmid} ${action}`);
  if (failure) throw new Error(failure);
  const vm = guest.type === "qemu" ? "VM" : "CT";
  const snapshots = actions.snapshots.get(guest.vmid) ?? [];
  switch (action) {
    case "start":
      if (guest.status === "running") throw new Error(`${vm} ${guest.vmid} already running`);
      guest.status = "running";
      return [];
    case "stop":
      if (guest.status === "stopped") throw new Error(`${vm} ${guest.vmid} not running`);
      guest.status = "stopped";
      return [];
    case "shutdown":
      if (guest.status === "stopped") throw new Error(`${vm} ${guest.vmid} not running`);
      if (actions.ignoresShutdown.has(guest.vmid)) {
        if (!forceStop) throw new Error(guest.type === "qemu" ? "VM quit/powerdown failed - got timeout" : "container did not stop");
        guest.status = "stopped";
        return [guest.type === "qemu" ? "VM quit/powerdown failed - terminating now with SIGTERM" : "container did not stop, stopping it now"];
      }
      guest.status = "stopped";
      return [];
    case "reboot":
      if (guest.status !== "running") throw new Error(`${vm} ${guest.vmid} not running`);
      return [];
    case "suspend":
      if (guest.status !== "running") throw new Error(`${vm} ${guest.vmid} not running`);
      guest.status = "paused";
      return [];
    case "resume":
      if (guest.status !== "paused") throw new Error(`${vm} ${guest.vmid} not suspended`);
      guest.status = "running";
      return [];
    case "snapshot":
      if (snapshots.some((s) => s.name === snapname)) throw new Error(`snapshot name '${snapname}' already used`);
      snapshots.push({ name: snapname!, snaptime: Math.floor(Date.now() / 1000), status: guest.status, ...(description && { description }), ...(snapshots.length && { parent: snapshots.at(-1)!.name }) });
      actions.snapshots.set(guest.vmid, snapshots);
      return [`snapshotting '${snapname}'`];
    case "rollback": {
      const taken = snapshots.find((s) => s.name === snapname);
      if (!taken) throw new Error(`snapshot '${snapname}' does not exist`);
      guest.status = taken.vmstate ? taken.status : "stopped";
      return [];
    }
    case "delsnapshot":
      if (!snapshots.some((s) => s.name === snapname)) throw new Error(`snapshot '${snapname}' does not exist`);
      actions.snapshots.set(guest.vmid, snapshots.filter((s) => s.name !== snapname));
      return [];
  }
  throw new Error(`no such action ${action}`);
}

/** GET /nodes/{node}/tasks/{upid}/status and /log. */
export function taskCall(actions: FakeGuestActions, node: string, rest: string): Answer | undefined {
  const m = /^\/tasks\/([^/]+)\/(status|log)$/.exec(rest);
  if (!m) return undefined;
  const upid = decodeURIComponent(m[1]!);
  const task = actions.tasks.get(upid);
  if (!task || task.node !== node) return { status: 500, reason: `unable to open file '/var/log/pve/tasks/${upid.split(":")[4]?.slice(-1) ?? "0"}/${upid}' - No such file or directory` };
  if (m[2] === "log") return { status: 200, reason: "OK", data: task.log.map((t, i) => ({ n: i + 1, t })) };
  const { log: _log, exitstatus, ...fields } = task;
  return { status: 200, reason: "OK", data: { ...fields, status: exitstatus === null ? "running" : "stopped", ...(exitstatus !== null && { exitstatus }) } };
}

/** GET /nodes/{node}/{type}/{vmid}/snapshot: the snapshots and "current", where the guest is. */
export function snapshotList(actions: FakeGuestActions, guest: FakeGuest): unknown[] {
  const snapshots = actions.snapshots.get(guest.vmid) ?? [];
  return [
    ...snapshots.map(({ status: _status, ...s }) => ({ ...s, description: s.description ?? "" })),
    { name: "current", description: "You are here!", digest: "5c4d3e2f1a", running: guest.status === "running" ? 1 : 0, ...(snapshots.length && { parent: snapshots.at(-1)!.name }) },
  ];
}
