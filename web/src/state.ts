// What the console last fetched, shared by the views; `changed` tells them to redraw.
import type { AlertJson, HostSummary, SparklinesResponse, Topology } from "../../collector/src/http/api-types.ts";
import type { ApiError } from "./api.ts";
import { placements, type Placement } from "./placement.ts";

export const state = {
  hosts: null as HostSummary[] | null,
  /** Date.now() of that list. */
  hostsAt: 0,
  hostsError: null as ApiError | null,
  alerts: null as AlertJson[] | null,
  alertsAt: 0,
  alertsError: null as ApiError | null,
  /** Null until fetched, or when the collector has no topology (404). */
  topology: null as Topology | null,
  placements: new Map<number, Placement>(),
  /** The hosts' last hour of CPU and memory; null until fetched (a failure keeps the last). */
  sparklines: null as SparklinesResponse | null,
};

export function setTopology(topology: Topology | null): void {
  state.topology = topology;
  state.placements = placements(topology);
}

const listeners = new Set<() => void>();
export const onChange = (listener: () => void): void => void listeners.add(listener);
export function changed(): void {
  for (const listener of listeners) listener();
}

export function clockTime(ms: number): string {
  const d = new Date(ms);
  return d.toTimeString().slice(0, 8);
}
