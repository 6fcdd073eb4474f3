// Answers each agent's request for its checks (netmap.v1.checks.<agent>, which only that
// agent's NATS user may publish): the entries of netmap.yaml's `checks:` that select its
// host. Every collector answers, in one queue group, so one answer comes back. On a
// database error no answer goes out: the agent keeps the checks it has and asks again.
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { encodeChecksReply } from "../../../proto/src/check-config.ts";
import { agentIdFromChecksSubject, CHECKS_SUBJECTS } from "../../../proto/src/subjects.ts";
import type { Db } from "../db/database.ts";
import { agentHostScope } from "../hosts/repository.ts";
import { checksFor, type CollectorCheck } from "./config.ts";

export const CHECKS_QUEUE = "netmap-collector-checks";

export function startChecksResponder({ nc, db, checks, log }: { nc: NatsConnection; db: Db; checks: readonly CollectorCheck[]; log: Logger }): Subscription {
  return nc.subscribe(CHECKS_SUBJECTS, {
    queue: CHECKS_QUEUE,
    callback: (error, msg) => {
      if (error) return void log.warn({ err: error }, "checks subscription failed");
      if (!msg.reply) return;
      let agentId: string;
      try {
        agentId = agentIdFromChecksSubject(msg.subject);
      } catch {
        return void log.debug({ subject: msg.subject }, "checks request on a subject that names no agent; ignored");
      }
      agentHostScope(db, agentId).then(
        (scope) => {
          const selected = checksFor(checks, scope);
          msg.respond(encodeChecksReply(selected));
          log.debug({ agentId, host: scope?.host, checks: selected.map((c) => c.name) }, "sent an agent its checks");
        },
        (err: unknown) => log.warn({ err, agentId }, "cannot read the agent's host; its checks request is not answered"),
      );
    },
  });
}
