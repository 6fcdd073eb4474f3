// NetMap's known_hosts as the collector reads it for the web terminal: the same file and the
// same keys-under-alias (client.site.name) that `netmap ssh` pins through OpenSSH, looked up
// with OpenSSH's own reader (`ssh-keygen -F`, which knows hashed names too), so a key the CLI
// pinned is the key the terminal checks, and the other way round.
import { createHash } from "node:crypto";
import { execFile } from "node:child_process";
import { appendFileSync, mkdirSync } from "node:fs";
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

/** The keys pinned for alias; none when the file does not exist or holds none. */
export function pinnedKeys(alias: string, knownHostsFile: string): Promise<HostKey[]> {
  return new Promise((resolve, reject) => {
    execFile("ssh-keygen", ["-F", alias, "-f", knownHostsFile], { encoding: "utf8" }, (error, stdout) => {
      // 1: nothing found (or no file); anything else failing is ssh-keygen missing or broken.
      if (error && (error as NodeJS.ErrnoException).code === "ENOENT") {
        reject(new ExternalCommandError(`cannot run ssh-keygen: ${error.message} (install openssh-client)`));
        return;
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
