// The collector's release key (release_key_file in netmap.yaml): an ed25519 key whose private half
// signs each agent release published over NATS, and whose public half every agent holds
// (release_key in agent.yaml). Made on first use, the private key in a file only its owner may
// read (written 0600, and read back through the secret-file check like every other secret);
// the public key beside it in <file>.pub, one base64 line, the form agent.yaml takes.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import type { SecretFileOptions } from "../../../lib/secret-file.ts";
import { readSecretBytes } from "../../../lib/secret-file.ts";
import { releaseManifest, releasePublicKeyDer, type Release } from "../../../proto/src/release.ts";
import { ConfigError } from "../errors.ts";

export interface ReleaseKey {
  /** The public key as an agent's release_key holds it. */
  publicKey: string;
  /** Whether this call made the key. */
  created: boolean;
  /** Base64 signature of the release's manifest. */
  sign(release: Release): string;
}

export function loadReleaseKey(path: string, secrets: SecretFileOptions): ReleaseKey {
  let created = false;
  if (!existsSync(path)) {
    const { privateKey } = generateKeyPairSync("ed25519");
    // wx: never over a file that appeared meanwhile; 0600 from the start, never readable by others.
    const fd = openSync(path, "wx", 0o600);
    try {
      writeSync(fd, privateKey.export({ format: "pem", type: "pkcs8" }) as string);
    } finally {
      closeSync(fd);
    }
    created = true;
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(readSecretBytes(path, "release_key_file", secrets));
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`release_key_file: ${path} is not a PEM private key: ${(error as Error).message}`);
  }
  if (privateKey.asymmetricKeyType !== "ed25519") throw new ConfigError(`release_key_file: ${path} holds an ${privateKey.asymmetricKeyType} key, not ed25519`);
  const publicKey = (createPublicKey(privateKey).export({ format: "der", type: "spki" }) as Buffer).toString("base64");
  if (created || !existsSync(`${path}.pub`)) writeFileSync(`${path}.pub`, `${publicKey}\n`, { mode: 0o644 });
  return { publicKey, created, sign: (release) => sign(null, releaseManifest(release), privateKey).toString("base64") };
}

/**
 * The public half of the release key at `path` (its <file>.pub), as agent.yaml's release_key
 * takes it; undefined while the key is not made yet. Only the public file is read: whoever
 * installs agents needs no access to the private key. Checked as the agent checks it.
 */
export function readReleasePublicKey(path: string): string | undefined {
  const pub = `${path}.pub`;
  if (!existsSync(pub)) return undefined;
  const text = readFileSync(pub, "utf8").trim();
  if (!releasePublicKeyDer(text)) throw new ConfigError(`release_key_file: ${pub} is not an ed25519 public key as agents take it (one base64 line, starting MCowBQYDK2VwAyEA)`);
  return text;
}
