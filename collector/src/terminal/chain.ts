// SSH from the collector through every hop of a route (topology/routes.ts gives the hops, as
// it does to `netmap ssh`), with ssh2: the first hop over TCP, each next one over a
// direct-tcpip channel of the one before (what OpenSSH's ProxyJump does), so there is no
// local process or pty per session and each hop reports its own progress and failure. Every
// hop's host key is checked against NetMap's known_hosts under the hop's alias
// (client.site.name): a key first seen is pinned, a different one refuses the session. Each
// hop's login and keys come from the topology, then the ssh_config of the user the collector
// runs as (user-ssh-config.ts, read with `ssh -G` on the config `netmap ssh` writes for the
// route), then netmap.yaml's `ssh:` section.
import ssh2, { type AuthenticationType, type Client, type ClientChannel, type ConnectConfig } from "ssh2";
import type { Duplex } from "node:stream";
import { userInfo } from "node:os";
import { HopError, type HopFailure } from "../errors.ts";
import type { Hop } from "../topology/model.ts";
import { routeSshConfig, writePrivateSshConfig } from "../topology/ssh.ts";
import type { PrivateKey, SshClientConfig } from "./config.ts";
import { fingerprint, keyType, learnKey, pinnedAlgorithms, pinnedKeys, type HostKey } from "./known-hosts.ts";
import { userSshSettings, type UserSshSettings } from "./user-ssh-config.ts";

export type HopProgress = { index: number; hop: string; state: "connecting" | "connected" | "failed" };

export interface Chain {
  /** The last hop's connection: the target's. */
  target: Client;
  /** The hops with the user each was logged in as. */
  logins: Hop[];
  /** Closes every hop, the target first. */
  close(): void;
}

const SSH2_HOST_KEY_ALGORITHMS = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"];

const hopName = (hop: Hop) => `${hop.client}/${hop.site}/${hop.name}`;

/** Connects hop after hop; resolves when the target is logged in to, or rejects with a HopError naming the hop. */
export async function openChain(hops: Hop[], ssh: SshClientConfig, onProgress: (progress: HopProgress) => void = () => {}): Promise<Chain> {
  const clients: Client[] = [];
  const logins: Hop[] = [];
  const close = () => {
    for (const client of [...clients].reverse()) client.end();
  };
  // One config for the whole route, the one `netmap ssh` would run with (every hop checked by
  // assertSafeHop as it is written); ssh -G reads it per hop.
  const config = writePrivateSshConfig(routeSshConfig(hops, { knownHostsFile: ssh.knownHostsFile }));
  try {
    for (const [index, hop] of hops.entries()) {
      onProgress({ index, hop: hopName(hop), state: "connecting" });
      const user = await userSshSettings(config.path, hop.alias).catch((error: Error) => {
        throw new HopError(hopName(hop), index, "error", `${hopName(hop)}: cannot read the ssh_config of the collector's user: ${error.message}`);
      });
      const login = { ...hop, user: hop.user ?? user.user ?? ssh.user ?? userInfo().username };
      clients.push(await connectHop(login, index, clients.at(-1), ssh, user));
      logins.push(login);
      onProgress({ index, hop: hopName(hop), state: "connected" });
    }
  } catch (error) {
    close();
    if (error instanceof HopError) onProgress({ index: error.index, hop: error.hop, state: "failed" });
    throw error;
  } finally {
    config.remove();
  }
  return { target: clients.at(-1)!, logins, close };
}

