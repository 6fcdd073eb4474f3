// NetMap's known_hosts as the collector reads it for the web terminal: the same file and the
// same keys-under-alias (client.site.name) that `netmap ssh` pins through OpenSSH, looked up
// with OpenSSH's own reader (`ssh-keygen -F`, which knows hashed names too), so a key the CLI
// pinned is the key the terminal checks, and the other way round.
import { createHash } from "node:crypto";
import { execFile } from "node:child_process";
import { accessSync, appendFileSync, constants, existsSync, mkdirSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { ExternalCommandError } from "../errors.ts";

export interface HostKey {
  /** The key's algorithm name as it is on the wire: ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa... */
  type: string;
  /** The key blob (what known_hosts holds in base64). */
  blob: Buffer;
}

/** The type a key blob declares: its first SSH string. */
export function keyType(blob: Buffer): string {
  if (blob.length < 4) return "";
  const length = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + length).toString("latin1");
}

const LABELS: Record<string, string> = {
  "ssh-ed25519": "ED25519",
  "ssh-rsa": "RSA",
  "ssh-dss": "DSA",
  "sk-ssh-ed25519@openssh.com": "ED25519-SK",
  "sk-ecdsa-sha2-nistp256@openssh.com": "ECDSA-SK",
};

/** As `ssh-keygen -l` shows a key: `SHA256:… (ED25519)`. */
export function fingerprint(key: HostKey): string {
  const hash = createHash("sha256").update(key.blob).digest("base64").replace(/=+$/, "");
  const label = LABELS[key.type] ?? (key.type.startsWith("ecdsa-") ? "ECDSA" : key.type.toUpperCase());
  return `SHA256:${hash} (${label})`;
}

/**
 * The keys pinned for alias; none when the file does not exist or holds none. A file that
 * cannot be read is an error, never "nothing pinned": that would let any key in.
 */
export function pinnedKeys(alias: string, knownHostsFile: string): Promise<HostKey[]> {
  if (!existsSync(knownHostsFile)) return Promise.resolve([]);
  // ssh-keygen says nothing of a directory or a file it cannot read: it just finds no key.
  try {
    if (!statSync(knownHostsFile).isFile()) throw new Error("not a file");
    accessSync(knownHostsFile, constants.R_OK);
  } catch (error) {
    return Promise.reject(new ExternalCommandError(`ssh-keygen -F cannot read ${knownHostsFile}: ${(error as Error).message}`));
  }
  return new Promise((resolve, reject) => {
    execFile("ssh-keygen", ["-F", alias, "-f", knownHostsFile], { encoding: "utf8" }, (error, stdout, stderr) => {
      // Exit 1 with nothing said: no key for alias.
      const code: number | string | undefined = error ? (error as { code?: number | string }).code : 0;
      if (code === 1 && !stderr.trim()) return resolve([]);
      if (code !== 0) {
        const why = code === "ENOENT" ? "cannot run ssh-keygen (install openssh-client)" : `ssh-keygen -F cannot read ${knownHostsFile}: ${stderr.trim() || error?.message}`;
        return reject(new ExternalCommandError(why));
      }
      const keys: HostKey[] = [];
      for (const line of stdout.split("\n")) {
        if (!line || line.startsWith("#") || line.startsWith("@")) continue;
        const [, type, base64] = line.split(/\s+/);
        if (type && base64) keys.push({ type, blob: Buffer.from(base64, "base64") });
      }
      resolve(keys);
    });
  });
}

/** Pins a key first seen for alias, as `StrictHostKeyChecking accept-new` does for the CLI. */
export function learnKey(alias: string, key: HostKey, knownHostsFile: string): void {
  mkdirSync(dirname(knownHostsFile), { recursive: true, mode: 0o700 });
  appendFileSync(knownHostsFile, `${alias} ${key.type} ${key.blob.toString("base64")}\n`, { mode: 0o600 });
}

/** Host key algorithms to ask for first: the pinned types, as OpenSSH orders them from known_hosts. */
export function pinnedAlgorithms(pinned: HostKey[]): string[] {
  return [...new Set(pinned.flatMap((key) => (key.type === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [key.type])))];
}
