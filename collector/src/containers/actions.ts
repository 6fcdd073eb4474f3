// A container action the collector itself carries out, for the console (POST
// /api/v1/hosts/:id/container/:action): the same remote command as `netmap container`
// (control.ts), through the container's host's chain with runSsh, as the collector's own
// user — its SSH agent or keys, and NetMap's known_hosts of that user (NETMAP_KNOWN_HOSTS).
// A collector whose user has no key reaching the hosts cannot act, whatever the token.
import { ContainerActionError, NetMapError, NotFoundError } from "../errors.ts";
import type { Db } from "../db/database.ts";
import type { Topology } from "../topology/model.ts";
import { allHosts, qualifiedName, routeFrom } from "../topology/routes.ts";
import { knownHostsPath, runSsh } from "../topology/ssh.ts";
import { engineCommand, type ContainerAction } from "./control.ts";

/** How long the engine may take to stop or restart a container (docker's stop waits 10 s before killing). */
const ACTION_TIMEOUT_MS = 60_000;

export interface ContainerActionResult {
  /** CLIENT/SITE/HOST/NAME. */
  container: string;
  action: ContainerAction;
  /** What the engine printed (its answer; the last 4 KiB). */
  output: string;
}

export async function actOnContainer(db: Db, topology: Topology, hostId: number, action: Exclude<ContainerAction, "logs">, env: Record<string, string | undefined> = process.env): Promise<ContainerActionResult> {
  const row = await db
    .selectFrom("containers as c")
    .leftJoin("container_engines as e", "e.host_id", "c.parent_host_id")
    .select(["c.parent_host_id", "c.name", "c.engine", "e.socket"])
    .where("c.host_id", "=", hostId)
    .executeTakeFirst();
  if (!row) throw new NotFoundError(`host ${hostId} is no container an agent listed`);
  const parent = allHosts(topology).find((h) => h.host.id === row.parent_host_id);
  if (!parent) throw new NotFoundError(`the host of container ${row.name} is not in the topology`);
  const container = `${qualifiedName(parent)}/${row.name}`;
  const hops = routeFrom(parent);
  const remote = engineCommand(action, { engine: row.engine, socket: row.socket ?? "", name: row.name });
  try {
    const result = await runSsh(hops, remote, {
      knownHostsFile: knownHostsPath(env),
      extraOptions: ["-o", "BatchMode=yes"],
      stdio: { stdin: "ignore", stdout: "pipe", stderr: "capture" },
      signal: AbortSignal.timeout(ACTION_TIMEOUT_MS),
    });
    const output = `${result.stdout}${result.stderr}`.slice(-4096);
    if (result.aborted) throw new ContainerActionError(`${action} ${container}: no answer within ${ACTION_TIMEOUT_MS / 1000} s`);
    if (result.exitCode === 255) throw new ContainerActionError(`${action} ${container}: ssh could not reach ${qualifiedName(parent)}: ${result.stderr.trim().split("\n").at(-1) ?? ""}`);
    if (result.exitCode !== 0) throw new ContainerActionError(`${action} ${container}: the engine answered exit ${result.exitCode}: ${output.trim()}`);
    return { container, action, output };
  } catch (error) {
    if (error instanceof NetMapError && !(error instanceof ContainerActionError)) throw new ContainerActionError(`${action} ${container}: ${error.message}`);
    throw error;
  }
}
