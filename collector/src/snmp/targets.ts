// The addresses an `snmp:` entry's targets stand for: single addresses as given, IPv4 CIDR
// ranges swept host by host (without the network and broadcast addresses, except /31 and /32).
import { isIP } from "node:net";

/** The widest range one target may be: a /16 is 65,534 addresses, each a request and a timeout. */
export const WIDEST_PREFIX = 16;

/** Why `target` is not an address or a CIDR range NetMap sweeps, or undefined when it is. */
export function targetProblem(target: string): string | undefined {
  const [address, prefix, extra] = target.split("/");
  if (extra !== undefined || !address) return `${JSON.stringify(target)} is not an address or a CIDR range`;
  const family = isIP(address);
  if (family === 0) return `${JSON.stringify(target)} is not an IPv4 or IPv6 address`;
  if (prefix === undefined) return undefined;
  if (family === 6) return `${JSON.stringify(target)}: IPv6 ranges are not swept; list the addresses`;
  if (!/^\d{1,2}$/.test(prefix) || Number(prefix) > 32) return `${JSON.stringify(target)}: the prefix length must be 0-32`;
  if (Number(prefix) < WIDEST_PREFIX) return `${JSON.stringify(target)}: ranges wider than /${WIDEST_PREFIX} are not swept`;
  return undefined;
}

const toNumber = (address: string) => address.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
const toAddress = (n: number) => [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");

/** Every address of the targets, in order, each once. Targets must have passed targetProblem. */
export function expandTargets(targets: readonly string[]): string[] {
  const out = new Set<string>();
  for (const target of targets) {
    const [address, prefixText] = target.split("/") as [string, string | undefined];
    if (prefixText === undefined) {
      out.add(address);
      continue;
    }
    const prefix = Number(prefixText);
    const size = 2 ** (32 - prefix);
    const base = toNumber(address) - (toNumber(address) % size);
    const [first, last] = prefix >= 31 ? [base, base + size - 1] : [base + 1, base + size - 2];
    for (let n = first; n <= last; n++) out.add(toAddress(n));
  }
  return [...out];
}

/** Whether `address` is one of the targets' addresses (without expanding the ranges). */
export function targetsCover(targets: readonly string[], address: string): boolean {
  if (isIP(address) === 0) return false;
  return targets.some((target) => {
    const [base, prefixText] = target.split("/") as [string, string | undefined];
    if (prefixText === undefined) return base === address;
    if (isIP(address) !== 4) return false;
    const size = 2 ** (32 - Number(prefixText));
    return Math.floor(toNumber(base) / size) === Math.floor(toNumber(address) / size);
  });
}
