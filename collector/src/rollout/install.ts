// `netmap agent install`: puts the agent on hosts through their bastion chains with
// runSsh (so every hop is checked against NetMap's known_hosts), with the same
// layout as deploy/ansible's role: the binary in /usr/local/bin (uploaded under a
// temporary name in the same directory, checked by sha256, then renamed), the unit,
// /etc/netmap/agent.yaml (kept when present unless forced), then systemd if it runs.
// Files go up as the stdin of `cat > tmp`, so the target needs nothing but a shell,
// coreutils and, for a user other than root, passwordless sudo.
import { createHash } from "node:crypto";
import { createReadStream, existsSync, readFileSync, statSync } from "node:fs";
import { join, posix, relative } from "node:path";
import { Readable } from "node:stream";
import { stringify } from "yaml";
import { AgentInstallError, NetMapError } from "../errors.ts";
import type { Hop } from "../topology/model.ts";
import { formatHop } from "../topology/routes.ts";
import { runSsh } from "../topology/ssh.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;
export const DEFAULT_DIST_DIR = join(ROOT, "dist");
export const DEFAULT_UNIT_FILE = join(ROOT, "deploy", "systemd", "netmap-agent.service");

/** Where the agent's files go on a target (the Ansible role uses the same). */
export const AGENT_PATHS = {
  binary: "/usr/local/bin/netmap-agent",
  unit: "/etc/systemd/system/netmap-agent.service",
  config: "/etc/netmap/agent.yaml",
  creds: "/etc/netmap/nats.creds",
  /** Hands the creds to the unit's DynamicUser (deploy/systemd/netmap-agent.service says how). */
  credsDropIn: "/etc/systemd/system/netmap-agent.service.d/nats-creds.conf",
  /** The host's own nkey seed, minted by the collector (--mint-nkey). */
  nkey: "/etc/netmap/nats.nk",
  nkeyDropIn: "/etc/systemd/system/netmap-agent.service.d/nats-nkey.conf",
} as const;

// The creds file stays root's on disk; systemd copies it into the service's credentials
// directory, and the environment (which overrides nats.creds of the file) points there.
const CREDS_DROP_IN = `# Written by \`netmap agent install --creds\`.
[Service]
LoadCredential=nats.creds:${AGENT_PATHS.creds}
Environment=NETMAP_NATS_CREDS=%d/nats.creds
`;

const NKEY_DROP_IN = `# Written by \`netmap agent install --mint-nkey\`.
[Service]
LoadCredential=nats.nk:${AGENT_PATHS.nkey}
Environment=NETMAP_NATS_NKEY=%d/nats.nk
`;

/** A NATS identity of the host's own: the agent id it may report as, and its nkey seed. */
export interface MintedAgentIdentity {
  agentId: string;
  seed: string;
}

/** `uname -m` → the suffix of the dist file built for it. */
const ARCHITECTURES: Record<string, string> = { x86_64: "x64", aarch64: "arm64", arm64: "arm64" };

export interface InstallOptions {
  /** nats.url of a config written here; required on hosts without one. */
  natsUrl?: string;
  /** A local .creds file, uploaded to /etc/netmap/nats.creds and referenced by a config written here. */
  credsFile?: string;
  /** Overwrite an existing /etc/netmap/agent.yaml. */
  forceConfig: boolean;
  /**
   * Mints the host's own NATS identity (the collector's MintAgentIdentity, given CLIENT/SITE/NAME),
   * once the host answered: its seed goes to /etc/netmap/nats.nk and agent.yaml is written with
   * its agent id and that nkey.
   */
  mintIdentity?: (host: string) => Promise<MintedAgentIdentity>;
  /** Prepended to every installed path ("/" in production; a staging directory in tests). */
  prefix: string;
  distDir: string;
  unitFile: string;
  knownHostsFile: string;
}

export interface InstallTarget {
  /** How progress lines name the host. */
  label: string;
  /** The route, or why there is none. */
  hops: Hop[] | Error;
}

export type InstallOutcome =
  | { label: string; status: "started"; version: string }
  | { label: string; status: "not-started"; reason: string; version: string }
  | { label: string; status: "failed"; message: string };

/** One line about one host; `failed` for the line that ends its install with an error. */
export type Progress = (label: string, message: string, failed?: boolean) => void;

