// What the CLI says when asked for help or given a command it does not know: one command's
// lines of the usage text, and the nearest known command to a misspelt one.
import { AGENT_COMMANDS, AGENT_USAGE } from "./agent.ts";
import { ALERT_COMMANDS, ALERT_USAGE } from "./alerts.ts";
import { SECURITY_COMMANDS, SECURITY_USAGE } from "./security.ts";
import { SNMP_COMMANDS, SNMP_USAGE } from "./snmp.ts";
import { TOPOLOGY_COMMANDS, TOPOLOGY_USAGE } from "./topology.ts";
import { VM_COMMANDS, VM_USAGE } from "./vm.ts";
import { FLEET_COMMANDS, FLEET_USAGE } from "./fleet.ts";

export const COMMANDS = ["serve", "migrate", ...TOPOLOGY_COMMANDS, ...ALERT_COMMANDS, ...AGENT_COMMANDS, ...SNMP_COMMANDS, ...SECURITY_COMMANDS, ...VM_COMMANDS, ...FLEET_COMMANDS] as const;

export const USAGE = `usage: netmap <command> [options]

commands:
  serve [--config F] [--nats URL[,URL...]]   run the collector (ingest, HTTP on 127.0.0.1:7070, gRPC on 127.0.0.1:7071);
                                    several NATS URLs: the nodes of a cluster
  migrate [--config F]              apply database migrations
${TOPOLOGY_USAGE}

${ALERT_USAGE}

${AGENT_USAGE}

${SNMP_USAGE}

${SECURITY_USAGE}

${VM_USAGE}
${FLEET_USAGE}

environment: serve: NETMAP_CONFIG, NETMAP_NATS_URL, NETMAP_DATABASE_URL, NETMAP_HTTP_ADDR, NETMAP_GRPC_ADDR,
               NETMAP_TOKEN, NETMAP_LOG_LEVEL, NETMAP_LOG_FORMAT
             admin commands: NETMAP_URL, else NETMAP_GRPC_ADDR (default 127.0.0.1:7071), NETMAP_TOKEN,
               NETMAP_KNOWN_HOSTS (default ~/.config/netmap/known_hosts)`;

/**
 * The lines of `usage` that describe `command`: each line starting with the command's name
 * (two spaces in) and the continuation lines indented under it.
 */
export function commandUsage(usage: string, command: string): string {
  const lines = usage.split("\n");
  const picked: string[] = [];
  let inside = false;
  for (const line of lines) {
    if (/^ {2}\S/.test(line)) inside = line.slice(2).split(" ")[0] === command;
    else if (!/^ {3,}\S/.test(line)) inside = false;
    if (inside) picked.push(line);
  }
  return `usage: netmap\n${picked.join("\n")}\n`;
}

/** The known command closest to `typed` by edit distance, when close enough to be a slip (at most a third of it). */
export function nearestCommand(typed: string, commands: readonly string[]): string | undefined {
  let best: { command: string; distance: number } | undefined;
  for (const command of commands) {
    const distance = editDistance(typed.toLowerCase(), command);
    if (!best || distance < best.distance) best = { command, distance };
  }
  return best && best.distance <= Math.max(1, Math.floor(typed.length / 3)) ? best.command : undefined;
}

/** Levenshtein distance with a swap of two neighbours counting once (Damerau's transposition). */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}
