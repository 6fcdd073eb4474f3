// `netmap agent install HOST...|--all`: routes from the collector over gRPC (or a
// topology file with --topology), the install itself in rollout/install.ts.
import { closeSync, existsSync, fchmodSync, openSync, readFileSync, writeSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { loadCollectorConfig } from "../config.ts";
import { NetMapError, RouteError, TopologyError, UsageError } from "../errors.ts";
import { hopFromMessage } from "../grpc/messages.ts";
import {
  DEFAULT_DIST_DIR,
  DEFAULT_PARALLEL,
  DEFAULT_UNIT_FILE,
  describeInstall,
  installAgents,
  validNatsUrl,
  type InstallOptions,
  type InstallOutcome,
  type InstallTarget,
} from "../rollout/install.ts";
import { readReleasePublicKey } from "../rollout/release-key.ts";
import { terminalSafe } from "../text/escape.ts";
import { parseTopologyFile } from "../topology/file.ts";
import type { Hop, Topology } from "../topology/model.ts";
import { allHosts, findHost, qualifiedName, routeFrom } from "../topology/routes.ts";
import { knownHostsPath } from "../topology/ssh.ts";
import { connectAdmin, type AdminClient } from "./admin-client.ts";
import { upgradeCommand } from "./agent-upgrade.ts";
import { defaultOut, parseCommandLine, type Out } from "./command-line.ts";
import { formatSummary, formatSummaryJson, progressPrinter } from "./install-report.ts";

export const AGENT_COMMANDS = ["agent"] as const;

export const AGENT_USAGE = `  agent install HOST...|--all [--nats URL] [--creds FILE|--mint-nkey] [--force-config]
                [--parallel N] [--json] [--dry-run] [--topology FILE] [--prefix DIR] [--config F]
                                    push netmap-agent (dist/netmap-agent-linux-x64|arm64, by the
                                    host's uname -m), its unit and /etc/netmap/agent.yaml through
                                    each host's bastion chain, then start it where systemd runs;
                                    the binary goes xz/gzip-compressed as the host can unpack,
                                    staged once on a bastion that serves several hosts.
                                    --nats: the NATS URL the host reaches (needed where it has no
                                    agent.yaml); --creds: uploaded as /etc/netmap/nats.creds;
                                    --mint-nkey: the collector mints the host a NATS nkey of its
                                    own (nats.agent_authorization), written to /etc/netmap/nats.nk;
                                    --force-config replaces an existing agent.yaml; --parallel:
                                    hosts at a time behind each bastion (${DEFAULT_PARALLEL}); --json: the
                                    summary as JSON on stdout; --all: every host with a route;
                                    --prefix: install under DIR instead of / (staging, tests).
                                    An agent.yaml written here holds release_key, the public half
                                    of netmap.yaml's release_key_file (--config F), once made;
                                    a kept agent.yaml is left as it is (the summary says so)
                                    Progress per phase on stderr; Ctrl-C stops, leaving no
                                    half-written file on any host (exit 130)
  agent mint HOST --seed-file F|--json
                                    mint the host a NATS nkey of its own without installing (the
                                    Ansible role's way): prints its agent id and public key, and
                                    writes the seed to F (0600), or prints all four as one JSON
                                    object {host, agent_id, public_key, seed} on stdout
  agent revoke HOST                 remove the host's minted NATS identity: nats-server refuses it
  agent upgrade HOST...|--all [--canary N] [--binary F] [--timeout D] [--config F]
                                    upgrade running agents over NATS (docs/upgrades.md), run where
                                    netmap.yaml is: the binary (--binary, or dist/netmap-agent-linux-*)
                                    goes once into the NETMAP_RELEASES object store, signed with the
                                    release key (release_key_file, made on first use); each agent
                                    fetches, checks, tries and swaps it and reports the new version.
                                    --canary: hosts that go first (1); if one fails or does not
                                    report within --timeout (2m), they roll back and the rest are
                                    left alone. HOST: a hostname or agent id as the agent reports it.
                                    In the audit trail (agent_upgrade): an admin token, as for install`;


export async function runAgentCommand(argv: string[], env = process.env, out = defaultOut): Promise<number> {
  const [subcommand, ...args] = argv;
  if (subcommand === "revoke") return revokeAgent(args, env, out);
  if (subcommand === "mint") return mintAgent(args, env, out);
  if (subcommand === "upgrade") return upgradeCommand(args, env, out);
  if (subcommand !== "install") throw new UsageError(`usage: netmap agent install HOST...|--all [options], netmap agent mint HOST --seed-file F|--json, netmap agent revoke HOST, or netmap agent upgrade HOST...|--all [options]${subcommand ? ` (no subcommand ${JSON.stringify(subcommand)})` : ""}`);
  const { values, positionals } = parseCommandLine("agent install", args, {
    "mint-nkey": { type: "boolean" },
    all: { type: "boolean" },
    nats: { type: "string" },
    creds: { type: "string" },
    "force-config": { type: "boolean" },
    parallel: { type: "string" },
    "dry-run": { type: "boolean" },
    json: { type: "boolean" },
    topology: { type: "string" },
    prefix: { type: "string" },
    config: { type: "string" },
  });
  if (values.all ? positionals.length > 0 : positionals.length === 0) throw new UsageError("usage: netmap agent install HOST...|--all: name the hosts, or --all");
  const parallel = Number(values.parallel ?? DEFAULT_PARALLEL);
  if (!Number.isInteger(parallel) || parallel < 1) throw new UsageError(`--parallel: expected a whole number of hosts ≥ 1 (per bastion), got ${JSON.stringify(values.parallel)}`);
  if (values.nats !== undefined && !validNatsUrl(values.nats)) {
    throw new UsageError(`--nats: expected nats://HOST:PORT (or tls://, ws://, wss://), comma-separated for several, got ${JSON.stringify(values.nats)}`);
  }
  if (values["force-config"] && !values.nats) throw new UsageError("--force-config writes a new agent.yaml: give --nats URL");
  if (values.creds && !values.nats) throw new UsageError("--creds is referenced by the agent.yaml written here: give --nats URL (and --force-config where one exists)");
  if (values.creds && !existsSync(values.creds)) throw new UsageError(`--creds: ${values.creds} not found`);
  if (values["mint-nkey"] && (values.creds || values.topology || !values.nats)) {
    throw new UsageError("--mint-nkey: the collector mints the identity and the agent.yaml written here logs in with it: give --nats URL, and neither --creds nor --topology");
  }
  const prefix = values.prefix ?? "/";
  if (!isAbsolute(prefix)) throw new UsageError(`--prefix: expected an absolute directory, got ${JSON.stringify(prefix)}`);

  const options: InstallOptions = {
    natsUrl: values.nats,
    credsFile: values.creds && resolve(values.creds),
    forceConfig: values["force-config"] ?? false,
    releaseKey: readReleasePublicKey(loadCollectorConfig({ configFlag: values.config, env }).releaseKeyFile),
    prefix,
    distDir: DEFAULT_DIST_DIR,
    unitFile: DEFAULT_UNIT_FILE,
    knownHostsFile: knownHostsPath(env),
    parallel,
  };

  // Connected on first use, so bad usage is reported without touching the network.
  let admin: AdminClient | undefined;
  let targets: InstallTarget[];
  try {
    const collector = () => (admin ??= connectAdmin(env));
    targets = values.all
      ? await everyRoutableHost(values.topology ? readTopology(values.topology) : parseTopologyFile((await collector().export({})).topologyYaml, "the collector's topology"), out)
      : await namedHosts(positionals, values.topology ? readTopology(values.topology) : collector());
  } finally {
    admin?.close();
  }

  if (values["dry-run"]) {
    for (const target of targets) for (const line of describeInstall(target, { ...options, mintIdentity: values["mint-nkey"] ? () => Promise.reject(new Error("a dry run mints nothing")) : undefined })) {
      out.stdout(`${terminalSafe(target.label)}: ${line}\n`);
    }
    return 0;
  }
  const minting = values["mint-nkey"] ? connectAdmin(env) : undefined;
  if (minting) options.mintIdentity = async (host) => {
    const minted = await minting.mintAgentIdentity({ host });
    out.stdout(`${terminalSafe(host)}: minted NATS nkey ${minted.publicKey} for agent id ${minted.agentId}\n`);
    return minted;
  };
  // Ctrl-C cuts every connection: each target's script then removes what it was writing.
  const interrupt = new AbortController();
  const onInterrupt = () => interrupt.abort();
  process.once("SIGINT", onInterrupt);
  const progress = progressPrinter((text) => process.stderr.write(text), process.stderr.isTTY === true);
  const json = values.json === true;
  const outcomes = await installAgents(targets, { ...options, signal: interrupt.signal }, {
    host: (label, message, failed) => (failed || !json) && progress.above(() => (failed ? out.stderr : out.stdout)(`${terminalSafe(label)}: ${message}\n`)),
    phase: (state) => progress.phase(state),
  }).finally(() => {
    process.off("SIGINT", onInterrupt);
    minting?.close();
  });
  out.stdout(json ? formatSummaryJson(outcomes, interrupt.signal.aborted) : formatSummary(outcomes));
  if (!values.topology) await recordInstalls(outcomes, env, out);
  if (interrupt.signal.aborted) return 130;
  return outcomes.some((o) => o.status === "failed") ? 1 : 0;
}

async function revokeAgent(args: string[], env: Record<string, string | undefined>, out: Out): Promise<number> {
  const { positionals } = parseCommandLine("agent revoke", args, {});
  if (positionals.length !== 1) throw new UsageError("usage: netmap agent revoke HOST");
  const admin = connectAdmin(env);
  try {
    const { host, agentId } = await admin.revokeAgentIdentity({ host: positionals[0]! });
    out.stdout(`revoked the NATS identity of ${terminalSafe(host)} (agent id ${agentId}); nats-server reloaded\n`);
  } finally {
    admin.close();
  }
  return 0;
}

/** The seed leaves only through a file created 0600 or stdout as JSON, never in a message. */
async function mintAgent(args: string[], env: Record<string, string | undefined>, out: Out): Promise<number> {
  const { values, positionals } = parseCommandLine("agent mint", args, { "seed-file": { type: "string" }, json: { type: "boolean" } });
  if (positionals.length !== 1 || (values["seed-file"] === undefined) === !values.json) {
    throw new UsageError("usage: netmap agent mint HOST --seed-file F|--json: the seed goes to a file (0600) or, with --json, to stdout; one of them");
  }
  const seedFile = values["seed-file"];
  if (seedFile === "") throw new UsageError("--seed-file: expected a file name");
  // Opened before minting, so a file that cannot be written does not cost the host its identity.
  const fd = seedFile === undefined ? undefined : openSecretFile(seedFile);
  const admin = connectAdmin(env);
  try {
    const minted = await admin.mintAgentIdentity({ host: positionals[0]! });
    if (fd === undefined) {
      out.stdout(`${JSON.stringify({ host: minted.host, agent_id: minted.agentId, public_key: minted.publicKey, seed: minted.seed })}\n`);
    } else {
      writeSync(fd, `${minted.seed}\n`);
      out.stdout(`minted NATS nkey ${minted.publicKey} for agent id ${minted.agentId} (${terminalSafe(minted.host)}); seed written to ${terminalSafe(seedFile!)}\n`);
    }
  } finally {
    admin.close();
    if (fd !== undefined) closeSync(fd);
  }
  return 0;
}

/** Made 0600 even where the file already exists with a wider mode (a temporary file made for it). */
function openSecretFile(path: string): number {
  try {
    const fd = openSync(path, "w", 0o600);
    fchmodSync(fd, 0o600);
    return fd;
  } catch (error) {
    throw new UsageError(`--seed-file: cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** Each host's outcome into the collector's audit trail; the install is done, so a refusal is only reported. */
async function recordInstalls(outcomes: InstallOutcome[], env: Record<string, string | undefined>, out: Out): Promise<void> {
  const admin = connectAdmin(env);
  try {
    for (const outcome of outcomes) await admin.recordAgentInstall({ host: outcome.label, outcome: outcome.status });
  } catch (error) {
    out.stderr(`netmap: the install is not in the collector's audit trail: ${terminalSafe((error as Error).message)}\n`);
  } finally {
    admin.close();
  }
}

/** Every host `netmap ssh-config` writes a block for: those with a route. The others are named on stderr. */
function everyRoutableHost(topology: Topology, out: Out): InstallTarget[] {
  const routed: { name: string; qualified: string; hops: Hop[] }[] = [];
  for (const located of allHosts(topology)) {
    try {
      routed.push({ name: located.host.name, qualified: qualifiedName(located), hops: routeFrom(located) });
    } catch (error) {
      if (!(error instanceof RouteError)) throw error;
      out.stderr(`netmap: skipping ${terminalSafe(qualifiedName(located))}: no route: ${terminalSafe(error.message)}\n`);
    }
  }
  if (!routed.length) throw new TopologyError("no host in the topology has an SSH route");
  return labelled(routed);
}

/** The named hosts' routes; an unknown or ambiguous name is bad usage (nothing is installed), a host without a route fails alone. */
async function namedHosts(references: string[], source: Topology | AdminClient): Promise<InstallTarget[]> {
  const routed: { name: string; qualified: string; hops: Hop[] | Error }[] = [];
  for (const reference of new Set(references)) {
    if ("clients" in source) {
      let located;
      try {
        located = findHost(source, reference);
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
      let hops: Hop[] | Error;
      try {
        hops = routeFrom(located);
      } catch (error) {
        if (!(error instanceof RouteError)) throw error;
        hops = error;
      }
      routed.push({ name: located.host.name, qualified: qualifiedName(located), hops });
    } else {
      try {
        const hops = (await source.route({ host: reference })).hops.map(hopFromMessage);
        const last = hops.at(-1)!;
        routed.push({ name: last.name, qualified: `${last.client}/${last.site}/${last.name}`, hops });
      } catch (error) {
        const code = error instanceof NetMapError ? error.code : "";
        if (code === "NOT_FOUND" || code === "HOST_AMBIGUOUS") throw new UsageError((error as Error).message);
        if (!code.startsWith("ROUTE_")) throw error;
        routed.push({ name: reference, qualified: reference, hops: error as Error });
      }
    }
  }
  return labelled(routed);
}

/** Bare names when they tell the hosts apart, else client/site/name. */
function labelled(routed: { name: string; qualified: string; hops: Hop[] | Error }[]): InstallTarget[] {
  const seen = new Set<string>();
  const distinct = routed.filter((r) => !seen.has(r.qualified) && seen.add(r.qualified));
  const unique = new Set(distinct.map((r) => r.name)).size === distinct.length;
  return distinct.map((r) => ({ label: unique ? r.name : r.qualified, hops: r.hops }));
}

function readTopology(path: string): Topology {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new TopologyError(`${path}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "not found" : (error as Error).message}`);
  }
  return parseTopologyFile(text, path);
}
