// Frozen: never edit a migration that has shipped; add a new one.
// Terminal tickets in PostgreSQL rather than one collector's memory (terminal/tickets.ts): behind
// a load balancer the socket may reach another collector than the one that issued the ticket.
// Only the ticket's SHA-256 is kept; a row is deleted when redeemed, and expired ones at each issue.
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE terminal_tickets (
      digest bytea PRIMARY KEY,
      caller_name text NOT NULL,
      caller_role text NOT NULL,
      host text NOT NULL,
      expires_at timestamptz NOT NULL
    )`.execute(db);
}
