// Frozen: never edit a migration that has shipped; add a new one.
// Ingest keeps less per report (issue 15, docs/performance.md):
// - hosts.state (the latest report as JSON) becomes hosts.report, the report as the agent
//   sent it (protobuf, the proto's wire format, which stays readable as fields are added):
//   PostgreSQL parsing a few KiB of JSON per report was the costliest step of ingest.
//   hosts.os and hosts.agent_version keep the parts of it the host list reads in SQL.
// - host_mounts and host_listeners go: written on every report, read by nothing (the API,
//   the alert rules and /metrics/hosts read a host's mounts and listeners from its latest
//   report).
// - host_interfaces stays (SNMP and adoption match hosts by MAC) and is written only when
//   an agent's interfaces change: hosts.interfaces_digest is the digest of the set last written.
// - hosts leaves half of each page free (fillfactor 50), so that the update of a host's
//   latest state finds room on its own page: a HOT update, which writes no index entry.
//   Pages written before this migration get the room as new rows and VACUUM FULL rewrite them.
import { sql, type Kysely } from "kysely";
import { HostReport } from "../../../../proto/gen/netmap/v1/report.ts";

export async function up(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE host_mounts, host_listeners`.execute(db);
  await sql`ALTER TABLE hosts ADD COLUMN interfaces_digest text, ADD COLUMN os jsonb, ADD COLUMN agent_version text, ADD COLUMN report bytea`.execute(db);
  await sql`ALTER TABLE hosts ALTER COLUMN report SET COMPRESSION lz4`.execute(db);
  for (let after = 0; ; ) {
    const { rows } = await sql<{ id: string | number; state: unknown }>`
      SELECT id, state FROM hosts WHERE state IS NOT NULL AND id > ${after} ORDER BY id LIMIT 1000`.execute(db);
    if (!rows.length) break;
    await sql`
      UPDATE hosts h SET report = n.report, os = h.state -> 'os', agent_version = nullif(h.state ->> 'agentVersion', '')
      FROM unnest(${rows.map((r) => Number(r.id))}::bigint[], ${rows.map((r) => Buffer.from(HostReport.encode(HostReport.fromJSON(r.state)).finish()))}::bytea[])
        AS n(id, report)
      WHERE h.id = n.id`.execute(db);
    after = Number(rows.at(-1)!.id);
  }
  await sql`ALTER TABLE hosts DROP COLUMN state`.execute(db);
  await sql`ALTER TABLE hosts SET (fillfactor = 50)`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error("2026_12_02_080_narrow_latest cannot be undone: restore a backup taken before it");
}
