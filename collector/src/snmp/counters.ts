// Counters into rates. An SNMP counter wraps to 0 past 2³² (Counter32) or 2⁶⁴ (Counter64):
// a smaller value than last time is a wrap, unless the device restarted (sysUpTime went back)
// or the wrapped difference is more than the link could carry (a counter reset), when the
// interval has no rate rather than a false one.
import type { Counter } from "./parse.ts";

/** Per second between two readings `seconds` apart; null when there is no honest rate. */
export function counterRate(before: Counter | null | undefined, now: Counter | null, seconds: number, options: { rebooted: boolean; ceilingPerSecond?: number | null }): number | null {
  if (!before || !now || seconds <= 0 || options.rebooted || before.bits !== now.bits) return null;
  const delta = now.value >= before.value ? now.value - before.value : 2n ** BigInt(now.bits) - before.value + now.value;
  const rate = Number(delta) / seconds;
  // A wrap implying more than 1.5 × what the link carries is a reset (a module reinserted, counters cleared).
  if (now.value < before.value && options.ceilingPerSecond && rate > options.ceilingPerSecond * 1.5) return null;
  return rate;
}