/** Whether the agent would accept this as nats.url: servers, comma-separated, each nats://, tls://, ws:// or wss:// (agent/src/config.ts). */
export function validNatsUrl(value: string): boolean {
  const servers = value.split(",").map((s) => s.trim()).filter(Boolean);
  return (
    servers.length > 0 &&
    servers.every((server) => {
      try {
        return ["nats:", "tls:", "ws:", "wss:"].includes(new URL(server).protocol);
      } catch {
        return false;
      }
    })
  );
}

/** Installs on every target, `parallel` at a time; never rejects: each host's failure is its outcome. */
export async function installAgents(targets: InstallTarget[], options: InstallOptions, progress: Progress, parallel = 4): Promise<InstallOutcome[]> {
  const outcomes: InstallOutcome[] = new Array(targets.length);
  const hashes = new Map<string, Promise<string>>();
  let next = 0;
  const worker = async () => {
    while (next < targets.length) {
      const index = next++;
      outcomes[index] = await installAgent(targets[index]!, options, progress, hashes);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallel, targets.length)) }, worker));
  return outcomes;
}

/** What installAgent would do on a target, one line per step, without connecting. */
export function describeInstall(target: InstallTarget, options: InstallOptions): string[] {
  if (target.hops instanceof Error) return [`cannot install: ${target.hops.message}`];
  const at = (path: string) => installedPath(options.prefix, path);
  const dist = relativeToCwd(join(options.distDir, "netmap-agent-linux-{x64|arm64}"));
  const config = configText(options);
  return [
    `route ${target.hops.map(formatHop).join(" → ")}`,
    `would upload ${dist} (by the target's uname -m) to ${at(AGENT_PATHS.binary)} (0755) unless its sha256 is already there`,
    `would write ${at(AGENT_PATHS.unit)} (0644) from ${relativeToCwd(options.unitFile)}`,
    ...(options.credsFile
      ? [`would upload ${options.credsFile} to ${at(AGENT_PATHS.creds)} (0600)`, `would write ${at(AGENT_PATHS.credsDropIn)} (0644), handing it to the service`]
      : []),
    ...(options.mintIdentity
      ? [`would ask the collector for a NATS nkey of ${targetHost(target.hops)}'s own and write its seed to ${at(AGENT_PATHS.nkey)} (0600)`, `would write ${at(AGENT_PATHS.nkeyDropIn)} (0644), handing it to the service`]
      : []),
    options.mintIdentity
      ? `would write ${at(AGENT_PATHS.config)} (0600) with the minted agent id and nkey: ${JSON.stringify(configObject(options, "<agent id>"))}`
      : config
        ? `would write ${at(AGENT_PATHS.config)} (0600)${options.forceConfig ? "" : " if absent"}: ${JSON.stringify(configObject(options))}`
        : `would keep ${at(AGENT_PATHS.config)}; without --nats a host that has none fails`,
    `would run ${at(AGENT_PATHS.binary)} --version`,
    options.prefix === "/"
      ? "would run systemctl daemon-reload, enable and restart netmap-agent where systemd runs"
      : "would not start it: staged under --prefix",
  ];
}

interface Probe {
  architecture: string;
  root: boolean;
  systemd: boolean;
  hasConfig: boolean;
  installedHash: string;
}

