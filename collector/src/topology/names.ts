// What a name, an address and an SSH user may look like. These values end up as
// ssh arguments and ssh_config lines, so they are checked against strict
// patterns: nothing that could be read as an option (a leading "-"), a second
// token (space), a config directive (newline) or a ssh_config token (%).
import { isIP } from "node:net";

/** Client, site and host names in topology files. */
export const NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
/** Login names as useradd accepts them, plus upper case. */
export const USER_PATTERN = /^[A-Za-z_][A-Za-z0-9._-]{0,31}$/;
const DNS_LABEL = /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$/;

export function isValidName(value: string): boolean {
  return NAME_PATTERN.test(value);
}

export function isValidUser(value: string): boolean {
  return USER_PATTERN.test(value);
}

/**
 * An IPv4 or IPv6 address, or a DNS name. Not an IPv6 address with a zone id (`fe80::1%eth0`,
 * which isIP accepts): ssh expands `%` tokens in HostName, and a zone names an interface of
 * the machine that reported it, not of the one that connects.
 */
export function isValidAddress(value: string): boolean {
  if (value.includes("%")) return false;
  if (isIP(value)) return true;
  if (value.length > 253) return false;
  return value.split(".").every((label) => DNS_LABEL.test(label));
}

export function isValidPort(value: number): boolean {
  return Number.isInteger(value) && value >= 1 && value <= 65535;
}
