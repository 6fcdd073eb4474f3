// What a name, a slug, an address and an SSH user may look like.
//
// Client, site and host names are written as people write them (`Société Générale`,
// `Paris DC "north"`): any printable text. They are shown, and escaped per sink
// (text/escape.ts), but never passed to ssh or used as a token. What the CLI, URLs, ssh_config
// aliases and Ansible take is each one's slug: given as `slug:` in the topology file, or
// derived from the name. Slugs, addresses and users end up as ssh arguments and ssh_config
// lines, so they are checked against strict patterns: nothing that could be read as an
// option (a leading "-"), a second token (space), a config directive (newline) or a
// ssh_config token (%).
import { createHash } from "node:crypto";
import { isIP } from "node:net";

/**
 * Client, site and host names: 1-128 characters, no control character, no "/" (it separates
 * CLIENT/SITE/NAME), no space at either end.
 */
const NAME_PATTERN = /^(?=\S)(?=.*\S$)[^\u0000-\u001f\u007f-\u009f/\u2028\u2029]{1,128}$/u;
/** What the CLI, URLs and ssh_config aliases accept for a client, site or host. */
export const SLUG_PATTERN = /^[a-z0-9_][a-z0-9._-]{0,127}$/;
/** An ssh_config Host alias read by `netmap import --ssh-config`: one token ssh takes literally. */
export const ALIAS_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
/** Login names as useradd accepts them, plus upper case. */
export const USER_PATTERN = /^[A-Za-z_][A-Za-z0-9._-]{0,31}$/;
const DNS_LABEL = /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$/;

export const NAME_RULE = `a name is 1-128 characters, no "/" and no control character, no space at either end`;
export const SLUG_RULE = `a slug is 1-128 characters of [a-z0-9._-], not starting with "." or "-"`;

export function isValidName(value: string): boolean {
  return NAME_PATTERN.test(value) && value.isWellFormed();
}

export function isValidSlug(value: string): boolean {
  return SLUG_PATTERN.test(value);
}

/**
 * The slug a name gets when none is given: accents dropped (`Société` → `societe`), lower
 * case, every run of other characters one "-" (`Paris DC "north"` → `paris-dc-north`). A name
 * with no letter or digit a slug can keep (`東京`) gets `n-` and a hash of itself, stable
 * across runs, so it still has one.
 */
export function deriveSlug(name: string): string {
  const slug = name
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/[^a-z0-9._]+/g, "-")
    .replace(/^[-.]+|[-.]+$/g, "")
    .slice(0, 128)
    .replace(/[-.]+$/, "");
  return slug || `n-${createHash("sha256").update(name).digest("hex").slice(0, 10)}`;
}

/** The slug of a client, site or host: the one given, else derived from its name. */
export function slugOf(named: { name: string; slug?: string | null | undefined }): string {
  return named.slug ?? deriveSlug(named.name);
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