async function installAgent(target: InstallTarget, options: InstallOptions, progress: Progress, hashes: Map<string, Promise<string>>): Promise<InstallOutcome> {
  const { label } = target;
  try {
    if (target.hops instanceof Error) throw target.hops;
    const hops = target.hops;
    const at = (path: string) => installedPath(options.prefix, path);
    progress(label, `connecting (${hops.map(formatHop).join(" → ")})`);
    const probe = await probeTarget(hops, options);
    const sudo = !probe.root;
    const run = (what: string, script: string, stdin?: Readable) => remote(hops, options, what, script, sudo, stdin);

    const arch = ARCHITECTURES[probe.architecture];
    if (!arch) throw new AgentInstallError(`unsupported architecture ${JSON.stringify(probe.architecture)} (uname -m); netmap-agent is built for x86_64 and aarch64`);
    if (!probe.hasConfig && !options.natsUrl) throw new AgentInstallError(`${at(AGENT_PATHS.config)} is absent: give --nats URL (a NATS server the host can reach)`);
    const binary = join(options.distDir, `netmap-agent-linux-${arch}`);
    if (!existsSync(binary)) throw new AgentInstallError(`${relativeToCwd(binary)} is missing: run \`npm run build:agent\``);
    let hash = hashes.get(binary);
    if (!hash) hashes.set(binary, (hash = sha256File(binary)));
    const localHash = await hash;

    if (probe.installedHash === localHash) {
      progress(label, `${at(AGENT_PATHS.binary)} is already netmap-agent-linux-${arch} (sha256 ${localHash.slice(0, 12)})`);
    } else {
      progress(label, `uploading netmap-agent-linux-${arch} (${mebibytes(statSync(binary).size)})`);
      await run("upload of the binary", putFileScript(at(AGENT_PATHS.binary), "0755", localHash), createReadStream(binary));
    }
    progress(label, `writing ${at(AGENT_PATHS.unit)}`);
    await run("writing the unit", putFileScript(at(AGENT_PATHS.unit), "0644"), Readable.from([readFileSync(options.unitFile)]));
    if (options.credsFile) {
      progress(label, `writing ${at(AGENT_PATHS.creds)}`);
      await run("writing the creds", putFileScript(at(AGENT_PATHS.creds), "0600"), Readable.from([readFileSync(options.credsFile)]));
      progress(label, `writing ${at(AGENT_PATHS.credsDropIn)}`);
      await run("writing the creds drop-in", putFileScript(at(AGENT_PATHS.credsDropIn), "0644"), Readable.from([Buffer.from(CREDS_DROP_IN)]));
    }
    const identity = options.mintIdentity && (await options.mintIdentity(targetHost(hops)));
    if (identity) {
      progress(label, `writing ${at(AGENT_PATHS.nkey)} (a NATS identity of its own, agent id ${identity.agentId})`);
      await run("writing the nkey", putFileScript(at(AGENT_PATHS.nkey), "0600"), Readable.from([Buffer.from(`${identity.seed}\n`)]));
      await run("writing the nkey drop-in", putFileScript(at(AGENT_PATHS.nkeyDropIn), "0644"), Readable.from([Buffer.from(NKEY_DROP_IN)]));
    }
    // The agent takes one way to log in: the drop-in of the other one goes.
    const stale = identity ? AGENT_PATHS.credsDropIn : options.credsFile ? AGENT_PATHS.nkeyDropIn : undefined;
    if (stale) await run("removing the other login's drop-in", `rm -f ${shellQuote(at(stale))}`);
    const config = configText(options, identity?.agentId);
    // A minted identity needs its config: the agent must report as the id the nkey may publish.
    if (probe.hasConfig && !options.forceConfig && !identity) {
      progress(label, `keeping the existing ${at(AGENT_PATHS.config)} (--force-config replaces it)`);
    } else if (config) {
      progress(label, `writing ${at(AGENT_PATHS.config)}`);
      await run("writing the config", putFileScript(at(AGENT_PATHS.config), "0600"), Readable.from([Buffer.from(config)]));
    }

    const version = (await remote(hops, options, "netmap-agent --version", `exec ${shellQuote(at(AGENT_PATHS.binary))} --version`, false)).trim();
    progress(label, version);

    if (!probe.systemd) {
      progress(label, "installed, not started: no systemd");
      return { label, status: "not-started", reason: "no systemd", version };
    }
    if (options.prefix !== "/") {
      progress(label, `installed under ${options.prefix}, not started: staged with --prefix`);
      return { label, status: "not-started", reason: "--prefix", version };
    }
    progress(label, "starting netmap-agent");
    await run("starting the service", "systemctl daemon-reload && systemctl enable --quiet netmap-agent && systemctl restart netmap-agent");
    progress(label, "installed, started");
    return { label, status: "started", version };
  } catch (error) {
    const message = error instanceof NetMapError ? error.message : (error as Error).stack ?? String(error);
    progress(label, `failed: ${message}`, true);
    return { label, status: "failed", message };
  }
}

