// `netmap ssh` and `netmap trust`: run the system OpenSSH through a route. Each
// invocation writes a private ssh_config with one Host block per hop (its own
// HostKeyAlias and NetMap's known_hosts, since ProxyJump hops take options only
// from ssh_config) and runs `ssh -F thatfile -- target [command]` as an argv
// array — never through a shell. A changed key at any hop is refused by ssh;
// NetMap then shows the pinned and the offered fingerprints.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { ExternalCommandError, HostKeyChangedError } from "../errors.ts";
import { sshComment } from "../text/escape.ts";
import type { Hop } from "./model.ts";
import { renderRouteConfig } from "./ssh-config.ts";

/** NetMap's own known_hosts: NETMAP_KNOWN_HOSTS, else $XDG_CONFIG_HOME/netmap/known_hosts, else ~/.config/netmap/known_hosts. */
export function knownHostsPath(env: Record<string, string | undefined> = process.env): string {
  if (env.NETMAP_KNOWN_HOSTS) return env.NETMAP_KNOWN_HOSTS;
  return join(env.XDG_CONFIG_HOME || join(homedir(), ".config"), "netmap", "known_hosts");
}

export interface SshOptions {
  knownHostsFile: string;
  /** The program to run; `ssh` from PATH unless given. */
  sshBinary?: string;
  /** Extra ssh options placed before the destination (e.g. ["-o", "BatchMode=yes"]), fixed by NetMap itself. */
  extraOptions?: string[];
  /**
   * stdin: a stream is piped into the remote command (e.g. a file to upload). stderr: ssh's
   * and the remote command's errors go to ours ("forward", the default) or only into the result
   * ("capture", for several hosts at once whose messages would interleave).
   */
  stdio?: { stdin: "inherit" | "ignore" | Readable; stdout: "inherit" | "pipe"; stderr?: "forward" | "capture" };
  /** Ends ssh (SIGTERM) when aborted, e.g. at a timeout: the result then says `aborted`. */
  signal?: AbortSignal;
}

export interface SshInvocation {
  configText: string;
  /** Arguments after the program name; the config path is filled in at run time. */
  args(configPath: string): string[];
  target: string;
}

/**
 * The ssh_config NetMap writes for a route (for `netmap ssh` and the web terminal alike): one
 * Host block per hop, then the user's own ~/.ssh/config under `Host *`.
 */
export function routeSshConfig(hops: Hop[], options: { knownHostsFile: string; through?: ReadonlyMap<string, string> }): string {
  return `${renderRouteConfig(hops, { knownHostsFile: options.knownHostsFile, controlPaths: options.through })}
${sshComment("The user's own settings (keys, agent forwarding...) come after NetMap's, so NetMap's win.")}
${sshComment("Under `Host *`: an Include inside the target's block would reach the target alone, not the hops before it.")}
Host *
  Include ~/.ssh/config
`;
}

