// The 10.<X>.0.0/16 a test lab addresses its namespaces in. X is derived from the pid, so two
// runs at once start apart, then moved past any X the root namespace already routes or holds
// an address in (another run's lab, a leftover the clean-up could not tell was dead, a bridge
// of Docker or Podman): a lab whose subnet collided would send its packets to someone else's
// veth and its SSH would hang instead of failing.
import { execFileSync } from "node:child_process";

/** A free second octet in [first, first + count), starting from the pid's. */
export function freeSecondOctet(first: number, count: number, seed = process.pid): number {
  const taken = octetsInUse();
  for (let i = 0; i < count; i++) {
    const candidate = first + ((seed + i) % count);
    if (!taken.has(candidate)) return candidate;
  }
  throw new Error(`no free 10.X.0.0/16 with X in ${first}–${first + count - 1}: the root namespace uses them all (ip -4 route)`);
}

function octetsInUse(): Set<number> {
  const text = ["route", "addr"].map((what) => execFileSync("ip", ["-4", "-o", what, "show"], { encoding: "utf8" })).join("\n");
  return new Set([...text.matchAll(/\b10\.(\d+)\.\d+\.\d+/g)].map((m) => Number(m[1])));
}