/** Connects to one hop as hop.user (resolved by openChain), with the keys of the user's ssh_config and of netmap.yaml. */
async function connectHop(hop: Hop & { user: string }, index: number, previous: Client | undefined, ssh: SshClientConfig, user: UserSshSettings): Promise<Client> {
  const name = hopName(hop);
  const alias = hop.alias;
  const fail = (reason: HopFailure, message: string, fingerprints?: HopError["fingerprints"]) => new HopError(name, index, reason, `${name}: ${message}`, fingerprints);
  const pinned = await pinnedKeys(alias, ssh.knownHostsFile);
  const timeoutMs = ssh.connectTimeoutSeconds * 1000;
  const deadline = Date.now() + timeoutMs;
  let sock: Duplex | undefined;
  if (previous) {
    sock = await new Promise<Duplex>((resolve, reject) => {
      const timer = setTimeout(() => reject(fail("timeout", `no connection to ${hop.address}:${hop.port} from the previous hop within ${ssh.connectTimeoutSeconds} s`)), timeoutMs);
      previous.forwardOut("127.0.0.1", 0, hop.address, hop.port, (error, channel) => {
        clearTimeout(timer);
        // sshd says "Connection refused", "No route to host"... in the open failure's description.
        if (error) reject(fail("refused", `the previous hop could not connect to ${hop.address}:${hop.port}: ${error.message.replace(/^\(SSH\) Channel open failure: /, "")}`));
        else resolve(channel);
      });
    });
  }

  let refusal: HopError | undefined;
  const client = new ssh2.Client();
  const hostVerifier = (blob: Buffer, verify: (valid: boolean) => void) => {
    const offered: HostKey = { type: keyType(blob), blob };
    if (pinned.length === 0) {
      try {
        learnKey(alias, offered, ssh.knownHostsFile);
      } catch (error) {
        // A key that cannot be pinned is not trusted: the next session could not check it.
        refusal = fail("error", `cannot pin its host key in ${ssh.knownHostsFile}: ${(error as Error).message}`);
        return verify(false);
      }
      verify(true);
    } else if (pinned.some((key) => key.blob.equals(blob))) {
      verify(true);
    } else {
      const fingerprints = { pinned: pinned.map(fingerprint), offered: fingerprint(offered) };
      refusal = new HopError(name, index, "key_changed", [
        `host key of ${name} has changed; connection refused.`,
        `  pinned:  ${fingerprints.pinned.join(", ")}`,
        `  offered: ${fingerprints.offered}`,
        `If the change is expected (the host was reinstalled), run: netmap trust ${name}`,
      ].join("\n"), fingerprints);
      verify(false);
    }
  };
  const preferred = pinnedAlgorithms(pinned).filter((a) => SSH2_HOST_KEY_ALGORITHMS.includes(a));
  const username = hop.user;
  const keys = loginKeys(ssh, user);
  const config: ConnectConfig = {
    ...(sock ? { sock } : { host: hop.address, port: hop.port }),
    username,
    readyTimeout: Math.max(1000, deadline - Date.now()),
    keepaliveInterval: 15_000,
    hostVerifier,
    authHandler: authMethods(username, keys),
    ...(preferred.length && { algorithms: { serverHostKey: { remove: preferred, prepend: preferred } as never } }),
  };
  return new Promise<Client>((resolve, reject) => {
    // Keystrokes are small writes: without this, Nagle holds each one for the previous one's ACK (40 ms).
    client.once("connect", () => client.setNoDelay(true));
    client.once("ready", () => {
      client.removeAllListeners("error");
      // A hop that drops later ends the session through the target's channel closing.
      client.on("error", () => {});
      resolve(client);
    });
    client.once("error", (error: Error & { level?: string; code?: string }) => {
      client.end();
      if (refusal) return reject(refusal);
      if (error.level === "client-timeout") return reject(fail("timeout", `no SSH answer from ${hop.address}:${hop.port} within ${ssh.connectTimeoutSeconds} s`));
      if (error.level === "client-authentication") {
        const offered = [keys.agent && "the agent's keys", ...keys.identities.map((key) => key.file)].filter(Boolean).join(", ") || "no key (set ssh.identities or ssh.agent, or IdentityFile in ~/.ssh/config)";
        return reject(fail("auth", `${username}@${hop.address} refused the collector's keys (tried ${offered})`));
      }
      if (error.code === "ECONNREFUSED") return reject(fail("refused", `${hop.address}:${hop.port} refused the connection`));
      if (error.code === "ETIMEDOUT" || error.code === "EHOSTUNREACH" || error.code === "ENETUNREACH") return reject(fail("timeout", `${hop.address}:${hop.port}: ${error.code}`));
      reject(fail("error", `${hop.address}:${hop.port}: ${error.message}`));
    });
    client.connect(config);
  });
}

/**
 * What a hop is offered: the agent (the user's IdentityAgent, else ssh.agent; none with
 * IdentitiesOnly), then the user's identity files, then netmap.yaml's ssh.identities.
 */
function loginKeys(ssh: SshClientConfig, user: UserSshSettings): { agent: string | null; identities: PrivateKey[] } {
  const agent = user.identitiesOnly ? null : user.agent === undefined ? ssh.agent : user.agent;
  return { agent, identities: [...user.identities, ...ssh.identities] };
}

/** The agent's keys first, then each identity, as ssh tries them. */
function authMethods(username: string, keys: { agent: string | null; identities: PrivateKey[] }): (methodsLeft: AuthenticationType[], partial: boolean, next: (method: never) => void) => void {
  const queue: object[] = [
    ...(keys.agent ? [{ type: "agent", username, agent: keys.agent }] : []),
    ...keys.identities.map((key) => ({ type: "publickey", username, key: key.reveal() })),
  ];
  return (_methodsLeft, _partial, next) => next((queue.shift() ?? false) as never);
}

/** The target's interactive shell, in a pty of the browser's size. */
export function openShell(chain: Chain, size: { cols: number; rows: number }): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    chain.target.shell({ term: "xterm-256color", cols: size.cols, rows: size.rows }, (error, channel) => (error ? reject(error) : resolve(channel)));
  });
}
