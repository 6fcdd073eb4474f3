// The guest page's actions (Proxmox guests only): a button per action, each confirmed first,
// then its PVE task followed through GET /api/v1/tasks/:id until PVE says OK or why it failed.
// Needs the operator role; a viewer's token is answered 403 and the panel says so.
import type { GuestAction, GuestTask, HostDetail } from "../../collector/src/http/api-types.ts";
import { getJson, sendJson } from "./api.ts";
import { h, section } from "./dom.ts";

const TASK_POLL_MS = 1000;
const BUTTONS: Array<[GuestAction, string]> = [
  ["start", "Start"], ["shutdown", "Shut down"], ["stop", "Stop"], ["reboot", "Reboot"], ["suspend", "Suspend"], ["resume", "Resume"], ["snapshot", "Snapshot"],
];

/** Per host id, what the last action is doing or did; kept across the page's refreshes. */
const progress = new Map<number, string>();
/** Per host id, the snapshot name being typed (the panel is rebuilt on each refresh). */
const typed = new Map<number, string>();

export function guestActionsPanel(host: HostDetail, rerender: () => void): HTMLElement | null {
  const px = host.proxmox;
  if (!px || px.type === "node" || px.goneAt) return null;
  const snapshotName = h("input", { type: "text", id: "snapshot-name", placeholder: "snapshot name", pattern: "[A-Za-z][A-Za-z0-9_-]{1,39}", "aria-label": "Snapshot name" });
  snapshotName.value = typed.get(host.id) ?? "";
  snapshotName.addEventListener("input", () => typed.set(host.id, snapshotName.value));
  const panel = section(
    "Actions",
    h("div", { class: "guest-actions", role: "group", "aria-label": "Guest actions" },
      BUTTONS.map(([action, label]) => h("button", { type: "button", "data-guest-action": action }, label)), " ", snapshotName),
    h("p", { class: "muted", role: "status", "aria-live": "polite" }, progress.get(host.id) ?? `${px.type} ${px.vmid} on ${px.node}: actions go to Proxmox as tasks.`),
  );
  panel.addEventListener("click", (event) => {
    const button = (event.target as Element).closest<HTMLButtonElement>("button[data-guest-action]");
    if (!button) return;
    const action = button.dataset.guestAction as GuestAction;
    const snapshot = action === "snapshot" ? snapshotName.value.trim() : undefined;
    if (action === "snapshot" && !snapshot) return void (progress.set(host.id, "Name the snapshot first."), rerender());
    if (!window.confirm(`${action}${snapshot ? ` ${snapshot}` : ""} on ${host.hostname} (${px.type} ${px.vmid})?`)) return;
    void run(host.id, action, snapshot, rerender);
  });
  return panel;
}

async function run(hostId: number, action: GuestAction, snapshot: string | undefined, rerender: () => void): Promise<void> {
  const say = (text: string) => (progress.set(hostId, text), rerender());
  try {
    let { task } = await sendJson<{ task: GuestTask }>("POST", `/api/v1/hosts/${hostId}/actions/${action}`, snapshot ? { snapshot } : {});
    say(`${action}: running (PVE task ${task.upid})`);
    while (task.status === "running") {
      await new Promise((resolve) => setTimeout(resolve, TASK_POLL_MS));
      ({ task } = await getJson<{ task: GuestTask }>(`/api/v1/tasks/${task.id}`));
    }
    say(task.status === "ok" ? `${action}: OK` : `${action} failed: ${task.exitStatus}`);
  } catch (error) {
    say(`${action} refused: ${(error as Error).message}`);
  }
}

