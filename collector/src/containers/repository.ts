// Reads of the containers agents list: a container host's detail and status, and what the
// map and the CLI need (topology/repository.ts, grpc/service.ts).
import { sql } from "kysely";
import type { Db, Tx } from "../db/database.ts";
import type { ContainerDetail } from "../http/api-types.ts";
import type { HostStatus } from "../hosts/status.ts";

/**
 * A container's status, in SQL over `containers c`: gone from a complete listing is down,
 * kept from a listing that failed is stale, running (or restarting into running) is up,
 * anything else (created, exited, dead, paused) down.
 */
export const containerStatus = sql<HostStatus>`CASE WHEN c.gone_at IS NOT NULL THEN 'down' WHEN c.stale_reason IS NOT NULL THEN 'stale'
  WHEN c.state = 'running' THEN 'up' ELSE 'down' END`;

export async function containerDetail(db: Db | Tx, hostId: number): Promise<ContainerDetail | null> {
  const row = await db
    .selectFrom("containers as c")
    .innerJoin("hosts as p", "p.id", "c.parent_host_id")
    .select(["c.parent_host_id", sql<string>`coalesce(p.name, p.hostname)`.as("parent_name"), "c.name", "c.container_id", "c.engine", "c.image", "c.state",
      "c.health", "c.started_at", "c.networks", "c.ports", "c.labels", "c.compose_project", "c.compose_service", "c.stale_reason", "c.seen_at", "c.gone_at"])
    .where("c.host_id", "=", hostId)
    .executeTakeFirst();
  if (!row) return null;
  return {
    parent: { id: row.parent_host_id, name: row.parent_name }, name: row.name, containerId: row.container_id, engine: row.engine, image: row.image,
    state: row.state, health: row.health, startedAt: row.started_at?.toISOString() ?? null, networks: row.networks, ports: row.ports, labels: row.labels,
    compose: row.compose_project === null ? null : { project: row.compose_project, service: row.compose_service },
    stale: row.stale_reason !== null, staleReason: row.stale_reason, seenAt: row.seen_at.toISOString(), goneAt: row.gone_at?.toISOString() ?? null,
  };
}

/** What the map shows of each container host, by host id. */
export interface ContainerOnMap {
  image: string;
  state: string;
  status: HostStatus;
  compose: { project: string; service: string | null } | null;
}

export async function containersOnMap(db: Db | Tx): Promise<Map<number, ContainerOnMap>> {
  const { rows } = await sql<{ host_id: number; image: string; state: string; status: HostStatus; compose_project: string | null; compose_service: string | null }>`
    SELECT c.host_id, c.image, c.state, ${containerStatus} AS status, c.compose_project, c.compose_service FROM containers c`.execute(db);
  return new Map(rows.map((r) => [r.host_id, {
    image: r.image, state: r.state, status: r.status, compose: r.compose_project === null ? null : { project: r.compose_project, service: r.compose_service },
  }]));
}

/** What `netmap container` needs to act on PARENT/NAME: the engine and its socket on the parent host. */
export async function containerEngineOf(db: Db | Tx, parentHostId: number, name: string): Promise<{ engine: string; socket: string; state: string; goneAt: Date | null } | undefined> {
  const row = await db
    .selectFrom("containers as c")
    .leftJoin("container_engines as e", "e.host_id", "c.parent_host_id")
    .select(["c.engine", "e.socket", "c.state", "c.gone_at"])
    .where("c.parent_host_id", "=", parentHostId)
    .where("c.name", "=", name)
    .executeTakeFirst();
  return row && { engine: row.engine, socket: row.socket ?? "", state: row.state, goneAt: row.gone_at };
}
