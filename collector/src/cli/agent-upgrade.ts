// `netmap agent upgrade --all|HOST... [--canary N] [--binary F] [--timeout D] [--config F]`:
// run where netmap.yaml is (the collector's host): it signs with the collector's release key
// and speaks NATS as the collector's user. The work is rollout/upgrade.ts. Each upgrade is in the
// collector's audit trail (agent_upgrade, an admin's call): the agents and release when it starts,
// refused before anything is published if the collector does not record it, then each agent's outcome.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { connect, nkeyAuthenticator } from "@nats-io/transport-node";
import { readSecretFile } from "../../../lib/secret-file.ts";
import { parseDurationSeconds } from "../../../lib/settings.ts";
import { isVersion } from "../../../proto/src/release.ts";
import { loadCollectorConfig } from "../config.ts";
import { NetMapError, UsageError } from "../errors.ts";
import { DEFAULT_DIST_DIR } from "../rollout/install.ts";
import { loadReleaseKey } from "../rollout/release-key.ts";
import { connectAdmin, type AdminClient } from "./admin-client.ts";
import { binaryArchitecture, publishReleases, reportingAgents, upgradeAgents, type BinaryArchitecture, type FleetAgent, type UpgradeOutcome } from "../rollout/upgrade.ts";
import { natsServers } from "../serve.ts";
import { terminalSafe } from "../text/escape.ts";
import { defaultOut, parseCommandLine, type Out } from "./command-line.ts";

const DEFAULT_TIMEOUT_SECONDS = 120;

/** A binary refused before anything is published: not ELF for x64/arm64 nor a script, or no version to be read. */
export class ReleaseBinaryError extends NetMapError {
  constructor(message: string) {
    super("RELEASE_BINARY_INVALID", message);
  }
}

export async function upgradeCommand(args: string[], env: Record<string, string | undefined> = process.env, out: Out = defaultOut): Promise<number> {
  const { values, positionals } = parseCommandLine("agent upgrade", args, {
    all: { type: "boolean" },
    canary: { type: "string" },
    binary: { type: "string" },
    timeout: { type: "string" },
    config: { type: "string" },
  });
  if (values.all ? positionals.length > 0 : positionals.length === 0) throw new UsageError("usage: netmap agent upgrade HOST...|--all: name the hosts (hostname or agent id), or --all");
  const canaries = Number(values.canary ?? "1");
  if (!Number.isInteger(canaries) || canaries < 0) throw new UsageError(`--canary: expected a whole number of hosts ≥ 0, got ${JSON.stringify(values.canary)}`);
  const timeoutSeconds = values.timeout === undefined ? DEFAULT_TIMEOUT_SECONDS : parseDurationSeconds(values.timeout);
  if (timeoutSeconds === undefined || timeoutSeconds <= 0) throw new UsageError(`--timeout: expected a duration like 2m, got ${JSON.stringify(values.timeout)}`);

  const binaries = readBinaries(values.binary ? [values.binary] : [join(DEFAULT_DIST_DIR, "netmap-agent-linux-x64"), join(DEFAULT_DIST_DIR, "netmap-agent-linux-arm64")].filter(existsSync));
  if (!binaries.length) throw new UsageError(`no agent binary: give --binary F, or build ${DEFAULT_DIST_DIR}/netmap-agent-linux-* with npm run build:agent`);
  const version = binaryVersion(binaries);

  const config = loadCollectorConfig({ configFlag: values.config, env });
  const key = loadReleaseKey(config.releaseKeyFile, config.secrets);
  if (key.created) {
    out.stdout(`made the release key ${config.releaseKeyFile} (0600); agents take upgrades signed with it given release_key: ${key.publicKey} (also in ${config.releaseKeyFile}.pub)\n`);
  }
  const nkeySeed = config.natsNkeyFile ? readSecretFile(config.natsNkeyFile, "nats.nkey_file", config.secrets) : null;
  const nc = await connect({
    ...natsServers(config.natsServers),
    ...(nkeySeed ? { authenticator: nkeyAuthenticator(new TextEncoder().encode(nkeySeed)) } : {}),
    name: "netmap agent upgrade",
    inboxPrefix: config.natsInboxPrefix,
  });
  try {
    const fleet = await reportingAgents(nc);
    const chosen = values.all ? fleet : positionals.map((name) => pickAgent(fleet, name));
    const behind = chosen.filter((agent) => agent.version !== version).sort((a, b) => a.hostname.localeCompare(b.hostname) || a.agentId.localeCompare(b.agentId));
    for (const agent of chosen) if (agent.version === version) out.stdout(`${label(agent)}: already runs ${version}\n`);
    if (!behind.length) return 0;
    const admin = connectAdmin(env);
    try {
      await admin.recordAgentUpgrade({ agents: auditNames(behind), version, outcome: "started" });
      let outcomes: UpgradeOutcome[];
      const started = performance.now();
      try {
        const releases = await publishReleases(nc, binaries, version, key);
        out.stdout(`published ${releases.map((r) => r.release.object).join(", ")} into NETMAP_RELEASES; upgrading ${behind.length} agent(s), ${Math.min(canaries, behind.length)} canary first\n`);
        outcomes = await upgradeAgents(nc, behind, releases, {
          canaries,
          deadlineMs: timeoutSeconds * 1000,
          say: (agent, message, failed) => (failed ? out.stderr : out.stdout)(`${label(agent)}: ${terminalSafe(message)}\n`),
        });
      } catch (error) {
        const reason = (error as Error).message;
        await recordOutcomes(admin, behind.map((agent) => ({ agent, result: "failed", reason, canary: false })), version, out);
        throw error;
      }
      await recordOutcomes(admin, outcomes, version, out);
      out.stdout(summary(outcomes, version, (performance.now() - started) / 1000));
      return outcomes.every((o) => o.result === "upgraded" || o.result === "current") ? 0 : 1;
    } finally {
      admin.close();
    }
  } finally {
    await nc.close();
  }
}