/** A generated ssh_config in a private temporary directory (mode 0700, file 0600); remove() deletes both. */
export function writePrivateSshConfig(configText: string): { dir: string; path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "netmap-ssh-"));
  const path = join(dir, "ssh_config");
  writeFileSync(path, configText, { mode: 0o600 });
  return { dir, path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** What runSsh will execute, without running it: for tests and `--dry-run`. */
export function sshInvocation(hops: Hop[], command: string[], options: Pick<SshOptions, "knownHostsFile" | "extraOptions"> & { through?: ReadonlyMap<string, string> }): SshInvocation {
  const configText = routeSshConfig(hops, options);
  const target = hops[hops.length - 1]!.alias;
  return { configText, target, args: (configPath) => ["-F", configPath, ...(options.extraOptions ?? []), "--", target, ...command] };
}

export interface SshResult {
  exitCode: number;
  /** ssh was ended by options.signal. */
  aborted: boolean;
  stdout: string;
  /** The last 64 KiB of ssh's stderr (the remote command's included). */
  stderr: string;
}

/** Runs ssh through the hops; resolves with its exit code, or rejects with HostKeyChangedError. */
export async function runSsh(hops: Hop[], command: string[], options: SshOptions): Promise<SshResult> {
  ensureKnownHostsFile(options.knownHostsFile);
  const invocation = sshInvocation(hops, command, options);
  const config = writePrivateSshConfig(invocation.configText);
  try {
    const { exitCode, stderr, stdout } = await spawnForwardingStderr(options.sshBinary ?? "ssh", invocation.args(config.path), options.stdio, options.signal);
    if (exitCode === 255) {
      const changed = describeChangedKey(stderr, hops, options.knownHostsFile);
      if (changed) throw new HostKeyChangedError(changed);
    }
    return { exitCode, aborted: options.signal?.aborted ?? false, stdout, stderr };
  } finally {
    config.remove();
  }
}

/** One SSH connection to a route's last hop that several commands share (OpenSSH's ControlMaster). */
export interface SshConnection {
  /** Runs a command as a session of the connection; resolves with its exit code like runSsh. */
  run(command: string[], stdio: NonNullable<SshOptions["stdio"]>): Promise<SshResult>;
  /** Starts a command as a session and hands over the process (stdin, stdout and stderr piped). */
  spawn(command: string[]): ChildProcess;
  /** Ends the connection and every session still running on it. */
  close(): Promise<void>;
  /** Its control socket: a route through this hop can jump over it (`through`). */
  controlPath: string;
}

/**
 * Connects once through the hops (each checked against NetMap's known_hosts, as runSsh does)
 * and keeps the connection as a master that later commands multiplex over, so each costs a
 * round trip and no handshake at any hop. Rejects with HostKeyChangedError, or ExternalCommandError
 * saying what ssh said, when the connection cannot be made.
 */
export async function openSshConnection(
  hops: Hop[],
  options: Pick<SshOptions, "knownHostsFile" | "sshBinary" | "extraOptions"> & {
    /** By hop alias, connections already open to earlier hops: the jump goes over them, with no new handshake there. */
    through?: ReadonlyMap<string, string>;
  },
): Promise<SshConnection> {
  ensureKnownHostsFile(options.knownHostsFile);
  const program = options.sshBinary ?? "ssh";
  const invocation = sshInvocation(hops, [], options);
  const { dir, path: configPath, remove } = writePrivateSshConfig(invocation.configText);
  const socket = join(dir, "control");
  const master = spawn(program, ["-F", configPath, ...(options.extraOptions ?? []), "-M", "-N", "-S", socket, "-o", "ControlPersist=no", "--", invocation.target], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  master.stderr!.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString("utf8")).slice(-65536)));
  const exited = new Promise<number>((resolve) => master.once("close", (code, signal) => resolve(code ?? (signal ? 128 : 1))));
  let spawnError: Error | undefined;
  master.once("error", (error) => (spawnError = error));
  // ssh creates the control socket once every hop is authenticated.
  for (let exitCode: number | undefined; !existsSync(socket); ) {
    exitCode = await Promise.race([exited, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 25))]);
    if (exitCode === undefined) continue;
    remove();
    if (spawnError) throw new ExternalCommandError(`cannot run ${program}: ${spawnError.message} (install openssh-client)`);
    const changed = exitCode === 255 ? describeChangedKey(stderr, hops, options.knownHostsFile) : undefined;
    if (changed) throw new HostKeyChangedError(changed);
    throw new ExternalCommandError(`ssh failed: ${stderr.replaceAll("\r", "").trim().split("\n").slice(-3).join("; ") || `exit ${exitCode}`}`);
  }
  const session = (command: string[]) => ["-F", configPath, "-S", socket, "-o", "ControlMaster=no", "--", invocation.target, ...command];
  return {
    controlPath: socket,
    run: async (command, stdio) => ({ ...(await spawnForwardingStderr(program, session(command), stdio)), aborted: false }),
    spawn: (command) => spawn(program, session(command), { stdio: ["pipe", "pipe", "pipe"], shell: false }),
    close: async () => {
      if (master.exitCode === null && master.signalCode === null) master.kill("SIGTERM");
      // "close" also waits for every process holding the master's stderr, and the ProxyJump
      // child it started can outlive it; the master's own exit is what ends the connection.
      if (!(await ended(master, 5_000))) {
        master.kill("SIGKILL");
        await ended(master, 5_000);
      }
      master.stderr!.destroy();
      remove();
    },
  };
}

/** Whether the process has exited (now, or within the time given). */
function ended(child: ChildProcess, withinMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), withinMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function ensureKnownHostsFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, "", { flag: "a", mode: 0o600 });
}

