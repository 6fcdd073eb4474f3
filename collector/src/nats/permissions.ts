// What each NetMap identity may do on NATS, as nats-server permission blocks: the agent's (its
// own report subject and its own inbox) and the collector's. deploy/nats/agent-permissions.conf
// ships the same blocks for people who write nats-server's authorization by hand; a test
// (test/unit/collector/nats-permissions.test.ts) keeps the two the same.
import {
  agentInboxPrefix,
  CHECKS_SUBJECTS,
  checksSubject,
  EVENTS_STREAM,
  RELEASES_BUCKET,
  RELEASES_DIRECT_GET,
  RELEASES_STREAM,
  REPORT_SUBJECTS,
  REPORTS_STREAM,
  reportSubject,
  UPGRADE_STATUS_SUBJECTS,
  UPGRADE_SUBJECT_PREFIX,
  upgradeCommandSubject,
  upgradeStatusSubject,
} from "../../../proto/src/subjects.ts";

export interface Permissions {
  publish: readonly string[];
  subscribe: readonly string[];
  /** nats-server's allow_responses: one reply to each request received, on its reply subject whatever it is. */
  allowResponses?: true;
}

/**
 * An agent: its reports, its checks request (answered on its own inbox) and its upgrade status
 * out; its own inbox and upgrade commands in; and JetStream's direct get on the releases stream, which reads a stored release and writes nothing.
 */
export function agentPermissions(agentId: string): Permissions {
  return {
    publish: [reportSubject(agentId), checksSubject(agentId), upgradeStatusSubject(agentId), RELEASES_DIRECT_GET],
    subscribe: [`${agentInboxPrefix(agentId)}.>`, upgradeCommandSubject(agentId)],
  };
}

/** What `netmap serve` does with NATS and no more (its inbox prefix is nats.inbox_prefix). */
export function collectorPermissions(inboxPrefix: string): Permissions {
  return {
    publish: [
      "$JS.API.INFO",
      ...[REPORTS_STREAM, EVENTS_STREAM].flatMap((stream) => ["INFO", "CREATE", "UPDATE"].map((call) => `$JS.API.STREAM.${call}.${stream}`)),
      `$JS.API.CONSUMER.CREATE.${REPORTS_STREAM}.>`,
      `$JS.API.CONSUMER.INFO.${REPORTS_STREAM}.*`,
      `$JS.API.CONSUMER.MSG.NEXT.${REPORTS_STREAM}.*`,
      `$JS.ACK.${REPORTS_STREAM}.>`,
      "netmap.v1.alert.>",
      "netmap.v1.inventory.>",
      "netmap.v1.audit.>",
      // netmap agent upgrade: the releases bucket, the fleet's latest reports, the agents' commands.
      ...["INFO", "CREATE", "PURGE", "MSG.GET"].map((call) => `$JS.API.STREAM.${call}.${RELEASES_STREAM}`),
      // Listing the bucket to delete old releases: an ordered consumer of its metadata.
      ...["CREATE", "DELETE"].map((call) => `$JS.API.CONSUMER.${call}.${RELEASES_STREAM}.>`),
      `$O.${RELEASES_BUCKET}.>`,
      `$JS.API.STREAM.MSG.GET.${REPORTS_STREAM}`,
      `${UPGRADE_SUBJECT_PREFIX}.command.>`,
    ],
    // Agents' checks requests, answered once each on the agent's inbox: allow_responses, not a grant on agents' inboxes.
    subscribe: [`${inboxPrefix}.>`, CHECKS_SUBJECTS, REPORT_SUBJECTS, UPGRADE_STATUS_SUBJECTS],
    allowResponses: true,
  };
}

/** The block as nats-server's configuration writes it. */
export function permissionsBlock(permissions: Permissions): string {
  const list = (subjects: readonly string[]) => `[${subjects.map((s) => JSON.stringify(s)).join(", ")}]`;
  const responses = permissions.allowResponses ? ", allow_responses = true" : "";
  return `{ publish = { allow = ${list(permissions.publish)} }, subscribe = { allow = ${list(permissions.subscribe)} }${responses} }`;
}
