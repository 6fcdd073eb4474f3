#!/usr/bin/env node
// netmap-agent: collect this machine's HostReport every interval and publish
// it to JetStream; or, with --once --json, print one and touch no network.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import packageJson from "../../package.json" with { type: "json" };
import { HostReport } from "../../proto/gen/netmap/v1/report.ts";
import { configuredCollectors } from "./collectors/index.ts";
import { createCheckRunner, type CheckRunner } from "./checks/runner.ts";
import { followCollectorChecks } from "./checks/remote.ts";
import type { AgentState, Collector } from "./collectors/types.ts";
import { buildCommit } from "./build-info.ts";
import { loadAgentConfig, printableConfig, USAGE, type AgentConfig } from "./config.ts";
import { ConfigError, NetMapError } from "./errors.ts";
import { agentIdFromMachineId, readBootId, readMachineId, sequenceFrom } from "./identity.ts";
import { createIdleCollector } from "./heap.ts";
import { createLogger } from "./log.ts";
import { natsConnectOptions } from "./nats-auth.ts";
import { createPublisher } from "./publisher.ts";
import { agentBinaryPath, startUpgrader, upgradedBinary, type Upgrader } from "./upgrade.ts";
import { agentStats, buildReport, collect, repairLogger, type ReportIdentity } from "./report.ts";
import { openSpool } from "./spool.ts";
import { createLinuxSource, type SystemSource } from "./source.ts";
import { monotonicMs } from "./clock.ts";

export const AGENT_VERSION: string = packageJson.version;

/** Next sleep: the interval ±10%, so a fleet restarted together does not report in lockstep. */
export function jitteredDelayMs(intervalSeconds: number, random: () => number = Math.random): number {
  return intervalSeconds * 1000 * (0.9 + 0.2 * random());
}

async function main(argv: string[]): Promise<number> {
  let config: AgentConfig;
  let connectOptions: ReturnType<typeof natsConnectOptions>;
  try {
    const command = loadAgentConfig({ argv, env: process.env, readFile: (path) => readFileSync(path, "utf8") });
    if (command.command === "help") {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (command.command === "version") {
      process.stdout.write(`netmap-agent ${AGENT_VERSION} (commit ${buildCommit()}, node ${process.version}, ${process.platform}-${process.arch})\n`);
      return 0;
    }
    config = command.config;
    if (config.printConfig) {
      process.stdout.write(`${JSON.stringify(printableConfig(config), null, 2)}\n`);
      return 0;
    }
    connectOptions = config.once && config.json ? {} : natsConnectOptions(config);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`netmap-agent: ${error.message}\n`);
      return 2;
    }
    throw error;
  }

  const log = createLogger(config.logLevel);
  // An upgrade over NATS left a newer binary in the state directory: it runs instead of this one.
  const binaryPath = config.once ? undefined : agentBinaryPath(process.env);
  const upgraded = binaryPath && upgradedBinary(config.spoolDir, binaryPath, AGENT_VERSION);
  if (upgraded) {
    log.info({ binary: upgraded }, "executing the binary an upgrade left, newer than this one");
    process.execve!(upgraded, [upgraded, ...argv], process.env);
  }
  const source = createLinuxSource();
  const identity: ReportIdentity = {
    agentId: config.agentId ?? agentIdFromMachineId(readMachineId()),
    bootId: readBootId(),
    agentVersion: AGENT_VERSION,
    intervalSeconds: config.intervalSeconds,
  };
  const state: AgentState = {};
  // Publishing, the agent may be given checks by the collector (checks/remote.ts), so it always has a runner.
  const offline = config.once && config.json;
  const checks = config.checks.length || !offline ? createCheckRunner(config.checks, log.child({ component: "checks" })) : undefined;
  const collectors = configuredCollectors({ checks, authLog: config.authLog, authLogWindowSeconds: config.authLogWindowSeconds, fail2banSocket: config.fail2banSocket, containers: config.containers });
  // The first report (and --once) carries every check's result.
  await checks?.runAll();

  if (offline) {
    // Not published, so it takes no number from the sequence.
    const stats = agentStats({ spoolReports: 0, spoolBytes: 0, droppedTotal: 0, reconnectsTotal: 0, unspooledTotal: 0 });
    const report = buildReport(identity, source.hostname(), 1, await collect(collectors, source, state, log), stats, repairLogger(log));
    process.stdout.write(`${JSON.stringify(HostReport.toJSON(report), null, 2)}\n`);
    return 0;
  }
  return runLoop(argv, config, connectOptions, identity, source, state, log, collectors, checks);
}

