// The ssh_config of the user the collector runs as, hop by hop, read by OpenSSH itself rather
// than by a parser of ours: `ssh -G -F FILE ALIAS`, where FILE is the config `netmap ssh` writes
// for the same route (topology/ssh.ts routeSshConfig: NetMap's Host blocks, then `Include
// ~/.ssh/config` under `Host *`), so the terminal and the CLI see the same settings. Of its
// answer the terminal takes the login, the identity files (read here, kept in the collector,
// never sent anywhere), IdentitiesOnly and IdentityAgent. ssh expands `~` from the password
// database, not $HOME, and so does this file (os.userInfo()).
import { execFile } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import ssh2 from "ssh2";
import { readSecretBytes } from "../../../lib/secret-file.ts";
import { isValidUser } from "../topology/names.ts";
import { PrivateKey } from "./config.ts";

export interface UserSshSettings {
  /** ssh_config's User; null when it sets none (ssh -G then prints the collector's own login). */
  readonly user: string | null;
  /** Its IdentityFile entries (ssh's defaults when it names none) that exist, are private to the user and ssh2 reads. */
  readonly identities: readonly PrivateKey[];
  /** IdentitiesOnly yes: no agent's keys. */
  readonly identitiesOnly: boolean;
  /** IdentityAgent: a socket, null for `none` (or a path that is no socket), undefined when it names none. */
  readonly agent: string | null | undefined;
}

const SSH_G_TIMEOUT_MS = 10_000;

/** `ssh -G` for one alias of a generated config; rejects with ssh's own message when it cannot read the config. */
export async function userSshSettings(configPath: string, alias: string): Promise<UserSshSettings> {
  const output = await new Promise<string>((resolve, reject) => {
    execFile("ssh", ["-G", "-F", configPath, "--", alias], { encoding: "utf8", timeout: SSH_G_TIMEOUT_MS }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      const code = (error as NodeJS.ErrnoException).code;
      reject(new Error(code === "ENOENT" ? "cannot run ssh (install openssh-client)" : stderr.trim().split("\n").slice(-2).join("; ") || error.message));
    });
  });
  const values = (keyword: string) => [...output.matchAll(new RegExp(`^${keyword} (.*)$`, "gim"))].map((m) => m[1]!.trim());
  const me = userInfo();
  const expand = (path: string) => (path === "~" ? me.homedir : path.startsWith("~/") ? join(me.homedir, path.slice(2)) : path);
  const user = values("user")[0] ?? null;
  // It becomes the session's login and its recorded chain: a login name, as the topology's must be.
  if (user !== null && !isValidUser(user)) throw new Error(`User ${JSON.stringify(user)} is not a login name`);
  return {
    user: user === me.username ? null : user,
    identities: values("identityfile").map(expand).flatMap((file) => readIdentity(file) ?? []),
    identitiesOnly: values("identitiesonly")[0]?.toLowerCase() === "yes",
    agent: agentOf(values("identityagent")[0], expand),
  };
}

/** A key as ssh would use it, or undefined where ssh would pass it over (missing, open to others, encrypted, unreadable). */
function readIdentity(file: string): PrivateKey | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const pem = readSecretBytes(file, "ssh_config IdentityFile");
    return ssh2.utils.parseKey(pem) instanceof Error ? undefined : new PrivateKey(file, pem);
  } catch {
    return undefined;
  }
}

function agentOf(value: string | undefined, expand: (path: string) => string): string | null | undefined {
  // SSH_AUTH_SOCK or an environment variable: the agent netmap.yaml's ssh.agent already says.
  if (value === undefined || value === "SSH_AUTH_SOCK" || value.startsWith("$")) return undefined;
  if (value.toLowerCase() === "none") return null;
  const path = expand(value);
  return existsSync(path) && statSync(path).isSocket() ? path : null;
}
