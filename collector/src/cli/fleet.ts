// `netmap container ACTION HOST/NAME` and `netmap run SELECTION -- CMD...`: the collector says
// where (the routes, the container's engine) and records each action in the audit trail; the
// commands run here, on the caller's machine, through OpenSSH with NetMap's known_hosts
// (topology/ssh.ts), as `netmap ssh` does. No new port on any host.
import { parseDurationSeconds } from "../../../lib/settings.ts";
import { NetMapError, UsageError } from "../errors.ts";
import { CONTAINER_ACTIONS, CONTAINER_NAME, engineCommand, type ContainerAction } from "../containers/control.ts";
import { describeGroup, groupResults, progressLine, runOnHosts, summarize } from "../fleet/run.ts";
import { hopFromMessage } from "../grpc/messages.ts";
import { terminalSafe } from "../text/escape.ts";
import { knownHostsPath, runSsh } from "../topology/ssh.ts";
import { connectAdmin } from "./admin-client.ts";
import { defaultOut, parseCommandLine, type Out } from "./command-line.ts";

export const FLEET_COMMANDS = ["container", "run"] as const;

export const FLEET_USAGE = `  container start|stop|restart HOST/NAME
                                    act on container NAME of HOST through HOST's SSH chain with
                                    the engine's CLI there (docker, or podman), at the socket its
                                    agent reads; operator role; each action is audited
  container logs HOST/NAME [--lines N] [--follow]
                                    the container's output: the last N lines (all without
                                    --lines), then what it prints on, with --follow
  run [HOST...] [--client C] [--site S] [--label K=V]... [--all] [--timeout D] [--parallel N]
      [--json] -- CMD...            run CMD on every host selected (named, and the placed hosts
                                    with an address matching every filter; --all: all of them),
                                    each through its chain, --parallel (8) at a time behind each
                                    first hop, each stopped after --timeout (30s); output grouped
                                    where identical, a summary; exit 1 unless all exit 0. CMD
                                    reaches the remote shell as with ssh (words joined by spaces).
                                    operator role; audited`;

export async function runFleetCommand(command: string, argv: string[], env = process.env, out = defaultOut, progress: { isTTY: boolean; write(text: string): void } = process.stderr): Promise<number> {
  return command === "container" ? container(argv, env, out) : run(argv, env, out, progress);
}

async function container(argv: string[], env: Record<string, string | undefined>, out: Out): Promise<number> {
  const [action, ...args] = argv;
  if (!(CONTAINER_ACTIONS as readonly string[]).includes(action ?? "")) {
    throw new UsageError(`usage: netmap container ${CONTAINER_ACTIONS.join("|")} HOST/NAME${action ? ` (no action ${JSON.stringify(action)})` : ""}`);
  }
  const { values, positionals } = parseCommandLine(`container ${action}`, args, { follow: { type: "boolean" }, lines: { type: "string" } });
  if (positionals.length !== 1) throw new UsageError(`usage: netmap container ${action} HOST/NAME`);
  if (action !== "logs" && (values.follow || values.lines !== undefined)) throw new UsageError(`netmap container ${action} takes no --follow or --lines`);
  const lines = values.lines === undefined ? undefined : Number(values.lines);
  if (lines !== undefined && !(Number.isInteger(lines) && lines >= 0)) throw new UsageError(`--lines: expected a whole number ≥ 0, got ${JSON.stringify(values.lines)}`);
  const reference = positionals[0]!;
  const slash = reference.lastIndexOf("/");
  const [host, name] = [reference.slice(0, slash), reference.slice(slash + 1)];
  if (slash <= 0 || !CONTAINER_NAME.test(name)) throw new UsageError(`expected HOST/NAME (HOST as NAME, SITE/NAME or CLIENT/SITE/NAME; NAME the container's), got ${JSON.stringify(reference)}`);

  const admin = connectAdmin(env);
  try {
    const target = await admin.containerTarget({ host, container: name });
    const remote = engineCommand(action as ContainerAction, { engine: target.engine, socket: target.socket, name }, { follow: values.follow ?? false, lines });
    const label = terminalSafe(`${target.host}/${name}`);
    const record = (outcome: string) => admin.recordContainerAction({ container: `${target.host}/${name}`, action: action!, outcome });
    // logs may follow until interrupted: recorded as it starts. The others once the engine answered.
    if (action === "logs") await record("started");
    // logs: the container's output straight to ours, as it comes; the others: the engine's answer kept.
    const result = await runSsh(target.hops.map(hopFromMessage), remote, {
      knownHostsFile: knownHostsPath(env),
      stdio: { stdin: "ignore", stdout: action === "logs" ? "inherit" : "pipe" },
    }).catch(async (error: unknown) => {
      if (error instanceof NetMapError && action !== "logs") await record("unreachable");
      throw error;
    });
    const outcome = result.exitCode === 0 ? "ok" : result.exitCode === 255 ? "unreachable" : `failed (exit ${result.exitCode})`;
    if (action !== "logs") await record(outcome);
    if (action !== "logs") {
      if (result.exitCode === 0) out.stdout(`${PAST[action as Exclude<ContainerAction, "logs">]} ${label}\n`);
      else out.stderr(`netmap: ${action} ${label}: ${outcome}\n`);
    } else if (result.exitCode !== 0) out.stderr(`netmap: logs ${label}: ${outcome}\n`);
    return result.exitCode === 0 ? 0 : 1;
  } finally {
    admin.close();
  }
}

