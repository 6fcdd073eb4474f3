// Frozen: never edit a migration that has shipped; add a new one.
// Ingest keeps less per report (issue 15, docs/performance.md):
// - host_mounts and host_listeners go: written on every report, read by nothing (the API,
//   the alert rules and /metrics/hosts read a host's mounts and listeners from its latest
//   report, hosts.state).
// - host_interfaces stays (SNMP and adoption match hosts by MAC) and is written only when
//   an agent's interfaces change: hosts.interfaces_digest is the digest of the set last written.
// - hosts.state is compressed with LZ4 rather than pglz: the report is rewritten on every
//   report, and LZ4 compresses several times faster.
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE host_mounts, host_listeners`.execute(db);
  await sql`ALTER TABLE hosts ADD COLUMN interfaces_digest text`.execute(db);
  await sql`ALTER TABLE hosts ALTER COLUMN state SET COMPRESSION lz4`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error("2026_12_02_080_narrow_latest cannot be undone: restore a backup taken before it");
}
