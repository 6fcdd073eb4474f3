// OpenSSH for the labs of network namespaces (netns.ts's chain, rollout-lab.ts's fleet): a client
// key every host accepts for root, an ssh-agent holding it, and an sshd per host, run in the
// foreground inside the host's namespace so the test owns the process.
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const SSHD = "/usr/sbin/sshd";

/** Makes dir/client_ed25519 and an authorized_keys (dir/authorized_keys) holding it; returns the key's path. */
export function createClientKey(dir: string, comment: string): string {
  const clientKey = join(dir, "client_ed25519");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", clientKey]);
  writeFileSync(join(dir, "authorized_keys"), execFileSync("cat", [`${clientKey}.pub`]), { mode: 0o600 });
  return clientKey;
}

/** An ssh-agent listening on authSocket and holding key, as a user's keys come from their agent. */
export async function startSshAgent(authSocket: string, key: string): Promise<ChildProcess> {
  const agent = spawn("ssh-agent", ["-D", "-a", authSocket], { stdio: "ignore" });
  const env = { PATH: process.env.PATH, SSH_AUTH_SOCK: authSocket };
  // ssh-add -l says 2 until the agent answers on its socket.
  for (let i = 0; i < 100 && spawnSync("ssh-add", ["-l"], { env }).status === 2; i++) await new Promise((r) => setTimeout(r, 50));
  try {
    execFileSync("ssh-add", ["-q", key], { env, stdio: "ignore" });
  } catch (error) {
    agent.kill();
    throw error;
  }
  return agent;
}

/**
 * A mount namespace where root's home is an empty tmpfs: a lab host's sessions run none of this
 * machine's dotfiles. bash, started by sshd, reads ~/.bashrc even for `ssh host CMD`; a .bashrc
 * that runs `pyenv rehash` (as this machine's does) made every session wait 60 s on a lock a
 * killed session had left, and each SSH test through a lab ran into its timeout.
 */
function ownHome(): string[] {
  return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", 'mount -t tmpfs -o mode=0700 tmpfs "$0" && exec "$@"', rootHome()];
}

/** Root's home as the password database says: what ssh expands `~` to, whatever $HOME is. */
export function rootHome(): string {
  return execFileSync("getent", ["passwd", "root"], { encoding: "utf8" }).split(":")[5]!;
}

export interface SshdHost {
  /** Names its files in dir: <name>_sshd_config, <name>.pid. */
  name: string;
  /** The network namespace it runs in. */
  ns: string;
  /** Where it listens, on port 22. */
  address: string;
  hostKey: string;
}

/**
 * Starts sshd in host.ns, accepting dir/authorized_keys for root (createClientKey), and resolves once
 * its port takes a connection from inside the namespace. `launcher` runs between `ip netns exec` and
 * sshd (more namespaces, a bind mount…) and must end by exec'ing the arguments after its own.
 */
export async function startSshd(dir: string, host: SshdHost, launcher: string[] = []): Promise<ChildProcess> {
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 }); // sshd's privilege separation directory
  const config = join(dir, `${host.name}_sshd_config`);
  writeFileSync(
    config,
    [
      `ListenAddress ${host.address}:22`,
      `HostKey ${host.hostKey}`,
      `PidFile ${join(dir, `${host.name}.pid`)}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      "AllowTcpForwarding yes",
      "LogLevel ERROR",
      "",
    ].join("\n"),
  );
  // -D: stay in the foreground; -e: log to stderr. Root's sessions get an empty home of their own.
  const sshd = spawn("ip", ["netns", "exec", host.ns, ...ownHome(), ...launcher, SSHD, "-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
  let errors = "";
  sshd.stderr!.on("data", (chunk: Buffer) => (errors += chunk.toString()));
  const deadline = Date.now() + 20_000; // a fleet starts its sshds at once, on a loaded machine
  while (Date.now() < deadline) {
    if (sshd.exitCode !== null) throw new Error(`sshd of ${host.name} in ${host.ns} exited: ${errors}`);
    if (spawnSync("ip", ["netns", "exec", host.ns, "bash", "-c", `exec 3<>/dev/tcp/${host.address}/22`], { stdio: "ignore" }).status === 0) return sshd;
    await new Promise((r) => setTimeout(r, 50));
  }
  sshd.kill("SIGKILL");
  throw new Error(`sshd of ${host.name} in ${host.ns} did not start listening: ${errors}`);
}

/** SIGTERM, then SIGKILL if it has not exited within 2 s. */
export async function stopSshd(sshd: ChildProcess | undefined): Promise<void> {
  if (!sshd || sshd.exitCode !== null || sshd.signalCode !== null) return;
  const exited = new Promise((r) => sshd.once("exit", r));
  sshd.kill("SIGTERM");
  await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
  if (sshd.exitCode === null && sshd.signalCode === null) sshd.kill("SIGKILL");
}