const PAST = { start: "started", stop: "stopped", restart: "restarted" } as const;

async function run(argv: string[], env: Record<string, string | undefined>, out: Out, progress: { isTTY: boolean; write(text: string): void }): Promise<number> {
  const dashDash = argv.indexOf("--");
  const command = dashDash >= 0 ? argv.slice(dashDash + 1) : [];
  const { values, positionals } = parseCommandLine("run", dashDash >= 0 ? argv.slice(0, dashDash) : argv, {
    client: { type: "string" },
    site: { type: "string" },
    label: { type: "string", multiple: true },
    all: { type: "boolean" },
    timeout: { type: "string" },
    parallel: { type: "string" },
    json: { type: "boolean" },
  });
  if (!command.length) throw new UsageError("usage: netmap run [HOST...] [--client C] [--site S] [--label K=V] [--all] -- CMD...: no command after --");
  const labels: Record<string, string> = {};
  for (const pair of values.label ?? []) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`--label: expected KEY=VALUE, got ${JSON.stringify(pair)}`);
    labels[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const selection = { hosts: positionals, client: values.client ?? "", site: values.site ?? "", labels, all: values.all ?? false };
  if (!selection.hosts.length && !selection.all && !selection.client && !selection.site && !Object.keys(labels).length) {
    throw new UsageError("netmap run: name hosts, or select them with --client, --site, --label or --all");
  }
  const timeoutSeconds = parseDurationSeconds(values.timeout ?? "30s");
  if (timeoutSeconds === undefined || timeoutSeconds <= 0) throw new UsageError(`--timeout: expected a duration such as 30s or 5m, got ${JSON.stringify(values.timeout)}`);
  const parallel = Number(values.parallel ?? "8");
  if (!Number.isInteger(parallel) || parallel < 1) throw new UsageError(`--parallel: expected a whole number ≥ 1, got ${JSON.stringify(values.parallel)}`);
  const selectionText = [
    ...positionals, ...(selection.client ? [`--client ${selection.client}`] : []), ...(selection.site ? [`--site ${selection.site}`] : []),
    ...Object.entries(labels).map(([k, v]) => `--label ${k}=${v}`), ...(selection.all ? ["--all"] : []),
  ].join(" ");
  const commandText = command.join(" ");

  const admin = connectAdmin(env);
  try {
    const { hosts } = await admin.selectHosts(selection);
    if (!hosts.length) {
      out.stderr("netmap run: no host matches the selection\n");
      return 1;
    }
    await admin.recordFleetRun({ selection: selectionText, command: commandText, outcome: "started" });
    const timeoutMs = timeoutSeconds * 1000;
    const live = progress.isTTY && !values.json;
    const results = await runOnHosts(
      hosts.map((h) => ({ host: h.host, hops: h.hops.map(hopFromMessage), error: h.error })),
      command,
      { ssh: { knownHostsFile: knownHostsPath(env) }, timeoutMs, parallel, onProgress: live ? (p) => progress.write(`\r\x1b[2K${progressLine(p)}`) : undefined },
    );
    if (live) progress.write("\r\x1b[2K");
    const summary = summarize(results);
    await admin.recordFleetRun({ selection: selectionText, command: commandText, outcome: summary });
    if (values.json) {
      out.stdout(`${JSON.stringify({ command, results, summary }, null, 2)}\n`);
    } else {
      for (const group of groupResults(results)) {
        out.stdout(`${describeGroup(group, timeoutMs)}\n`);
        if (group.stdout) out.stdout(group.stdout.endsWith("\n") ? group.stdout : `${group.stdout}\n`);
        if (group.stderr) out.stdout(`-- stderr:\n${group.stderr.endsWith("\n") ? group.stderr : `${group.stderr}\n`}`);
      }
      out.stdout(`${results.length} hosts: ${summary}\n`);
    }
    return results.every((r) => r.status === "ok") ? 0 : 1;
  } finally {
    admin.close();
  }
}