function spawnForwardingStderr(
  program: string,
  args: string[],
  stdio: SshOptions["stdio"] = { stdin: "inherit", stdout: "inherit" },
  signal?: AbortSignal,
): Promise<{ exitCode: number; stderr: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const input = typeof stdio.stdin === "string" ? undefined : stdio.stdin;
    const child = spawn(program, args, { stdio: [input ? "pipe" : (stdio.stdin as "inherit" | "ignore"), stdio.stdout, "pipe"], shell: false, signal });
    if (input) {
      // ssh may exit before reading everything (a refused host key); its exit code tells why, not EPIPE.
      child.stdin!.on("error", () => {});
      input.once("error", (error) => child.stdin!.destroy(error));
      input.pipe(child.stdin!);
      child.once("close", () => input.destroy());
    }
    let stderr = "";
    let stdout = "";
    child.stderr!.on("data", (chunk: Buffer) => {
      if (stdio.stderr !== "capture") process.stderr.write(chunk);
      stderr = (stderr + chunk.toString("utf8")).slice(-65536);
    });
    child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.once("error", (error) => {
      // Aborted (options.signal): killed, and "close" tells how it ended.
      if (error.name !== "AbortError") reject(new ExternalCommandError(`cannot run ${program}: ${error.message} (install openssh-client)`));
    });
    child.once("close", (code, signal) => resolve({ exitCode: code ?? (signal ? 128 : 1), stderr, stdout }));
  });
}

/** The pinned and offered fingerprints when ssh refused a changed host key, else undefined. */
export function describeChangedKey(stderr: string, hops: Hop[], knownHostsFile: string): string | undefined {
  const changed = /Host key for (\S+) has changed/.exec(stderr) ?? (/REMOTE HOST IDENTIFICATION HAS CHANGED/.test(stderr) ? [] : null);
  if (!changed) return undefined;
  const offered = /The fingerprint for the (\S+) key sent by the remote host is\s*\r?\n\s*(SHA256:[A-Za-z0-9+/=]+)/.exec(stderr);
  const alias = changed[1] ?? "";
  const hop = hops.find((h) => h.alias === alias);
  const name = hop ? `${hop.client}/${hop.site}/${hop.name}` : alias || "a hop";
  const pinned = alias ? pinnedFingerprints(alias, knownHostsFile) : [];
  return [
    `host key of ${name} has changed; connection refused.`,
    `  pinned:  ${pinned.length ? pinned.join(", ") : "(unknown)"}`,
    `  offered: ${offered ? `${offered[2]} (${offered[1]})` : "(see ssh's message above)"}`,
    `If the change is expected (the host was reinstalled), run: netmap trust ${name}`,
  ].join("\n");
}

/** `SHA256:… (ED25519)` for each key pinned under alias. */
export function pinnedFingerprints(alias: string, knownHostsFile: string): string[] {
  const result = spawnSync("ssh-keygen", ["-l", "-F", alias, "-f", knownHostsFile], { encoding: "utf8" });
  if (result.error) throw new ExternalCommandError(`cannot run ssh-keygen: ${result.error.message} (install openssh-client)`);
  // Lines look like "lab.ns.bastion2 ED25519 SHA256:…".
  return [...result.stdout.matchAll(/^\S+\s+(\S+)\s+(SHA256:\S+)\s*$/gm)].map((m) => `${m[2]} (${m[1]})`);
}

/**
 * Forgets the key pinned for the last hop and learns the one it offers now, by
 * connecting through the route (earlier hops are checked as usual). Returns
 * the new fingerprints.
 */
export async function retrust(hops: Hop[], options: SshOptions): Promise<{ removed: string[]; learned: string[] }> {
  const alias = hops[hops.length - 1]!.alias;
  ensureKnownHostsFile(options.knownHostsFile);
  const removed = pinnedFingerprints(alias, options.knownHostsFile);
  if (removed.length) {
    const result = spawnSync("ssh-keygen", ["-R", alias, "-f", options.knownHostsFile], { encoding: "utf8" });
    if (result.status !== 0) throw new ExternalCommandError(`ssh-keygen -R ${alias} failed: ${result.stderr.trim()}`);
    rmSync(`${options.knownHostsFile}.old`, { force: true });
    chmodSync(options.knownHostsFile, 0o600);
  }
  // The key is exchanged (and, with accept-new, pinned) before authentication,
  // so even a refused login leaves it learned.
  await runSsh(hops, ["true"], { ...options, extraOptions: ["-o", "BatchMode=yes", ...(options.extraOptions ?? [])], stdio: { stdin: "ignore", stdout: "pipe" } });
  const learned = pinnedFingerprints(alias, options.knownHostsFile);
  if (!learned.length) throw new ExternalCommandError(`could not learn the host key of ${alias}: ssh did not reach it (see above)`);
  return { removed, learned };
}
