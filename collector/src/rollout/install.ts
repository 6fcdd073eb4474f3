// `netmap agent install`: puts the agent on hosts through their bastion chains, with the same
// layout as deploy/ansible's role: the binary in /usr/local/bin (unpacked under a temporary
// name in the same directory, checked by sha256, then renamed), the unit, /etc/netmap/agent.yaml
// (kept when present unless forced), then systemd if it runs. In phases over every host:
// connect and probe (one SSH connection per host, kept for every later step), stage (a copy on
// the last hop before several targets, stage.ts), upload (compressed as the target can unpack:
// artefacts.ts; from the staged copy or through the chain), configure. docs/rollout.md says why.
// The target needs a shell, coreutils and, for a user other than root, passwordless sudo;
// xz, gzip and bash make it cheaper when present.
import { createHash } from "node:crypto";
import { createReadStream, readFileSync } from "node:fs";
import { join, posix, relative } from "node:path";
import { Readable } from "node:stream";
import { stringify } from "yaml";
import { AgentInstallError, NetMapError } from "../errors.ts";
import type { Hop } from "../topology/model.ts";
import { formatHop } from "../topology/routes.ts";
import type { SshConnection } from "../topology/ssh.ts";
import { ConnectionPool } from "./connections.ts";
import { runPhase, type PhaseCounter, type PhaseProgress } from "./phases.ts";
import { AgentBuilds, ENCODINGS, UNPACKER, type AgentBuild, type Artefact, type Encoding } from "./artefacts.ts";
import { counted, stageCopies, type StagedCopies } from "./stage.ts";
import { probeTarget, putFileScript, runScript, type Probe, type Source } from "./target.ts";
import { shellQuote } from "./shell.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;
export const DEFAULT_DIST_DIR = join(ROOT, "dist");
export const DEFAULT_UNIT_FILE = join(ROOT, "deploy", "systemd", "netmap-agent.service");

/** Where the agent's files go on a target (the Ansible role uses the same). */
export const AGENT_PATHS = {
  binary: "/usr/local/bin/netmap-agent",
  /** "SHA256 SIZE" of the binary as installed, so a re-run need not hash it. */
  digest: "/usr/local/bin/.netmap-agent.sha256",
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
  /** The collector's release public key (release-key.ts), written as release_key in a config written here. */
  releaseKey?: string;
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
  /** Hosts at a time behind each bastion (the hop before them), and among hosts reached directly. */
  parallel: number;
  /** Aborting (Ctrl-C) cuts every connection; what was being written is removed on the target. */
  signal?: AbortSignal;
}

/**
 * Hosts at a time behind one bastion unless told. Every route jumps over one connection per hop,
 * so a bastion sees no new connection per target; the limit is the targets' handshakes, the
 * laptop's CPU for them, and the bastion's uplink the targets share.
 */
export const DEFAULT_PARALLEL = 12;

export interface InstallTarget {
  /** How progress lines name the host. */
  label: string;
  /** The route, or why there is none. */
  hops: Hop[] | Error;
}

/** Whether the binary was sent ("installed") or already the build's ("already there"). */
export type BinaryResult = "installed" | "already there";

/** Given a release key: whether agent.yaml now holds it ("written") or was kept as it was ("kept"). */
export type ReleaseKeyResult = "written" | "kept";

interface Installed {
  label: string;
  version: string;
  binary: BinaryResult;
  sent?: Encoding;
  bytes: number;
  releaseKey?: ReleaseKeyResult;
}

export type InstallOutcome =
  | (Installed & { status: "started" })
  | (Installed & { status: "not-started"; reason: string })
  | { label: string; status: "failed"; message: string };

export interface InstallEvents {
  /** One line about one host; `failed` for the line that ends its install with an error. */
  host(label: string, message: string, failed?: boolean): void;
  phase(progress: PhaseProgress): void;
}

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

