// A browser cannot set Authorization on a WebSocket. It asks for a ticket with its bearer token
// (POST /api/v1/terminal/:host/ticket), then opens the socket offering the subprotocols
// `netmap.terminal.v1` and `ticket.<ticket>`: a ticket opens one terminal on the host it was
// issued for, once, within 30 seconds, as the caller it was issued to. It never appears in a
// URL, so no proxy or server log keeps it. Kept in PostgreSQL (its SHA-256 only) and dated by
// PostgreSQL's clock, so the socket may reach any collector behind a load balancer, not only
// the one that issued it, and the collectors' clocks need not agree.
import { createHash, randomBytes } from "node:crypto";
import { sql } from "kysely";
import { isRole, type Caller } from "../auth/roles.ts";
import type { Db } from "../db/database.ts";

export const TERMINAL_PROTOCOL = "netmap.terminal.v1";
export const TICKET_PROTOCOL_PREFIX = "ticket.";
export const TICKET_SECONDS = 30;

export interface TicketStore {
  issue(caller: Caller, host: string): Promise<string>;
  /** The caller a ticket was issued to, once; undefined when unknown, used, expired or for another host. */
  redeem(ticket: string, host: string): Promise<Caller | undefined>;
}

const digest = (ticket: string) => createHash("sha256").update(ticket).digest();

export function ticketStore(db: Db, ttlSeconds = TICKET_SECONDS): TicketStore {
  return {
    async issue(caller, host) {
      const ticket = randomBytes(24).toString("base64url");
      await db.deleteFrom("terminal_tickets").where("expires_at", "<=", sql<Date>`now()`).execute();
      await db
        .insertInto("terminal_tickets")
        .values({ digest: digest(ticket), caller_name: caller.name, caller_role: caller.role, host, expires_at: sql<Date>`now() + make_interval(secs => ${ttlSeconds})` })
        .execute();
      return ticket;
    },
    async redeem(ticket, host) {
      // Deleted whatever it was for: a ticket tried on the wrong host is spent.
      const row = await db
        .deleteFrom("terminal_tickets")
        .where("digest", "=", digest(ticket))
        .returning(["caller_name", "caller_role", "host", sql<boolean>`expires_at > now()`.as("valid")])
        .executeTakeFirst();
      if (!row || !row.valid || row.host !== host || !isRole(row.caller_role)) return undefined;
      return { name: row.caller_name, role: row.caller_role };
    },
  };
}

/** The ticket offered in a Sec-WebSocket-Protocol header, if any. */
export function ticketFromProtocols(header: string | undefined): string | undefined {
  return header
    ?.split(",")
    .map((p) => p.trim())
    .find((p) => p.startsWith(TICKET_PROTOCOL_PREFIX))
    ?.slice(TICKET_PROTOCOL_PREFIX.length);
}
