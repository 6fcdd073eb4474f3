// A browser cannot set Authorization on a WebSocket. It asks for a ticket with its bearer token
// (POST /api/v1/terminal/:host/ticket), then opens the socket offering the subprotocols
// `netmap.terminal.v1` and `ticket.<ticket>`: a ticket opens one terminal on the host it was
// issued for, once, within 30 seconds, as the caller it was issued to. It never appears in a
// URL, so no proxy or server log keeps it. Kept in this collector's memory: the socket must
// reach the collector that issued it (a load balancer in front needs sticky sessions).
import { randomBytes } from "node:crypto";
import type { Caller } from "../auth/roles.ts";

export const TERMINAL_PROTOCOL = "netmap.terminal.v1";
export const TICKET_PROTOCOL_PREFIX = "ticket.";
export const TICKET_SECONDS = 30;

export interface TicketStore {
  issue(caller: Caller, host: string): string;
  /** The caller a ticket was issued to, once; undefined when unknown, used, expired or for another host. */
  redeem(ticket: string, host: string): Caller | undefined;
}

export function ticketStore(now: () => number = Date.now): TicketStore {
  const tickets = new Map<string, { caller: Caller; host: string; expires: number }>();
  const sweep = () => {
    for (const [ticket, entry] of tickets) if (entry.expires <= now()) tickets.delete(ticket);
  };
  return {
    issue(caller, host) {
      sweep();
      const ticket = randomBytes(24).toString("base64url");
      tickets.set(ticket, { caller, host, expires: now() + TICKET_SECONDS * 1000 });
      return ticket;
    },
    redeem(ticket, host) {
      const entry = tickets.get(ticket);
      tickets.delete(ticket);
      if (!entry || entry.expires <= now() || entry.host !== host) return undefined;
      return entry.caller;
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
