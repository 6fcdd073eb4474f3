// The admin commands: import, export, hosts, route, ssh, ssh-config, trust, graph, inventory.
// They ask a running collector over gRPC (NETMAP_URL, NETMAP_TOKEN; cli/admin-client.ts).
// route, ssh, ssh-config and trust also take --topology FILE, read here without a collector
// (handy on a laptop and in tests). ssh and trust run OpenSSH here, on the caller's machine.
import { readFileSync, writeFileSync } from "node:fs";
import { GraphFormat } from "../../../proto/gen/netmap/v1/admin.ts";
import { UsageError, TopologyError } from "../errors.ts";
import { hopFromMessage, hostFromMessage } from "../grpc/messages.ts";
import { terminalSafe } from "../text/escape.ts";
import { formatTopologyFile, parseTopologyFile } from "../topology/file.ts";
import type { Hop } from "../topology/model.ts";
import { formatHop, routeTo } from "../topology/routes.ts";
import { parseSshConfig, renderTopologySshConfig } from "../topology/ssh-config.ts";
import { knownHostsPath, retrust, runSsh, sshInvocation } from "../topology/ssh.ts";
import { connectAdmin, type AdminClient } from "./admin-client.ts";
import { formatHostsTable } from "./hosts.ts";
import { defaultOut, parseCommandLine } from "./command-line.ts";

export const TOPOLOGY_COMMANDS = ["import", "export", "hosts", "adopt", "route", "ssh", "ssh-config", "trust", "graph", "inventory"] as const;

export const TOPOLOGY_USAGE = `  import FILE.yaml                  merge a topology file into the collector's topology
  import --ssh-config FILE [--client C] [--site S]
                                    merge the Host blocks of an OpenSSH config
  export [FILE.yaml]                the topology as a topology file
  hosts [--json]                    hosts with status and headline metrics
  adopt HOST [AGENT_ID] [--address A]
                                    vouch for HOST: attach the agent that claims it (or AGENT_ID)
                                    and confirm the address SSH uses (A, else the one written,
                                    else the first HOST reports); SSH never uses an unconfirmed one
  route HOST                        the SSH hop chain to HOST, one hop a line
  ssh HOST [-- CMD...]              run OpenSSH through the chain (NetMap's known_hosts)
  ssh-config                        ssh_config Host blocks with ProxyJump, for ~/.ssh/config
  trust HOST                        forget HOST's pinned key and learn the one it offers now
  graph [--format dot|svg]          the topology drawn by Graphviz
  inventory                         the topology as an Ansible dynamic inventory (JSON)

  These ask the collector at NETMAP_URL, else NETMAP_GRPC_ADDR (default 127.0.0.1:7071), with
  the token in NETMAP_TOKEN (default: the one a local netmap serve listening there wrote to
  ~/.local/state/netmap/token-HOST_PORT).
  HOST is NAME, SITE/NAME or CLIENT/SITE/NAME, each part a name or its slug. route, ssh, ssh-config and trust take
  --topology FILE to read a topology file instead, with no collector.`;


