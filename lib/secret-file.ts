// Secrets (tokens, passwords, private keys) are read from files, never written in a config.
// As OpenSSH does for a private key, a file that group or others may read is refused: the
// secret may already have leaked, and the mode says nobody took care of it.
import { readFileSync, statSync } from "node:fs";
import { ConfigError } from "./errors.ts";

export interface SecretFileOptions {
  /** allow_readable_secrets: true in the config, for a file whose mode is managed elsewhere (a secrets mount). */
  allowReadable?: boolean;
}

/** The file's text, trimmed; a ConfigError naming the setting when it is unreadable, empty or open to others. */
export function readSecretFile(path: string, setting: string, options: SecretFileOptions = {}): string {
  return readSecretBytes(path, setting, options).toString("utf8").trim() || fail(`${setting}: ${path} is empty`);
}

/** The file's bytes (a PEM key), with the same checks as readSecretFile. */
export function readSecretBytes(path: string, setting: string, { allowReadable = false }: SecretFileOptions = {}): Buffer {
  let bytes: Buffer;
  let mode: number;
  try {
    mode = statSync(path).mode;
    bytes = readFileSync(path);
  } catch (error) {
    throw new ConfigError(`${setting}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (!allowReadable && (mode & 0o077) !== 0) {
    throw new ConfigError(
      `${setting}: ${path} may be read by group or others (mode ${(mode & 0o777).toString(8).padStart(4, "0")}); ` +
        `chmod 600 it, or set allow_readable_secrets: true where something else guards it`,
    );
  }
  if (!bytes.length) throw new ConfigError(`${setting}: ${path} is empty`);
  return bytes;
}

function fail(message: string): never {
  throw new ConfigError(message);
}
