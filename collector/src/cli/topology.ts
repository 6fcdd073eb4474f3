// The topology commands: import, export, route, ssh, ssh-config, trust.
// They read the topology from the collector's database (NETMAP_DATABASE_URL or
// --config), or from a topology file given with --topology FILE (no collector
// needed: handy on a laptop and in tests).
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { loadCollectorConfig } from "../config.ts";
import { openDatabase, migrateToLatest, type Db } from "../db/database.ts";
import { UsageError, TopologyError } from "../errors.ts";
import { formatTopologyFile, parseTopologyFile } from "../topology/file.ts";
import type { Topology } from "../topology/model.ts";
import { importTopology, loadTopology } from "../topology/repository.ts";
import { formatHop, routeTo } from "../topology/routes.ts";
import { parseSshConfig, renderTopologySshConfig } from "../topology/ssh-config.ts";
import { knownHostsPath, retrust, runSsh, sshInvocation } from "../topology/ssh.ts";

export const TOPOLOGY_COMMANDS = ["import", "export", "route", "ssh", "ssh-config", "trust"] as const;

export const TOPOLOGY_USAGE = `  import FILE.yaml                  merge a topology file into the collector's database
  import --ssh-config FILE [--client C] [--site S]
                                    merge the Host blocks of an OpenSSH config
  export [FILE.yaml]                the topology as a topology file
  route HOST                        the SSH hop chain to HOST, one hop a line
  ssh HOST [-- CMD...]              run OpenSSH through the chain (NetMap's known_hosts)
  ssh-config                        ssh_config Host blocks with ProxyJump, for ~/.ssh/config
  trust HOST                        forget HOST's pinned key and learn the one it offers now

  HOST is NAME, SITE/NAME or CLIENT/SITE/NAME. route, ssh, ssh-config and trust take
  --topology FILE to read a topology file instead of the database.`;

interface Out {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const defaultOut: Out = { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) };

export async function runTopologyCommand(command: string, argv: string[], env = process.env, out = defaultOut): Promise<number> {
  const dashDash = argv.indexOf("--");
  const args = dashDash >= 0 ? argv.slice(0, dashDash) : argv;
  const remoteCommand = dashDash >= 0 ? argv.slice(dashDash + 1) : [];
  if (remoteCommand.length && command !== "ssh") throw new UsageError(`netmap ${command} takes no command after --`);
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        config: { type: "string" },
        topology: { type: "string" },
        "ssh-config": { type: "string" },
        client: { type: "string" },
        site: { type: "string" },
        "dry-run": { type: "boolean" },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const want = (n: number, what: string) => {
    if (positionals.length !== n) throw new UsageError(`usage: netmap ${command} ${what}`);
  };
  const withDb = async <T>(fn: (db: Db) => Promise<T>): Promise<T> => {
    const config = loadCollectorConfig({ configFlag: values.config, env });
    const db = openDatabase(config.databaseUrl, { max: 1 });
    try {
      await migrateToLatest(db);
      return await fn(db);
    } finally {
      await db.destroy();
    }
  };
  const topology = async (): Promise<Topology> =>
    values.topology
      ? parseTopologyFile(readText(values.topology), values.topology)
      : withDb((db) => loadTopology(db, { includeUnassigned: true }));

  switch (command) {
    case "import": {
      let incoming: Topology;
      if (values["ssh-config"]) {
        want(0, "--ssh-config FILE [--client C] [--site S]");
        const result = parseSshConfig(readText(values["ssh-config"]), {
          client: values.client ?? "default",
          site: values.site ?? "default",
          fileName: values["ssh-config"],
        });
        for (const line of result.ignored) out.stderr(`netmap: ${line}\n`);
        incoming = result.topology;
      } else {
        want(1, "FILE.yaml | --ssh-config FILE");
        incoming = parseTopologyFile(readText(positionals[0]!), positionals[0]!);
      }
      const result = await withDb((db) => importTopology(db, incoming));
      out.stdout(`imported: ${result.created} created, ${result.updated} updated, ${result.adopted} adopted from agents\n`);
      return 0;
    }
    case "export": {
      if (positionals.length > 1) throw new UsageError("usage: netmap export [FILE.yaml]");
      const text = formatTopologyFile(await withDb((db) => loadTopology(db)));
      if (positionals[0]) writeFileSync(positionals[0], text);
      else out.stdout(text);
      return 0;
    }
    case "route": {
      want(1, "HOST");
      for (const hop of routeTo(await topology(), positionals[0]!)) out.stdout(`${hop.client}/${hop.site}/${hop.name}\t${formatHop(hop)}\n`);
      return 0;
    }
    case "ssh-config": {
      want(0, "");
      out.stdout(renderTopologySshConfig(await topology(), { knownHostsFile: knownHostsPath(env) }));
      return 0;
    }
    case "ssh": {
      want(1, "HOST [-- CMD...]");
      const hops = routeTo(await topology(), positionals[0]!);
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
      const hops = routeTo(await topology(), positionals[0]!);
      const { removed, learned } = await retrust(hops, { knownHostsFile: knownHostsPath(env) });
      const name = `${hops.at(-1)!.client}/${hops.at(-1)!.site}/${hops.at(-1)!.name}`;
      if (removed.length) out.stdout(`forgot ${name}: ${removed.join(", ")}\n`);
      out.stdout(`trusted ${name}: ${learned.join(", ")}\n`);
      return 0;
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new TopologyError(`${path}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "not found" : (error as Error).message}`);
  }
}
