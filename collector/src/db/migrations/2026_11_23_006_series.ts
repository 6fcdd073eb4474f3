// Frozen: never edit a migration that has shipped; add a new one.
// GET /api/v1/hosts/:id/series reads a host's samples over a time range. The
// primary keys of mount_samples and proxmox_storage_samples lead with
// (host_id, mountpoint|storage), so a range over every mount point of a host
// would read the host's whole history (PostgreSQL 15 has no skip scan):
// these indexes make it a range scan. report_samples and proxmox_samples
// already have (host_id, collected_at).
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE INDEX mount_samples_host_time ON mount_samples (host_id, collected_at)`.execute(db);
  await sql`CREATE INDEX proxmox_storage_samples_host_time ON proxmox_storage_samples (host_id, collected_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX proxmox_storage_samples_host_time`.execute(db);
  await sql`DROP INDEX mount_samples_host_time`.execute(db);
}