/** An agent as the audit trail names it: its hostname and agent id, as it reports them. */
const auditName = (agent: FleetAgent) => `${agent.hostname} (${agent.agentId})`;

/**
 * The agents of an upgrade in its "started" entry, short enough that the version and outcome after
 * them stay in the entry's target (cut at 500 characters): a long list is counted and cut; the
 * outcomes after it name each agent.
 */
function auditNames(agents: readonly FleetAgent[]): string {
  const names = agents.map(auditName).join(" ");
  return names.length <= 300 ? names : `${agents.length} agents: ${names.slice(0, 280)}…`;
}

/** Each agent's outcome into the audit trail; the upgrade is done, so a refusal is only reported. */
async function recordOutcomes(admin: AdminClient, outcomes: readonly UpgradeOutcome[], version: string, out: Out): Promise<void> {
  try {
    for (const o of outcomes) {
      await admin.recordAgentUpgrade({ agents: auditName(o.agent), version, outcome: `${o.result}${o.reason ? `: ${o.reason}` : ""}`.slice(0, 400) });
    }
  } catch (error) {
    out.stderr(`netmap: the upgrade's outcome is not in the collector's audit trail: ${terminalSafe((error as Error).message)}\n`);
  }
}

function readBinaries(paths: string[]): { path: string; architecture: BinaryArchitecture; bytes: Uint8Array }[] {
  return paths.map((path) => {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch (error) {
      throw new UsageError(`--binary: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    const architecture = binaryArchitecture(bytes);
    if (!architecture) throw new ReleaseBinaryError(`${path}: not an x64 or arm64 Linux binary (nor a #! script)`);
    return { path, architecture, bytes };
  });
}

/** What `--version` of the binary this machine can run says; the others are built with it (npm run build:agent). */
function binaryVersion(binaries: readonly { path: string; architecture: BinaryArchitecture }[]): string {
  const runnable = binaries.find((b) => b.architecture === "any" || b.architecture === process.arch);
  if (!runnable) throw new ReleaseBinaryError(`none of ${binaries.map((b) => b.path).join(", ")} runs here (${process.arch}) to say its version`);
  let said: string;
  try {
    said = execFileSync(runnable.path, ["--version"], { encoding: "utf8", timeout: 30_000, stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    throw new ReleaseBinaryError(`${runnable.path} --version failed: ${(error as Error).message.split("\n")[0]}`);
  }
  const version = /^netmap-agent (\S+) /.exec(said)?.[1];
  if (!isVersion(version)) throw new ReleaseBinaryError(`${runnable.path} --version does not say "netmap-agent VERSION ...": ${JSON.stringify(said.slice(0, 80))}`);
  return version;
}

function pickAgent(fleet: readonly FleetAgent[], name: string): FleetAgent {
  const matches = fleet.filter((agent) => agent.agentId === name || agent.hostname === name);
  if (matches.length === 1) return matches[0]!;
  if (!matches.length) throw new UsageError(`no agent reports as ${JSON.stringify(name)} (hostname or agent id) in NETMAP_REPORTS`);
  throw new UsageError(`${JSON.stringify(name)} names ${matches.length} agents (${matches.map((a) => a.agentId).join(", ")}): give the agent id`);
}

const label = (agent: FleetAgent) => `${terminalSafe(agent.hostname)} (${agent.agentId})`;

function summary(outcomes: readonly UpgradeOutcome[], version: string, seconds: number): string {
  const count = (result: UpgradeOutcome["result"]) => outcomes.filter((o) => o.result === result).length;
  const lines = [`\nupgrade to ${version}: ${count("upgraded")} upgraded, ${count("current")} already there, ${count("failed")} failed, ${count("rolled_back")} rolled back, ${count("not_sent")} not sent (${seconds.toFixed(1)} s)`];
  for (const o of outcomes.filter((o) => o.result !== "upgraded" && o.result !== "current")) {
    lines.push(`  ${o.result.padEnd(11)} ${o.canary ? "canary " : ""}${label(o.agent)}${o.reason ? `: ${terminalSafe(o.reason)}` : ""}`);
  }
  return `${lines.join("\n")}\n`;
}