async function runLoop(
  argv: readonly string[],
  config: AgentConfig,
  connectOptions: ReturnType<typeof natsConnectOptions>,
  identity: ReportIdentity,
  source: SystemSource,
  state: AgentState,
  log: Logger,
  collectors: readonly Collector[],
  checks: CheckRunner | undefined,
): Promise<number> {
  const nextSeq = sequenceFrom(await source.uptimeSeconds());
  const spool = openSpool({ dir: join(config.spoolDir, "reports"), maxBytes: config.spoolMaxBytes, log: log.child({ component: "spool" }) });
  const publisher = createPublisher({ servers: config.natsServers, agentId: identity.agentId, connectOptions, spool, log });
  log.info({ agentId: identity.agentId, bootId: identity.bootId, intervalSeconds: config.intervalSeconds, version: AGENT_VERSION }, "netmap-agent started");

  const stopping = new AbortController();
  const stop = (signal: string) => {
    if (stopping.signal.aborted) return;
    log.info({ signal }, "stopping");
    stopping.abort();
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));

  // Upgrades over NATS: a swapped binary is executed once the agent has stopped as on SIGTERM.
  let restartWith: string | undefined;
  let upgrader: Upgrader | undefined;
  const binaryPath = agentBinaryPath(process.env);
  if (!config.releaseKey) log.info("upgrades over NATS off: no release_key");
  else if (!binaryPath) log.warn("upgrades over NATS off: run from source without NETMAP_AGENT_BINARY naming the file to replace");
  else {
    void publisher.connection.then((nc) => {
      if (!nc || stopping.signal.aborted) return;
      upgrader = startUpgrader(nc, {
        agentId: identity.agentId, version: AGENT_VERSION, releaseKey: config.releaseKey!, binaryPath, args: argv, spoolDir: config.spoolDir,
        log: log.child({ component: "upgrade" }),
        restart: (binary) => {
          restartWith = binary;
          stop("upgrade");
        },
      });
    });
  }

  checks?.start();
  const stopRemoteChecks = checks && !config.once
    ? followCollectorChecks({ agentId: identity.agentId, own: config.checks, runner: checks, request: publisher.request, refreshSeconds: config.checksRefreshSeconds, log: log.child({ component: "checks" }) })
    : undefined;
  const collectIdleGarbage = createIdleCollector();
  const onRepair = repairLogger(log);
  // The first report goes out at once; later ones every interval ±10%.
  while (!stopping.signal.aborted) {
    const started = monotonicMs();
    const collection = await collect(collectors, source, state, log);
    const report = buildReport(identity, source.hostname(), nextSeq(), collection, agentStats(publisher.stats()), onRepair);
    try {
      await publisher.publish(report);
    } catch (error) {
      log.error({ err: error, seq: report.seq }, "report not publishable; dropped");
    }
    log.debug({ seq: report.seq, cycleSeconds: (monotonicMs() - started) / 1000, collectors: collection.runs }, "cycle done");
    if (config.once) break;
    collectIdleGarbage();
    await sleep(jitteredDelayMs(config.intervalSeconds), undefined, { signal: stopping.signal }).catch(() => {});
  }
  stopRemoteChecks?.();
  checks?.stop();
  upgrader?.stop();
  await publisher.close();
  log.info("stopped");
  // The same process (pid, systemd's main pid) goes on as the new binary.
  if (restartWith) process.execve!(restartWith, [restartWith, ...argv], process.env);
  return 0;
}

/** Runs the agent with these arguments and exits with its code. The single binary's entry calls this too. */
export function runCli(argv: string[]): void {
  main(argv).then(
    (code) => process.exit(code),
    (error: unknown) => {
      const message = error instanceof NetMapError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error);
      process.stderr.write(`netmap-agent: ${message}\n`);
      process.exit(1);
    },
  );
}

if (import.meta.main) runCli(process.argv.slice(2));
