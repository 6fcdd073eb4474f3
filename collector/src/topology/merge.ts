// An agent's first report lands on the host a person declared, never beside it:
// before ingest creates hosts for new agent ids, each new agent claims the one
// unclaimed declared host that matches it — by name (the hostname, or its first
// label), else by one of its IP addresses, else by a MAC known for that host.
// Only agent_id is written: every fact a person entered stays as it is.
import { sql } from "kysely";
import type { HostReport } from "../../../proto/gen/netmap/v1/report.ts";
import type { Db } from "../db/database.ts";

type Tx = Parameters<Parameters<ReturnType<Db["transaction"]>["execute"]>[0]>[0];

/** Returns the agent ids that were attached to a declared host. */
export async function adoptDeclaredHosts(trx: Tx, reports: HostReport[]): Promise<string[]> {
  const agentIds = [...new Set(reports.map((r) => r.agentId))].sort();
  const { rows: known } = await sql<{ agent_id: string }>`SELECT agent_id FROM hosts WHERE agent_id = ANY(${agentIds}::text[])`.execute(trx);
  const knownIds = new Set(known.map((r) => r.agent_id));
  const adopted: string[] = [];
  for (const agentId of agentIds) {
    if (knownIds.has(agentId)) continue;
    const report = reports.find((r) => r.agentId === agentId)!;
    const candidate = await matchDeclaredHost(trx, report);
    if (candidate === undefined) continue;
    // agent_id IS NULL again: another collector may have claimed it meanwhile.
    const { rows } = await sql`UPDATE hosts SET agent_id = ${agentId} WHERE id = ${candidate} AND agent_id IS NULL RETURNING id`.execute(trx);
    if (rows.length) adopted.push(agentId);
  }
  return adopted;
}

async function matchDeclaredHost(trx: Tx, report: HostReport): Promise<number | undefined> {
  const hostname = report.hostname.toLowerCase();
  const names = [...new Set([hostname, hostname.split(".")[0]!].filter(Boolean))];
  const one = (rows: { id: number }[]) => (rows.length === 1 ? rows[0]!.id : undefined);

  const byName = await sql<{ id: number }>`
    SELECT id FROM hosts WHERE agent_id IS NULL AND source = 'person' AND lower(name) = ANY(${names}::text[])`.execute(trx);
  if (byName.rows.length) return one(byName.rows);

  const nics = report.interfaces.filter((i) => !i.virtual);
  const addresses = nics.flatMap((i) => i.addresses.map((a) => a.address)).filter((a) => a !== "127.0.0.1" && a !== "::1");
  if (addresses.length) {
    const byAddress = await sql<{ id: number }>`
      SELECT id FROM hosts WHERE agent_id IS NULL AND source = 'person' AND address = ANY(${addresses}::text[])`.execute(trx);
    if (byAddress.rows.length) return one(byAddress.rows);
  }

  const macs = nics.map((i) => i.mac.toLowerCase()).filter((m) => m && m !== "00:00:00:00:00:00");
  if (macs.length) {
    const byMac = await sql<{ id: number }>`
      SELECT DISTINCT h.id FROM hosts h JOIN host_interfaces i ON i.host_id = h.id
      WHERE h.agent_id IS NULL AND lower(i.mac) = ANY(${macs}::text[])`.execute(trx);
    return one(byMac.rows);
  }
  return undefined;
}
