// The `ssh:` and `terminal:` sections of netmap.yaml: how the collector itself logs in to
// hosts (for the web terminal) and how terminal sessions are kept. Identity files are read
// and parsed here, at start, so a missing, encrypted or world-readable key stops `netmap
// serve` at once instead of failing the first session; the keys stay in the collector.
import { existsSync, statSync } from "node:fs";
import { inspect } from "node:util";
import ssh2 from "ssh2";
import { z } from "zod";
import { readSecretBytes, type SecretFileOptions } from "../../../lib/secret-file.ts";
import { parseDurationSeconds, parseSizeBytes } from "../../../lib/settings.ts";
import { ConfigError } from "../errors.ts";
import { knownHostsPath } from "../topology/ssh.ts";
import { isValidUser } from "../topology/names.ts";

/** A private key as ssh2 takes it; prints as [redacted] wherever it is logged or serialised. */
export class PrivateKey {
  readonly file: string;
  readonly #pem: Buffer;
  constructor(file: string, pem: Buffer) {
    this.file = file;
    this.#pem = pem;
  }
  reveal(): Buffer {
    return this.#pem;
  }
  toJSON(): string {
    return `[private key ${this.file}]`;
  }
  [inspect.custom](): string {
    return this.toJSON();
  }
}

export interface SshClientConfig {
  /** Login on hops whose topology gives no ssh.user; default the collector's own user, as ssh does. */
  readonly user: string | null;
  /** Tried in order after the agent's keys. */
  readonly identities: readonly PrivateKey[];
  /** An ssh-agent socket; null: none. */
  readonly agent: string | null;
  /** NetMap's known_hosts, the one `netmap ssh` and `trust` keep (keys under client.site.name). */
  readonly knownHostsFile: string;
  /** Each hop's TCP connection (or channel through the previous hop), key exchange and login. */
  readonly connectTimeoutSeconds: number;
}

export interface TerminalConfig {
  /** A session with no keystroke and no output for this long is closed. */
  readonly idleTimeoutSeconds: number;
  /** Open sessions one token's caller may hold on this collector. */
  readonly sessionsPerUser: number;
  /** Keystrokes are recorded too ("i" events) only when true: they hold passwords typed at prompts. */
  readonly recordInput: boolean;
  /** Recordings older than this (since they ended) are deleted. */
  readonly retentionSeconds: number;
  /** A session's recording stops growing past this; the session goes on, and the cast says where it was cut. */
  readonly maxRecordingBytes: number;
}

const positiveDuration = (setting: string) =>
  z.union([z.number(), z.string()]).transform((value, ctx) => {
    const s = parseDurationSeconds(value);
    if (s === undefined || s <= 0) {
      ctx.addIssue({ code: "custom", message: `${setting}: expected a positive duration like 30s or 2m, got ${JSON.stringify(value)}` });
      return z.NEVER;
    }
    return s;
  });

export const sshClientSchema = z
  .object({
    user: z.string().refine(isValidUser, "ssh.user: expected a login name"),
    identities: z.array(z.string().min(1)),
    // true: the agent of the collector's environment (SSH_AUTH_SOCK); a path: that socket; false: none.
    agent: z.union([z.boolean(), z.string().min(1)]),
    known_hosts: z.string().min(1),
    connect_timeout: positiveDuration("ssh.connect_timeout"),
  })
  .strict()
  .partial();

export const terminalSchema = z
  .object({
    idle_timeout: positiveDuration("terminal.idle_timeout"),
    sessions_per_user: z.number().int().min(1).max(1000),
    record_input: z.boolean(),
    retention: positiveDuration("terminal.retention"),
    max_recording: z.union([z.number(), z.string()]).transform((value, ctx) => {
      const bytes = parseSizeBytes(value);
      if (bytes === undefined || bytes < 64 * 1024) {
        ctx.addIssue({ code: "custom", message: `terminal.max_recording: expected a size like 16MiB, at least 64 KiB, got ${JSON.stringify(value)}` });
        return z.NEVER;
      }
      return bytes;
    }),
  })
  .strict()
  .partial();

/** The ssh: section resolved: identities read and parsed, the agent socket found. */
export function sshClientConfig(section: z.output<typeof sshClientSchema> | undefined, env: Record<string, string | undefined>, secrets: SecretFileOptions): SshClientConfig {
  const identities = (section?.identities ?? []).map((file, index) => {
    const setting = `ssh.identities[${index}]`;
    const pem = readSecretBytes(file, setting, secrets);
    const parsed = ssh2.utils.parseKey(pem);
    if (parsed instanceof Error) {
      const why = /passphrase/i.test(parsed.message) ? "is encrypted; load it into an ssh-agent and set ssh.agent instead" : `is not a private key ssh2 reads (${parsed.message})`;
      throw new ConfigError(`${setting}: ${file} ${why}`);
    }
    return new PrivateKey(file, pem);
  });
  // Unset: the environment's agent when there is one, as ssh does; said on purpose, it must be there.
  const isSocket = (path: string) => existsSync(path) && statSync(path).isSocket();
  const agentSetting = section?.agent ?? (env.SSH_AUTH_SOCK && isSocket(env.SSH_AUTH_SOCK) ? true : false);
  let agent: string | null = null;
  if (agentSetting === true) {
    if (!env.SSH_AUTH_SOCK) throw new ConfigError("ssh.agent: true, but SSH_AUTH_SOCK is not set in the collector's environment");
    agent = env.SSH_AUTH_SOCK;
  } else if (typeof agentSetting === "string") {
    agent = agentSetting;
  }
  if (agent !== null && !isSocket(agent)) {
    throw new ConfigError(`ssh.agent: ${agent} is not a socket (is the ssh-agent running?)`);
  }
  return {
    user: section?.user ?? null,
    identities,
    agent,
    knownHostsFile: section?.known_hosts ?? knownHostsPath(env),
    connectTimeoutSeconds: section?.connect_timeout ?? 10,
  };
}

export function terminalConfig(section: z.output<typeof terminalSchema> | undefined): TerminalConfig {
  return {
    idleTimeoutSeconds: section?.idle_timeout ?? 30 * 60,
    sessionsPerUser: section?.sessions_per_user ?? 4,
    recordInput: section?.record_input ?? false,
    retentionSeconds: section?.retention ?? 90 * 86400,
    maxRecordingBytes: section?.max_recording ?? 32 * 1024 ** 2,
  };
}
