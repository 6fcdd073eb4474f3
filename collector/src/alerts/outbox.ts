// Sends what the outbox holds (repository.ts: enqueueTransitions, written in the transaction
// that moves each alert): on the collector holding the alert-outbox lease, oldest first, a batch
// at a time, each batch deleted once handed to the notifiers. A collector that dies after
// storing a transition leaves it here for whichever holds the lease next: a page is never lost
// to a kill, and may, if the holder dies between handing it over and deleting it, be sent twice.
import type { Logger } from "pino";
import type { Db } from "../db/database.ts";
import type { Transition } from "./engine.ts";
import { pendingTransitions, removeSentTransitions } from "./repository.ts";

const BATCH = 100;
export const OUTBOX_POLL_MS = 1000;

export interface OutboxSender {
  /** Sends now, if this collector holds the lease: a transition was just stored here. */
  kick(): void;
  stop(): Promise<void>;
}

export function startOutboxSender(options: {
  db: Db;
  log: Logger;
  /** Whether this collector sends (it holds the alert-outbox lease). */
  isSender: () => boolean;
  /** Hands transitions to the notifiers and NATS; resolves once they have them. */
  send: (transitions: Transition[]) => Promise<void>;
  pollMs?: number;
}): OutboxSender {
  const { db, log, isSender, send } = options;
  let draining: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  const drain = async () => {
    for (;;) {
      const batch = await pendingTransitions(db, BATCH);
      if (!batch.length) return;
      await send(batch.map((b) => b.transition));
      await removeSentTransitions(db, batch.map((b) => b.id));
      if (batch.length < BATCH) return;
    }
  };
  const kick = () => {
    if (stopped || !isSender()) return;
    if (draining) {
      again = true;
      return;
    }
    draining = drain()
      .catch((error: unknown) => log.warn({ err: error }, "cannot send the alert outbox; trying again"))
      .finally(() => {
        draining = undefined;
        if (again) {
          again = false;
          kick();
        }
      });
  };
  // Transitions other collectors stored, and those left by a holder that died.
  const timer = setInterval(kick, options.pollMs ?? OUTBOX_POLL_MS);
  timer.unref();
  return {
    kick,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await draining;
    },
  };
}