export async function runTopologyCommand(command: string, argv: string[], env = process.env, out = defaultOut): Promise<number> {
  const dashDash = argv.indexOf("--");
  const args = dashDash >= 0 ? argv.slice(0, dashDash) : argv;
  const remoteCommand = dashDash >= 0 ? argv.slice(dashDash + 1) : [];
  if (remoteCommand.length && command !== "ssh") throw new UsageError(`netmap ${command} takes no command after --`);
  const { values, positionals } = parseCommandLine(command, args, {
    topology: { type: "string" },
    "ssh-config": { type: "string" },
    client: { type: "string" },
    site: { type: "string" },
    "dry-run": { type: "boolean" },
    json: { type: "boolean" },
    format: { type: "string" },
    address: { type: "string" },
  });
  const want = (n: number, what: string) => {
    if (positionals.length !== n) throw new UsageError(`usage: netmap ${command} ${what}`.trimEnd());
  };
  const allowed: Record<string, string[]> = {
    import: ["ssh-config", "client", "site"],
    hosts: ["json"],
    adopt: ["address"],
    route: ["topology"],
    ssh: ["topology", "dry-run"],
    "ssh-config": ["topology"],
    trust: ["topology"],
    graph: ["format"],
  };
  for (const option of Object.keys(values)) {
    if (!(allowed[command] ?? []).includes(option)) throw new UsageError(`netmap ${command} takes no --${option}`);
  }

  // Connected on first use, so bad usage is reported without touching the network.
  let admin: AdminClient | undefined;
  const collector = () => (admin ??= connectAdmin(env));
  const routeOf = async (host: string): Promise<Hop[]> =>
    values.topology
      ? routeTo(parseTopologyFile(readText(values.topology), values.topology), host)
      : (await collector().route({ host })).hops.map(hopFromMessage);

  try {
    switch (command) {
      case "import": {
        let text: string;
        let fileName: string;
        if (values["ssh-config"]) {
          want(0, "--ssh-config FILE [--client C] [--site S]");
          fileName = values["ssh-config"];
          const result = parseSshConfig(readText(fileName), { client: values.client ?? "default", site: values.site ?? "default", fileName });
          for (const line of result.ignored) out.stderr(`netmap: ${terminalSafe(line)}\n`);
          text = formatTopologyFile(result.topology);
        } else {
          want(1, "FILE.yaml | --ssh-config FILE");
          if (values.client || values.site) throw new UsageError("--client and --site go with --ssh-config");
          fileName = positionals[0]!;
          text = readText(fileName);
        }
        const result = await collector().import({ topologyYaml: text, fileName });
        out.stdout(`imported: ${result.created} created, ${result.updated} updated, ${result.adopted} adopted from agents\n`);
        return 0;
      }
      case "export": {
        if (positionals.length > 1) throw new UsageError("usage: netmap export [FILE.yaml]");
        const { topologyYaml } = await collector().export({});
        if (positionals[0]) writeFileSync(positionals[0], topologyYaml);
        else out.stdout(topologyYaml);
        return 0;
      }
      case "hosts": {
        want(0, "[--json]");
        const hosts = (await collector().listHosts({})).hosts.map(hostFromMessage);
        out.stdout(values.json ? `${JSON.stringify(hosts, null, 2)}\n` : formatHostsTable(hosts));
        return 0;
      }
      case "adopt": {
        if (positionals.length < 1 || positionals.length > 2) throw new UsageError("usage: netmap adopt HOST [AGENT_ID] [--address ADDRESS]");
        const [host, agentId = ""] = positionals as [string, string?];
        const adoption = await collector().adopt({ host, agentId, address: values.address ?? "" });
        const agent = adoption.agentId === undefined ? "no agent" : `agent ${adoption.agentId}${adoption.agentAttached ? " (attached now)" : ""}`;
        const address = adoption.address === undefined ? "no SSH address" : `SSH address ${adoption.address}${adoption.addressConfirmed ? " (confirmed now)" : ""}`;
        out.stdout(`adopted ${adoption.host}: ${agent}, ${address}\n`);
        return 0;
      }
      case "route": {
        want(1, "HOST");
        for (const hop of await routeOf(positionals[0]!)) out.stdout(`${terminalSafe(`${hop.client}/${hop.site}/${hop.name}`)}\t${terminalSafe(formatHop(hop))}\n`);
        return 0;
      }
      case "ssh-config": {
        want(0, "");
        const knownHostsFile = knownHostsPath(env);
        out.stdout(
          values.topology
            ? renderTopologySshConfig(parseTopologyFile(readText(values.topology), values.topology), { knownHostsFile })
            : (await collector().sshConfig({ knownHostsFile })).sshConfig,
        );
        return 0;
      }
      case "ssh": {
        want(1, "HOST [-- CMD...]");
        const hops = await routeOf(positionals[0]!);
        admin?.close();
        const options = { knownHostsFile: knownHostsPath(env) };
        if (values["dry-run"]) {
          const invocation = sshInvocation(hops, remoteCommand, options);
          out.stdout(`${invocation.configText}\n# ssh ${invocation.args("<this file>").join(" ")}\n`);
          return 0;
        }
        return (await runSsh(hops, remoteCommand, options)).exitCode;
      }
      case "trust": {
        want(1, "HOST");
        const hops = await routeOf(positionals[0]!);
        admin?.close();
        const { removed, learned } = await retrust(hops, { knownHostsFile: knownHostsPath(env) });
        const name = terminalSafe(`${hops.at(-1)!.client}/${hops.at(-1)!.site}/${hops.at(-1)!.name}`);
        if (removed.length) out.stdout(`forgot ${name}: ${terminalSafe(removed.join(", "))}\n`);
        out.stdout(`trusted ${name}: ${terminalSafe(learned.join(", "))}\n`);
        return 0;
      }
      case "graph": {
        want(0, "[--format dot|svg]");
        const format = values.format ?? "dot";
        if (format !== "dot" && format !== "svg") throw new UsageError(`graph: --format is dot or svg, not ${JSON.stringify(format)}`);
        const { text } = await collector().graph({ format: format === "svg" ? GraphFormat.GRAPH_FORMAT_SVG : GraphFormat.GRAPH_FORMAT_DOT });
        out.stdout(text.endsWith("\n") ? text : `${text}\n`);
        return 0;
      }
      case "inventory": {
        want(0, "");
        out.stdout((await collector().inventory({})).inventoryJson);
        return 0;
      }
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } finally {
    admin?.close();
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new TopologyError(`${path}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "not found" : (error as Error).message}`);
  }
}
