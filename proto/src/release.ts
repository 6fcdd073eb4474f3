// What the collector and an agent say to each other about an upgrade over NATS (docs/upgrades.md):
// the command on netmap.v1.upgrade.command.<agent> and the agent's answer on
// netmap.v1.upgrade.status.<agent>, both JSON, and the release manifest the collector signs
// with its ed25519 release key. The manifest binds the version to the binary's sha256 and
// size, so a release is accepted only as what the key's holder published.
import { NetMapError } from "../../lib/errors.ts";

export interface Release {
  /** What the binary's --version says, and what the agent reports once it runs it. */
  version: string;
  /** The object's name in the NETMAP_RELEASES bucket. */
  object: string;
  /** Hex SHA-256 of the binary. */
  sha256: string;
  size: number;
}

export type UpgradeCommand =
  | {
      action: "upgrade";
      release: Release;
      /** base64 ed25519 signature of releaseManifest(release) */
      signature: string;
      /** Whether to try a full run (--once) before the swap: canaries do, the rest rely on them. */
      trial: boolean;
    }
  /** Put back the binary kept from before the upgrade to `from`, if that is the version running. */
  | { action: "rollback"; from: string };

export const UPGRADE_STATES = ["fetching", "swapped", "current", "failed", "rolled_back"] as const;
export type UpgradeState = (typeof UPGRADE_STATES)[number];

export interface UpgradeStatus {
  state: UpgradeState;
  /** The release's version (upgrade) or the version rolled back from (rollback). */
  version: string;
  /** Why it failed: a sentence for a person. */
  reason?: string;
}

/** A command or status that is not one: bad JSON, a missing or ill-formed field. */
export class UpgradeMessageError extends NetMapError {
  constructor(message: string) {
    super("UPGRADE_MESSAGE_INVALID", message);
  }
}

const VERSION = /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/;
const OBJECT = /^[0-9A-Za-z][0-9A-Za-z._-]{0,127}$/;
const SHA256 = /^[0-9a-f]{64}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** Larger than any agent binary (~100 MiB), small enough that a forged size cannot fill a disk. */
export const MAX_RELEASE_BYTES = 512 * 1024 ** 2;

export function isVersion(value: unknown): value is string {
  return typeof value === "string" && VERSION.test(value);
}

/**
 * Orders versions as semver does where it can: numeric dot-separated parts compared as numbers,
 * a pre-release (after "-") before its release; build metadata (after "+") ignored. Anything
 * else compares as text, so the order is total.
 */
export function compareVersions(a: string, b: string): number {
  const split = (v: string) => {
    const [core = "", ...pre] = v.split("+")[0]!.split("-");
    return { core: core.split("."), pre: pre.join("-") };
  };
  const x = split(a);
  const y = split(b);
  for (let i = 0; i < Math.max(x.core.length, y.core.length); i++) {
    const p = x.core[i] ?? "0";
    const q = y.core[i] ?? "0";
    const diff = /^\d+$/.test(p) && /^\d+$/.test(q) ? Number(p) - Number(q) : p.localeCompare(q);
    if (diff) return Math.sign(diff);
  }
  if (x.pre === y.pre) return 0;
  if (!x.pre) return 1;
  if (!y.pre) return -1;
  return Math.sign(x.pre.localeCompare(y.pre, "en", { numeric: true }));
}

/** The bytes the release key signs: one line per field, in a fixed order. */
export function releaseManifest(release: Release): Uint8Array {
  return new TextEncoder().encode(`netmap-agent-release/1\nversion ${release.version}\nobject ${release.object}\nsha256 ${release.sha256}\nsize ${release.size}\n`);
}

export function encodeUpgradeMessage(message: UpgradeCommand | UpgradeStatus): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(message));
}

export function decodeUpgradeCommand(data: Uint8Array): UpgradeCommand {
  const m = parseObject(data, "upgrade command");
  if (m.action === "rollback") {
    if (!isVersion(m.from)) throw new UpgradeMessageError("rollback: from is not a version");
    return { action: "rollback", from: m.from };
  }
  if (m.action !== "upgrade") throw new UpgradeMessageError(`upgrade command: unknown action ${JSON.stringify(m.action)}`);
  const r = m.release as Record<string, unknown> | undefined;
  if (typeof r !== "object" || r === null) throw new UpgradeMessageError("upgrade: no release");
  if (!isVersion(r.version)) throw new UpgradeMessageError("upgrade: release.version is not a version");
  if (typeof r.object !== "string" || !OBJECT.test(r.object)) throw new UpgradeMessageError("upgrade: release.object is not an object name");
  if (typeof r.sha256 !== "string" || !SHA256.test(r.sha256)) throw new UpgradeMessageError("upgrade: release.sha256 is not 64 hex digits");
  if (!Number.isSafeInteger(r.size) || (r.size as number) < 1 || (r.size as number) > MAX_RELEASE_BYTES) throw new UpgradeMessageError(`upgrade: release.size is not 1..${MAX_RELEASE_BYTES}`);
  if (typeof m.signature !== "string" || !BASE64.test(m.signature) || m.signature.length > 200) throw new UpgradeMessageError("upgrade: signature is not base64");
  if (m.trial !== undefined && typeof m.trial !== "boolean") throw new UpgradeMessageError("upgrade: trial is not true or false");
  return { action: "upgrade", release: { version: r.version, object: r.object, sha256: r.sha256, size: r.size as number }, signature: m.signature, trial: m.trial !== false };
}

export function decodeUpgradeStatus(data: Uint8Array): UpgradeStatus {
  const m = parseObject(data, "upgrade status");
  if (!(UPGRADE_STATES as readonly unknown[]).includes(m.state)) throw new UpgradeMessageError(`upgrade status: unknown state ${JSON.stringify(m.state)}`);
  if (!isVersion(m.version)) throw new UpgradeMessageError("upgrade status: version is not a version");
  if (m.reason !== undefined && typeof m.reason !== "string") throw new UpgradeMessageError("upgrade status: reason is not text");
  return { state: m.state as UpgradeState, version: m.version, ...(m.reason === undefined ? {} : { reason: (m.reason as string).slice(0, 1000) }) };
}

function parseObject(data: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(data));
  } catch {
    throw new UpgradeMessageError(`${what}: not JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new UpgradeMessageError(`${what}: not a JSON object`);
  return value as Record<string, unknown>;
}

// An ed25519 public key as the agent's config holds it: its SubjectPublicKeyInfo (DER), base64,
// one line ("MCowBQYDK2VwAyEA" and 32 bytes of key).
const ED25519_SPKI_PREFIX = "302a300506032b6570032100";

/** The DER bytes of a release public key, or undefined when the text is not an ed25519 SPKI in base64. */
export function releasePublicKeyDer(text: string): Uint8Array | undefined {
  if (!BASE64.test(text)) return undefined;
  const der = Buffer.from(text, "base64");
  return der.length === 44 && der.subarray(0, 12).toString("hex") === ED25519_SPKI_PREFIX ? new Uint8Array(der) : undefined;
}