/** One round trip: architecture, root or not (and sudo), systemd, config present, the installed binary's hash. */
async function probeTarget(hops: Hop[], options: InstallOptions): Promise<Probe> {
  const binary = shellQuote(installedPath(options.prefix, AGENT_PATHS.binary));
  const config = shellQuote(installedPath(options.prefix, AGENT_PATHS.config));
  const script = [
    "uname -m",
    "id -u",
    "if [ -d /run/systemd/system ]; then echo systemd; else echo no-systemd; fi",
    `if [ -e ${config} ]; then echo config; else echo no-config; fi`,
    `if [ -r ${binary} ]; then sha256sum < ${binary} | cut -d' ' -f1; else echo none; fi`,
    'if [ "$(id -u)" != 0 ]; then sudo -n true 2>&1 && echo sudo || echo no-sudo; fi',
  ].join("\n");
  const lines = (await remote(hops, options, "probe", script, false)).trim().split("\n");
  const [architecture = "", uid = "", systemd, config_, installedHash = "", ...rest] = lines;
  const root = uid.trim() === "0";
  if (!root && rest.at(-1) !== "sudo") {
    throw new AgentInstallError(`user ${hops.at(-1)!.user ?? "(ssh default)"} is not root and sudo needs a password (sudo -n: ${rest.slice(0, -1).join(" ").trim() || "not available"}); allow it NOPASSWD or route as root`);
  }
  return { architecture: architecture.trim(), root, systemd: systemd === "systemd", hasConfig: config_ === "config", installedHash: installedHash.trim() };
}

/** Writes stdin to a temporary name beside `path`, sets its mode, checks its sha256 if given, then renames it over `path`. */
function putFileScript(path: string, mode: string, sha256?: string): string {
  const dir = posix.dirname(path);
  return [
    "set -e",
    `d=${shellQuote(dir)}`,
    `t="$d/.${posix.basename(path)}.netmap-$$.tmp"`,
    'mkdir -p "$d"',
    `trap 'rm -f "$t"' EXIT`,
    '(umask 077 && cat > "$t")',
    `chmod ${mode} "$t"`,
    ...(sha256
      ? [`h=$(sha256sum < "$t" | cut -d' ' -f1)`, `if [ "$h" != ${sha256} ]; then echo "sha256 on the target is $h, expected ${sha256}" >&2; exit 3; fi`]
      : []),
    `mv -f "$t" ${shellQuote(path)}`,
    "trap - EXIT",
  ].join("\n");
}

async function remote(hops: Hop[], options: InstallOptions, what: string, script: string, sudo: boolean, stdin?: Readable): Promise<string> {
  const command = `${sudo ? "sudo -n " : ""}sh -c ${shellQuote(script)}`;
  const result = await runSsh(hops, [command], {
    knownHostsFile: options.knownHostsFile,
    // No prompt can be answered with several hosts at once. ConnectTimeout reaches the last
    // hop only: ProxyJump's hops take options from the generated ssh_config alone.
    extraOptions: ["-o", "BatchMode=yes", "-o", "ConnectTimeout=30"],
    stdio: { stdin: stdin ?? "ignore", stdout: "pipe", stderr: "capture" },
  });
  if (result.exitCode !== 0) {
    const said = result.stderr.replaceAll("\r", "").trim().split("\n").slice(-3).join("; ");
    const why = result.exitCode === 255 ? `ssh failed: ${said || "no message"}` : `exit ${result.exitCode}${said ? `: ${said}` : ""}`;
    throw new AgentInstallError(`${what}: ${why}`);
  }
  return result.stdout;
}

function configObject(options: InstallOptions, agentId?: string): Record<string, unknown> | undefined {
  if (!options.natsUrl) return undefined;
  const login = agentId ? { nkey: AGENT_PATHS.nkey } : options.credsFile ? { creds: AGENT_PATHS.creds } : {};
  return { ...(agentId && { agent_id: agentId }), nats: { url: options.natsUrl, ...login } };
}

/** CLIENT/SITE/NAME of a route's target, as the collector names it. */
function targetHost(hops: Hop[]): string {
  const last = hops.at(-1)!;
  return `${last.client}/${last.site}/${last.name}`;
}

function configText(options: InstallOptions, agentId?: string): string | undefined {
  const config = configObject(options, agentId);
  return config && `# Written by \`netmap agent install\`; settings in docs/agent.md.\n${stringify(config)}`;
}

export function installedPath(prefix: string, path: string): string {
  return prefix === "/" ? path : posix.join(prefix, path);
}

/** Single-quotes for a POSIX shell. */
function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(path)
      .on("error", reject)
      .on("data", (chunk) => hash.update(chunk))
      .on("end", () => resolve(hash.digest("hex")));
  });
}

function mebibytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function relativeToCwd(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith("..") ? path : rel;
}
