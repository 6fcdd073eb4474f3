#!/usr/bin/env node
// netmap: the collector (`netmap serve`) and its admin commands.
import { parseArgs } from "node:util";
import { loadCollectorConfig } from "./config.ts";
import { migrateToLatest, openDatabase } from "./db/database.ts";
import { NetMapError, UsageError, ConfigError } from "./errors.ts";
import { createLogger, redactUrl } from "./log.ts";
import { serve } from "./serve.ts";
import { runTopologyCommand, TOPOLOGY_COMMANDS } from "./cli/topology.ts";
import { ALERT_COMMANDS, runAlertCommand } from "./cli/alerts.ts";
import { AGENT_COMMANDS, runAgentCommand } from "./cli/agent.ts";
import { defaultOut } from "./cli/command-line.ts";
import { runSnmpCommand, SNMP_COMMANDS } from "./cli/snmp.ts";
import { COMMANDS, commandUsage, nearestCommand, USAGE } from "./cli/help.ts";
import { runSecurityCommand, SECURITY_COMMANDS } from "./cli/security.ts";
import { runVmCommand, VM_COMMANDS } from "./cli/vm.ts";
import { FLEET_COMMANDS, runFleetCommand } from "./cli/fleet.ts";



async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(`${USAGE}\n`);
    return command ? 0 : 2;
  }
  if (!(COMMANDS as readonly string[]).includes(command)) {
    const nearest = nearestCommand(command, COMMANDS);
    throw new UsageError(`unknown command ${JSON.stringify(command)}${nearest ? `; did you mean "${nearest}"?` : ""} (netmap --help lists them)`);
  }
  // Before the command reads its options: --help among them is a request for help, not an option
  // it lacks. After `--` it belongs to the remote command (netmap ssh HOST -- CMD --help).
  const own = rest.includes("--") ? rest.slice(0, rest.indexOf("--")) : rest;
  if (own.includes("--help") || own.includes("-h")) {
    process.stdout.write(commandUsage(USAGE, command));
    return 0;
  }
  if ((TOPOLOGY_COMMANDS as readonly string[]).includes(command)) return runTopologyCommand(command, rest);
  if ((ALERT_COMMANDS as readonly string[]).includes(command)) return runAlertCommand(command, rest);
  if ((AGENT_COMMANDS as readonly string[]).includes(command)) return runAgentCommand(rest);
  if ((SNMP_COMMANDS as readonly string[]).includes(command)) return runSnmpCommand(rest);
  if ((SECURITY_COMMANDS as readonly string[]).includes(command)) return runSecurityCommand(command, rest);
  if ((VM_COMMANDS as readonly string[]).includes(command)) return runVmCommand(rest);
  if ((FLEET_COMMANDS as readonly string[]).includes(command)) return runFleetCommand(command, rest);
  const { values } = parseCommandArgs(rest);
  const config = loadCollectorConfig({ configFlag: values.config, env: process.env, flags: { natsUrl: values.nats } });
  const log = createLogger(config.logLevel, config.logFormat);

  switch (command) {
    case "serve": {
      const collector = await serve(config, log);
      // As nginx and nats-server do: a renewed certificate is picked up without a restart.
      process.on("SIGHUP", () => collector.reloadTls());
      await new Promise<void>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
      log.info("stopping");
      await collector.stop();
      log.info("stopped");
      // process.exit follows: the last lines must be out of pino's buffer first.
      await new Promise<void>((resolve) => log.flush(() => resolve()));
      return 0;
    }
    case "migrate": {
      const db = openDatabase(config.databaseUrl, { max: 1 });
      try {
        const { results } = await migrateToLatest(db);
        for (const r of results ?? []) process.stdout.write(`${r.status === "Success" ? "applied" : r.status}: ${r.migrationName}\n`);
        if (!results?.length) process.stdout.write(`database ${redactUrl(config.databaseUrl)} is up to date\n`);
      } finally {
        await db.destroy();
      }
      return 0;
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

function parseCommandArgs(args: string[]) {
  try {
    return parseArgs({ args, options: { config: { type: "string" }, nats: { type: "string" } }, allowPositionals: false });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const usage = error instanceof UsageError || error instanceof ConfigError;
    defaultOut.stderr(`netmap: ${error instanceof NetMapError ? error.message : (error as Error).stack ?? String(error)}\n`);
    process.exit(usage ? 2 : 1);
  },
);
