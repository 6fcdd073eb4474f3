// `netmap vm ACTION GUEST`: a Proxmox guest action through the collector (gRPC GuestAction),
// confirmed first unless --yes, then its PVE task followed (GetTask) until it ends: exit 0 when
// PVE says OK, 1 with the task's error otherwise. `netmap vm snapshots GUEST` lists snapshots,
// `netmap vm backups` every guest's backup coverage.
import { createInterface } from "node:readline/promises";
import { parseDuration } from "../alerts/silences.ts";
import { UsageError } from "../errors.ts";
import { GUEST_ACTIONS } from "../http/api-types.ts";
import { connectAdmin } from "./admin-client.ts";
import { defaultOut, formatTable, parseCommandLine, type Out } from "./command-line.ts";

export const VM_COMMANDS = ["vm"] as const;

export const VM_USAGE = `  vm start|stop|reboot|suspend|resume GUEST [--yes]
                                    act on a Proxmox guest (operator role) and follow its PVE task
                                    to the end: exit 0 on OK, 1 with the task's error
  vm shutdown GUEST [--timeout D] [--force-stop] [--yes]
                                    ask the guest OS to shut down; PVE waits D (default 180s), then
                                    with --force-stop stops it, else the task fails
  vm snapshot|rollback|delsnapshot GUEST --name SNAP [--description T] [--yes]
                                    take, go back to, or delete a snapshot
  vm snapshots GUEST [--json]       the guest's snapshots, oldest first
  vm backups [--never] [--json]     every guest's newest backup (vzdump or PBS), never backed up
                                    first; --never: only those`;

/** How often the CLI asks the collector about a running task. */
export const TASK_POLL_MS = 1000;

/** Asks the person; true to go on. */
export type Confirm = (question: string) => Promise<boolean>;

const terminalConfirm: Confirm = async (question) => {
  if (!process.stdin.isTTY) throw new UsageError("netmap vm: nothing to confirm on (stdin is not a terminal); give --yes to act without asking");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
};

export async function runVmCommand(args: string[], env: Record<string, string | undefined> = process.env, out: Out = defaultOut, confirm: Confirm = terminalConfirm): Promise<number> {
  const { values, positionals } = parseCommandLine("vm", args, {
    yes: { type: "boolean", short: "y" }, name: { type: "string" }, description: { type: "string" }, timeout: { type: "string" }, "force-stop": { type: "boolean" }, json: { type: "boolean" }, never: { type: "boolean" },
  });
  const [action, guest, ...extra] = positionals;
  if (action === "backups") {
    if (guest) throw new UsageError("usage: netmap vm backups [--never] [--json]");
    return listBackups(values.never === true, values.json === true, env, out);
  }
  if (!action || !guest || extra.length) throw new UsageError(`usage: netmap vm ${[...GUEST_ACTIONS, "snapshots"].join("|")} GUEST [options] (netmap vm --help)`);
  if (action === "snapshots") return listSnapshots(guest, values.json === true, env, out);
  if (!(GUEST_ACTIONS as readonly string[]).includes(action)) throw new UsageError(`netmap vm: unknown action ${JSON.stringify(action)}; expected ${[...GUEST_ACTIONS, "snapshots"].join(", ")}`);
  const snapshotAction = action === "snapshot" || action === "rollback" || action === "delsnapshot";
  if (snapshotAction && !values.name) throw new UsageError(`netmap vm ${action}: --name SNAP is needed`);
  if (!snapshotAction && (values.name !== undefined || values.description !== undefined)) throw new UsageError(`netmap vm ${action}: --name and --description are for snapshot, rollback and delsnapshot`);
  if (action !== "shutdown" && (values.timeout !== undefined || values["force-stop"])) throw new UsageError(`netmap vm ${action}: --timeout and --force-stop are for shutdown`);
  let timeoutSeconds = 0;
  if (values.timeout !== undefined) {
    try {
      timeoutSeconds = parseDuration(values.timeout);
    } catch {
      throw new UsageError(`netmap vm shutdown: --timeout: expected a duration like 90s or 5m, got ${JSON.stringify(values.timeout)}`);
    }
  }

  const what = `${action}${values.name ? ` ${values.name}` : ""}`;
  if (!values.yes && !(await confirm(`${what} on guest ${guest}?`))) {
    out.stderr("nothing done\n");
    return 1;
  }
  const admin = connectAdmin(env);
  try {
    const { host, task } = await admin.guestAction({
      host: guest, action, snapshot: values.name ?? "", description: values.description ?? "", timeoutSeconds, forceStop: values["force-stop"] === true,
    });
    out.stderr(`${what} on ${host}: PVE task ${task!.upid} (netmap task ${task!.id})\n`);
    let current = task!;
    while (current.status === "running") {
      await new Promise((resolve) => setTimeout(resolve, TASK_POLL_MS));
      current = (await admin.getTask({ id: current.id })).task!;
    }
    if (current.status === "ok") {
      out.stdout(`${what} on ${host}: OK\n`);
      return 0;
    }
    out.stderr(`netmap: ${what} on ${host} failed: ${current.exitStatus}\n`);
    return 1;
  } finally {
    admin.close();
  }
}

async function listBackups(never: boolean, json: boolean, env: Record<string, string | undefined>, out: Out): Promise<number> {
  const admin = connectAdmin(env);
  try {
    const backups = (await admin.listBackups({})).backups.filter((b) => !never || (b.checkedAt && !b.lastBackupAt));
    if (json) out.stdout(`${JSON.stringify(backups, null, 2)}\n`);
    else if (!backups.length) out.stdout(never ? "every guest has a backup\n" : "no Proxmox guest\n");
    else {
      const age = (d: Date) => `${Math.round((Date.now() - d.getTime()) / 3_600_000)} h`;
      out.stdout(formatTable([
        ["GUEST", "CLUSTER", "VMID", "LAST BACKUP", "AGE", "SIZE", "ARCHIVE"],
        ...backups.map((b) => [
          b.host, b.cluster, String(b.vmid), b.lastBackupAt ? b.lastBackupAt.toISOString().replace(/\.\d+Z$/, "Z") : b.checkedAt ? "never" : "unknown",
          b.lastBackupAt ? age(b.lastBackupAt) : "-", b.lastBackupAt ? `${(b.sizeBytes / 1024 ** 3).toFixed(1)} GiB` : "-", b.volid || "-",
        ]),
      ]));
    }
    return 0;
  } finally {
    admin.close();
  }
}

async function listSnapshots(guest: string, json: boolean, env: Record<string, string | undefined>, out: Out): Promise<number> {
  const admin = connectAdmin(env);
  try {
    const { host, snapshots } = await admin.listSnapshots({ host: guest });
    if (json) out.stdout(`${JSON.stringify(snapshots, null, 2)}\n`);
    else if (!snapshots.length) out.stdout(`${host} has no snapshot\n`);
    else {
      const time = (d: Date | undefined) => d?.toISOString().replace(/\.\d+Z$/, "Z") ?? "-";
      out.stdout(formatTable([["NAME", "TAKEN", "PARENT", "RAM", "DESCRIPTION"], ...snapshots.map((s) => [s.name, time(s.takenAt), s.parent || "-", s.withMemory ? "yes" : "no", s.description])]));
    }
    return 0;
  } finally {
    admin.close();
  }
}
