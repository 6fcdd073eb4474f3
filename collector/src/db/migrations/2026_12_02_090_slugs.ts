// Names as people write them (issue 12): clients, sites and hosts keep the slug a person gave
// (`slug:` in the topology file); null means the slug is derived from the name
// (topology/names.ts), so a derived slug is never stored and follows its name.
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  for (const table of ["clients", "sites", "hosts"]) {
    await sql`ALTER TABLE ${sql.table(table)} ADD COLUMN slug text`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ["clients", "sites", "hosts"]) {
    await sql`ALTER TABLE ${sql.table(table)} DROP COLUMN slug`.execute(db);
  }
}
