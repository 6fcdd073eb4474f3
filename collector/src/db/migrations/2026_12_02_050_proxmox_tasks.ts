// Proxmox day two (issue 20): each action a person asked of a Proxmox guest, the PVE task
// (UPID) that carries it out, and how that task ended, as GET /api/v1/tasks/:id shows it;
// and per guest its newest backup archive, as of the last cycle that could list them all.
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE proxmox_tasks (
      id bigserial PRIMARY KEY,
      host_id bigint REFERENCES hosts (id) ON DELETE SET NULL,
      cluster text NOT NULL,
      node text NOT NULL,
      guest_type text NOT NULL CHECK (guest_type IN ('qemu', 'lxc')),
      vmid integer NOT NULL,
      action text NOT NULL,
      snapshot text,
      upid text NOT NULL,
      requested_by text NOT NULL,
      status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'ok', 'failed')),
      -- PVE's exitstatus once stopped: "OK", or the error the task ended with.
      exit_status text,
      started_at timestamptz NOT NULL DEFAULT now(),
      ended_at timestamptz
    )`.execute(db);
  await sql`CREATE INDEX proxmox_tasks_host ON proxmox_tasks (host_id, started_at DESC)`.execute(db);
  await sql`
    ALTER TABLE proxmox_resources
      ADD COLUMN last_backup_at timestamptz,
      ADD COLUMN last_backup_bytes bigint,
      ADD COLUMN last_backup_volid text,
      -- The last cycle that listed every backup storage: a null last_backup_at is "never" only once this is set.
      ADD COLUMN backups_checked_at timestamptz`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE proxmox_resources DROP COLUMN last_backup_at, DROP COLUMN last_backup_bytes, DROP COLUMN last_backup_volid, DROP COLUMN backups_checked_at`.execute(db);
  await sql`DROP TABLE proxmox_tasks`.execute(db);
}