/** What installAgent would do on a target, one line per step, without connecting. */
export function describeInstall(target: InstallTarget, options: InstallOptions): string[] {
  if (target.hops instanceof Error) return [`cannot install: ${target.hops.message}`];
  const at = (path: string) => installedPath(options.prefix, path);
  const dist = relativeToCwd(join(options.distDir, "netmap-agent-linux-{x64|arm64}"));
  const config = configText(options);
  const hop = target.hops.at(-2);
  return [
    `route ${target.hops.map(formatHop).join(" → ")}`,
    `would upload ${dist} (by the target's uname -m) to ${at(AGENT_PATHS.binary)} (0755) unless its sha256 is already there, xz- or gzip-compressed as the target can unpack${hop ? `, from a copy staged on ${formatHop(hop)} when it serves several targets` : ""}`,
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

/** One host through the phases: its connection, what the probe found, what it is sent. */
interface HostRun {
  label: string;
  hops: Hop[];
  /** The route up to the hop before the host ("" when reached directly): parallelism is bounded per bastion. */
  bastion: string;
  connection?: SshConnection;
  probe?: Probe;
  build?: AgentBuild;
  /** How its copy goes through the chain, when its binary is not the build's already. */
  send?: Encoding;
  /** How it fetches its copy from the hop instead, once staged there. */
  staged?: { copies: StagedCopies; hopAddress: string; encoding: Encoding };
  /** How it got its copy in the end. */
  sentAs?: Encoding;
  /** The installed binary's --version, once known (stored with its digest, or said by the upload). */
  version?: string;
  bytes: number;
  outcome?: InstallOutcome;
}

/** Hosts are worked on `parallel` at a time behind each bastion. */
const byBastion = (run: HostRun) => ({ key: run.bastion, bytes: 0 });

/** Installs on every target; never rejects: each host's failure is its outcome. */
export async function installAgents(targets: InstallTarget[], options: InstallOptions, events: InstallEvents): Promise<InstallOutcome[]> {
  const builds = new AgentBuilds(options.distDir);
  const runs: HostRun[] = [];
  const unroutable = new Map<InstallTarget, InstallOutcome>();
  for (const target of targets) {
    if (target.hops instanceof Error) {
      events.host(target.label, `failed: ${target.hops.message}`, true);
      unroutable.set(target, { label: target.label, status: "failed", message: target.hops.message });
    } else {
      runs.push({ label: target.label, hops: target.hops, bastion: target.hops.slice(0, -1).map(formatHop).join(" → "), bytes: 0 });
    }
  }
  const stages: StagedCopies[] = [];
  const connections = new ConnectionPool(sshOptions(options));
  const interrupt = () => void connections.close();
  options.signal?.addEventListener("abort", interrupt, { once: true });
  const fail = (run: HostRun, error: unknown) => {
    const message = options.signal?.aborted ? "interrupted" : error instanceof NetMapError ? error.message : ((error as Error).stack ?? String(error));
    events.host(run.label, `failed: ${message}`, true);
    run.outcome = { label: run.label, status: "failed", message };
  };
  try {
    await runPhase("connect", runs, options, events.phase, fail, async (run, progress) => {
      events.host(run.label, `connecting (${run.hops.map(formatHop).join(" → ")})`);
      run.connection = await connections.get(run.hops).catch((error: Error) => {
        throw error instanceof NetMapError && error.code !== "EXTERNAL_COMMAND" ? error : new AgentInstallError(`connecting: ${error.message}`);
      });
      run.probe = await probeTarget(run.connection, run.hops, {
        binary: installedPath(options.prefix, AGENT_PATHS.binary),
        digest: installedPath(options.prefix, AGENT_PATHS.digest),
        config: installedPath(options.prefix, AGENT_PATHS.config),
        unit: installedPath(options.prefix, AGENT_PATHS.unit),
      });
      plan(run, await builds.get(architectureOf(run.probe)), options);
      progress.done++;
    }, byBastion);

    const sites = stagingSites(runs.filter((run) => !run.outcome && run.send));
    // Every copy needed, made now (once per build: later rollouts find them in dist/.compressed).
    const staging = new Set(sites.flatMap((site) => site.runs));
    const copies = [...new Map(runs.filter((run) => !run.outcome && run.send).flatMap((run) => [run.send!, ...(staging.has(run) ? [fetchEncoding(run)] : [])].map((e) => [`${run.build!.arch} ${e}`, { build: run.build!, encoding: e }] as const))).values()];
    await runPhase("compress", copies, options, events.phase, () => {}, async (copy, progress) => {
      await copy.build.packed(copy.encoding);
      progress.done++;
    }, () => ({ key: "", bytes: 0 }));
    const stageArtefacts = await Promise.all(sites.map(async (site) => uniqueArtefacts(await Promise.all(site.runs.map((run) => run.build!.packed(fetchEncoding(run)))))));
    await runPhase("stage", sites, options, events.phase, () => {}, async (site, progress, index) => {
      const artefacts = stageArtefacts[index]!;
      try {
        const connection = await connections.get(site.hops);
        const copies = await stageCopies(connection, artefacts, site.runs.map((run) => run.probe!.peer!.own), (bytes) => progress.addBytes(bytes));
        stages.push(copies);
        for (const run of site.runs) run.staged = { copies, hopAddress: run.probe!.peer!.hop, encoding: fetchEncoding(run) };
        for (const run of site.runs) events.host(run.label, `fetches its copy from ${formatHop(site.hops.at(-1)!)} (staged, ${mebibytes(artefacts.reduce((sum, a) => sum + a.size, 0))})`);
      } catch (error) {
        const why = error instanceof NetMapError ? error.message : (error as Error).message;
        for (const run of site.runs) events.host(run.label, `not staged on ${formatHop(site.hops.at(-1)!)} (${why}); uploading through the chain`);
      }
      progress.done++;
    }, (site, index) => ({ key: site.hops.map(formatHop).join(" → "), bytes: stageArtefacts[index]!.reduce((sum, a) => sum + a.size, 0) }));

    const pending = () => runs.filter((run) => !run.outcome);
    const direct = new Map(await Promise.all(pending().filter((run) => run.send).map(async (run) => [run, await run.build!.packed(run.send!)] as const)));
    await runPhase("upload", pending(), options, events.phase, fail, async (run, progress) => {
      if (run.send) await upload(run, direct.get(run)!, options, events, progress);
      progress.done++;
    }, (run) => ({ key: run.bastion, bytes: run.send && !run.staged ? direct.get(run)!.size : 0 }));

    await runPhase("configure", pending(), options, events.phase, fail, async (run, progress) => {
      run.outcome = await configure(run, options, events);
      progress.done++;
    }, byBastion);
  } finally {
    options.signal?.removeEventListener("abort", interrupt);
    await Promise.all(stages.map((stage) => stage.close().catch(() => undefined)));
    await connections.close();
  }
  // In the order the targets were given.
  const routed = runs.values();
  return targets.map((target) => unroutable.get(target) ?? routed.next().value!.outcome!);
}

/** Which copy a host gets: none when its binary is the build's, else the best encoding it can unpack. */
function plan(run: HostRun, build: AgentBuild, options: InstallOptions): void {
  const probe = run.probe!;
  if (!probe.hasConfig && !options.natsUrl) throw new AgentInstallError(`${installedPath(options.prefix, AGENT_PATHS.config)} is absent: give --nats URL (a NATS server the host can reach)`);
  run.build = build;
  if (probe.installedHash === build.binary.sha256) return;
  const encoding = ENCODINGS.find((e) => build.canPack(e) && (UNPACKER[e] === undefined || probe.tools.has(UNPACKER[e]!)))!;
  run.send = encoding;
}

/**
 * A staged copy crosses the slow link once, then the LAN to each target, where unpacking is
 * what costs: gzip unpacks about three times faster than xz (docs/rollout.md).
 */
function fetchEncoding(run: HostRun): Encoding {
  return run.probe!.tools.has("gzip") && run.build!.canPack("gzip") ? "gzip" : run.send!;
}

function architectureOf(probe: Probe): string {
  const arch = ARCHITECTURES[probe.architecture];
  if (!arch) throw new AgentInstallError(`unsupported architecture ${JSON.stringify(probe.architecture)} (uname -m); netmap-agent is built for x86_64 and aarch64`);
  return arch;
}

interface Site {
  /** The route to the hop the copy is staged on. */
  hops: Hop[];
  runs: HostRun[];
}

/** Hops before two or more hosts that need the binary and can fetch it (bash, and an IPv4 address for the hop). */
function stagingSites(runs: HostRun[]): Site[] {
  const sites = new Map<string, Site>();
  for (const run of runs) {
    const peer = run.probe!.peer;
    if (run.hops.length < 2 || !run.probe!.tools.has("bash") || !peer || !/^\d+\.\d+\.\d+\.\d+$/.test(peer.hop)) continue;
    const site = sites.get(run.bastion) ?? { hops: run.hops.slice(0, -1), runs: [] };
    site.runs.push(run);
    sites.set(run.bastion, site);
  }
  return [...sites.values()].filter((site) => site.runs.length >= 2);
}

function uniqueArtefacts(artefacts: Artefact[]): Artefact[] {
  return [...new Map(artefacts.map((a) => [a.name, a])).values()];
}

async function upload(run: HostRun, artefact: Artefact, options: InstallOptions, events: InstallEvents, progress: PhaseCounter): Promise<void> {
  const { build, probe } = run;
  const put = (source: Source) => putFileScript(installedPath(options.prefix, AGENT_PATHS.binary), "0755", source, build!.binary.sha256, installedPath(options.prefix, AGENT_PATHS.digest));
  const packed = (a: Artefact) => (a.encoding === "raw" ? "" : `, ${a.encoding} ${mebibytes(a.size)}`);
  if (run.staged) {
    const staged = await build!.packed(run.staged.encoding);
    const source: Source = { from: "hop", address: run.staged.hopAddress, port: run.staged.copies.port, name: staged.name, encoding: staged.encoding };
    try {
      events.host(run.label, `unpacking netmap-agent-linux-${build!.arch} from the staged copy (${mebibytes(build!.binary.size)}${packed(staged)})`);
      run.version = versionSaid(await runScript(run.connection!, "the binary from the staged copy", put(source), !probe!.root));
      run.sentAs = staged.encoding;
      return;
    } catch (error) {
      if (options.signal?.aborted) throw error;
      events.host(run.label, `${(error as Error).message}; uploading through the chain instead`);
      progress.addTotalBytes(artefact.size);
    }
  }
  events.host(run.label, `uploading netmap-agent-linux-${build!.arch} (${mebibytes(build!.binary.size)}${packed(artefact)})`);
  const stdin = counted(createReadStream(artefact.path), (bytes) => {
    run.bytes += bytes;
    progress.addBytes(bytes);
  });
  run.version = versionSaid(await runScript(run.connection!, "upload of the binary", put({ from: "stdin", encoding: artefact.encoding }), !probe!.root, stdin));
  run.sentAs = artefact.encoding;
}

function versionSaid(stdout: string): string | undefined {
  return /^version (.+)$/m.exec(stdout)?.[1];
}

/** Everything after the binary: unit, creds, identity, config, version, start. */
async function configure(run: HostRun, options: InstallOptions, events: InstallEvents): Promise<InstallOutcome> {
  const { label, probe, build } = run;
  const at = (path: string) => installedPath(options.prefix, path);
  const run_ = (what: string, script: string, stdin?: Readable) => runScript(run.connection!, what, script, !probe!.root, stdin);
  const write = (what: string, path: string, mode: string, content: string | Buffer) => {
    events.host(label, `writing ${at(path)}`);
    return run_(what, putFileScript(at(path), mode, { from: "stdin", encoding: "raw" }), Readable.from([Buffer.from(content)]));
  };
  const binary: BinaryResult = run.send ? "installed" : "already there";
  if (!run.send) events.host(label, `${at(AGENT_PATHS.binary)} is already netmap-agent-linux-${build!.arch} (sha256 ${build!.binary.sha256.slice(0, 12)})`);
  const unit = readFileSync(options.unitFile);
  if (probe!.unitHash === createHash("sha256").update(unit).digest("hex")) events.host(label, `${at(AGENT_PATHS.unit)} is unchanged`);
  else await write("writing the unit", AGENT_PATHS.unit, "0644", unit);
  if (options.credsFile) {
    await write("writing the creds", AGENT_PATHS.creds, "0600", readFileSync(options.credsFile));
    await write("writing the creds drop-in", AGENT_PATHS.credsDropIn, "0644", CREDS_DROP_IN);
  }
  const identity = options.mintIdentity && (await options.mintIdentity(targetHost(run.hops)));
  if (identity) {
    events.host(label, `writing ${at(AGENT_PATHS.nkey)} (a NATS identity of its own, agent id ${identity.agentId})`);
    await run_("writing the nkey", putFileScript(at(AGENT_PATHS.nkey), "0600", { from: "stdin", encoding: "raw" }), Readable.from([Buffer.from(`${identity.seed}\n`)]));
    await run_("writing the nkey drop-in", putFileScript(at(AGENT_PATHS.nkeyDropIn), "0644", { from: "stdin", encoding: "raw" }), Readable.from([Buffer.from(NKEY_DROP_IN)]));
  }
  // The agent takes one way to log in: the drop-in of the other one goes.
  const stale = identity ? AGENT_PATHS.credsDropIn : options.credsFile ? AGENT_PATHS.nkeyDropIn : undefined;
  if (stale) await run_("removing the other login's drop-in", `rm -f ${shellQuote(at(stale))}`);
  const config = configText(options, identity?.agentId);
  // A minted identity needs its config: the agent must report as the id the nkey may publish.
  // A kept config is kept whole, release_key included: the sysadmin's file is not edited.
  let releaseKey: ReleaseKeyResult | undefined;
  if (probe!.hasConfig && !options.forceConfig && !identity) {
    events.host(label, `keeping the existing ${at(AGENT_PATHS.config)} (--force-config replaces it)`);
    if (options.releaseKey) releaseKey = "kept";
  } else if (config) {
    await write("writing the config", AGENT_PATHS.config, "0600", config);
    if (options.releaseKey) releaseKey = "written";
  }

  const version =
    run.version ?? (run.send ? undefined : probe!.installedVersion || undefined) ?? (await runScript(run.connection!, "netmap-agent --version", `exec ${shellQuote(at(AGENT_PATHS.binary))} --version`, false)).trim();
  events.host(label, version);
  const done = { label, version, binary, sent: run.sentAs, bytes: run.bytes, ...(releaseKey && { releaseKey }) };
  if (!probe!.systemd) {
    events.host(label, "installed, not started: no systemd");
    return { ...done, status: "not-started", reason: "no systemd" };
  }
  if (options.prefix !== "/") {
    events.host(label, `installed under ${options.prefix}, not started: staged with --prefix`);
    return { ...done, status: "not-started", reason: "--prefix" };
  }
  events.host(label, "starting netmap-agent");
  await run_("starting the service", "systemctl daemon-reload && systemctl enable --quiet netmap-agent && systemctl restart netmap-agent");
  events.host(label, "installed, started");
  return { ...done, status: "started" };
}

function sshOptions(options: InstallOptions) {
  // No prompt can be answered with several hosts at once. ConnectTimeout reaches the last
  // hop only: ProxyJump's hops take options from the generated ssh_config alone.
  return { knownHostsFile: options.knownHostsFile, extraOptions: ["-o", "BatchMode=yes", "-o", "ConnectTimeout=30"] };
}

function configObject(options: InstallOptions, agentId?: string): Record<string, unknown> | undefined {
  if (!options.natsUrl) return undefined;
  const login = agentId ? { nkey: AGENT_PATHS.nkey } : options.credsFile ? { creds: AGENT_PATHS.creds } : {};
  return { ...(agentId && { agent_id: agentId }), nats: { url: options.natsUrl, ...login }, ...(options.releaseKey && { release_key: options.releaseKey }) };
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

function mebibytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function relativeToCwd(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith("..") ? path : rel;
}
