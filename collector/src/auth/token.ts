// The collector's admin token, taken by every API: the gRPC admin service and the HTTP API
// (/api/v1/*, /metrics). A configured one (token_file, NETMAP_TOKEN) is used as given; without
// one, `netmap serve` makes a fresh token at each start and leaves it in a file only its user
// can read, where the CLI and `npm start` run by the same user find it. Named tokens with
// other roles are auth/api-tokens.ts's; both are read from a request here.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

/**
 * `$XDG_STATE_HOME/netmap/token-<gRPC HOST_PORT>`, else under `~/.local/state`: one file per
 * collector instance, named by the gRPC address the CLI is pointed at, so a second instance on
 * the same machine does not overwrite the first one's token.
 */
export function localTokenPath(env: Record<string, string | undefined>, grpcAddress: string): string {
  const state = env.XDG_STATE_HOME || join(env.HOME || homedir(), ".local", "state");
  return join(state, "netmap", `token-${grpcAddress.replace(/[^A-Za-z0-9.-]/g, "_")}`);
}

/** A new random token, written (mode 0600, directory 0700) to path. */
export function writeLocalToken(path: string): string {
  const token = randomBytes(32).toString("base64url");
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // Written aside then renamed, so a reader never sees half a token.
  const partial = `${path}.${process.pid}.tmp`;
  writeFileSync(partial, `${token}\n`, { mode: 0o600 });
  renameSync(partial, path);
  return token;
}

/** The token a local collector left, if there is one. */
export function readLocalToken(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The token of an `authorization` value `Bearer <token>` (the scheme in any case), else undefined. */
export function bearerToken(authorization: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "")?.[1];
}

export function tokenDigest(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}

/** True when token is expected; compared in constant time. */
export function tokenMatches(token: string, expected: string): boolean {
  return timingSafeEqual(tokenDigest(token), tokenDigest(expected));
}
