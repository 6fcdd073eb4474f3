// Up, stale or down, from the age of a host's last report. Pure.

/** "unknown": nothing monitors the host (declared in the topology, no agent, not on Proxmox). */
export type HostStatus = "up" | "stale" | "down" | "unknown";

export interface StatusThresholds {
  staleAfterSeconds: number;
  downAfterSeconds: number;
}

/**
 * A host is stale once it has missed about three reports, and down after about
 * twelve; an agent with a long interval gets proportionally longer, never less
 * than the configured floors. A host that never reported is down.
 */
export function hostStatus(ageSeconds: number | null, intervalSeconds: number | null, thresholds: StatusThresholds): HostStatus {
  if (ageSeconds === null) return "down";
  const interval = intervalSeconds ?? 0;
  if (ageSeconds > Math.max(thresholds.downAfterSeconds, 12 * interval)) return "down";
  if (ageSeconds > Math.max(thresholds.staleAfterSeconds, 3 * interval)) return "stale";
  return "up";
}
