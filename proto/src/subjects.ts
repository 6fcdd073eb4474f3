// The only place a NATS subject string is built or parsed. Every token is
// validated, so a hostname or other free text never reaches a subject raw.
import { NetMapError } from "../../lib/errors.ts";

export const REPORTS_STREAM = "NETMAP_REPORTS";
export const EVENTS_STREAM = "NETMAP_EVENTS";
export const ALERT_SUBJECT_PREFIX = "netmap.v1.alert";
export const INVENTORY_SUBJECT_PREFIX = "netmap.v1.inventory";
/** Subject filters of everything stream NETMAP_EVENTS keeps. */
export const EVENT_SUBJECTS = [`${ALERT_SUBJECT_PREFIX}.>`, `${INVENTORY_SUBJECT_PREFIX}.>`];

export const ALERT_STATES = ["firing", "resolved"] as const;
export const ALERT_SEVERITIES = ["info", "warning", "critical"] as const;
export const INVENTORY_CHANGES = ["added", "changed", "removed"] as const;
export const AUDIT_SUBJECT_PREFIX = "netmap.v1.audit";
/** Every action the audit trail records; each is the last token of its subject. */
export const AUDIT_ACTIONS = [
  "topology_import",
  "host_adopt",
  "alert_ack",
  "alert_unack",
  "silence_add",
  "silence_expire",
  "token_create",
  "token_revoke",
  "agent_install",
  "agent_identity_mint",
  "agent_identity_revoke",
  "guest_action",
  "terminal_open",
  "terminal_close",
  "container_action",
  "fleet_run",
  "agent_upgrade",
] as const;
export const REPORT_SUBJECT_PREFIX = "netmap.v1.report";
/** Subject filter matching every agent's reports. */
export const REPORT_SUBJECTS = `${REPORT_SUBJECT_PREFIX}.>`;

export const CHECKS_SUBJECT_PREFIX = "netmap.v1.checks";
/** Subject filter matching every agent's requests for its checks. */
export const CHECKS_SUBJECTS = `${CHECKS_SUBJECT_PREFIX}.*`;

const AGENT_ID = /^[a-z0-9_-]{1,64}$/;

/** A subject token (agent id, alert state…) breaks its rule, or a subject is not ours. */
export class SubjectError extends NetMapError {
  constructor(message: string) {
    super("SUBJECT_INVALID", message);
  }
}

export function isAgentId(value: string): boolean {
  return AGENT_ID.test(value);
}

export function assertAgentId(value: string): string {
  if (!isAgentId(value)) {
    throw new SubjectError(`invalid agent id ${JSON.stringify(value)}: expected 1-64 characters of [a-z0-9_-]`);
  }
  return value;
}

/** netmap.v1.report.<agent> */
export function reportSubject(agentId: string): string {
  return `${REPORT_SUBJECT_PREFIX}.${assertAgentId(agentId)}`;
}

/** The agent id a report subject names; throws SubjectError for anything else. */
export function agentIdFromReportSubject(subject: string): string {
  const prefix = `${REPORT_SUBJECT_PREFIX}.`;
  if (!subject.startsWith(prefix)) {
    throw new SubjectError(`not a report subject: ${JSON.stringify(subject)}`);
  }
  return assertAgentId(subject.slice(prefix.length));
}

/** netmap.v1.checks.<agent>: where an agent asks the collector for the checks netmap.yaml gives it. */
export function checksSubject(agentId: string): string {
  return `${CHECKS_SUBJECT_PREFIX}.${assertAgentId(agentId)}`;
}

/** The agent id a checks request's subject names; throws SubjectError for anything else. */
export function agentIdFromChecksSubject(subject: string): string {
  const prefix = `${CHECKS_SUBJECT_PREFIX}.`;
  if (!subject.startsWith(prefix)) throw new SubjectError(`not a checks subject: ${JSON.stringify(subject)}`);
  return assertAgentId(subject.slice(prefix.length));
}

export const AGENT_INBOX_ROOT = "_INBOX_netmap.agent";
/** The collector's inbox prefix unless nats.inbox_prefix says otherwise. */
export const COLLECTOR_INBOX_PREFIX = "_INBOX_netmap.collector";

/**
 * Where an agent's replies (JetStream's publish acks) arrive: its own inbox
 * prefix, so its NATS permissions can allow it to subscribe to exactly
 * `_INBOX_netmap.agent.<agent>.>` and nothing of another agent's or the
 * collector's. A root apart from the clients' default `_INBOX` keeps an old
 * `_INBOX.>` grant from covering it.
 */
export function agentInboxPrefix(agentId: string): string {
  return `${AGENT_INBOX_ROOT}.${assertAgentId(agentId)}`;
}

/** Whether a client may take this as its inbox prefix: literal tokens, no wildcards. */
export function isInboxPrefix(value: string): boolean {
  return /^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/.test(value) && value.length <= 128;
}

/** Nats-Msg-Id for JetStream de-duplication: <agent>.<boot>.<seq>. */
export function reportMessageId(agentId: string, bootId: string, seq: number): string {
  return `${assertAgentId(agentId)}.${bootId}.${seq}`;
}

/** netmap.v1.alert.<state>.<severity> */
export function alertSubject(state: string, severity: string): string {
  if (!(ALERT_STATES as readonly string[]).includes(state)) throw new SubjectError(`invalid alert state ${JSON.stringify(state)}: expected ${ALERT_STATES.join(" or ")}`);
  if (!(ALERT_SEVERITIES as readonly string[]).includes(severity)) {
    throw new SubjectError(`invalid alert severity ${JSON.stringify(severity)}: expected ${ALERT_SEVERITIES.join(", ")}`);
  }
  return `${ALERT_SUBJECT_PREFIX}.${state}.${severity}`;
}

/** netmap.v1.inventory.<change> */
export function inventorySubject(change: string): string {
  if (!(INVENTORY_CHANGES as readonly string[]).includes(change)) {
    throw new SubjectError(`invalid inventory change ${JSON.stringify(change)}: expected ${INVENTORY_CHANGES.join(", ")}`);
  }
  return `${INVENTORY_SUBJECT_PREFIX}.${change}`;
}

/** netmap.v1.audit.<action> */
export function auditSubject(action: string): string {
  if (!(AUDIT_ACTIONS as readonly string[]).includes(action)) throw new SubjectError(`invalid audit action ${JSON.stringify(action)}: expected ${AUDIT_ACTIONS.join(", ")}`);
  return `${AUDIT_SUBJECT_PREFIX}.${action}`;
}

/** The JetStream object store agent releases are published into, and the stream behind it. */
export const RELEASES_BUCKET = "NETMAP_RELEASES";
export const RELEASES_STREAM = `OBJ_${RELEASES_BUCKET}`;
/**
 * Where an agent reads a release: JetStream's direct get on the releases stream, a request
 * that can read a stored message and change nothing, so an agent's NATS user may read
 * releases and never write one.
 */
export const RELEASES_DIRECT_GET = `$JS.API.DIRECT.GET.${RELEASES_STREAM}`;
/** An object's subjects in the store: its metadata (name in URL-safe base64, padded as the object store writes it) and its chunks. */
export function releaseMetaSubject(objectName: string): string {
  const name = Buffer.from(objectName).toString("base64url");
  return `$O.${RELEASES_BUCKET}.M.${name.padEnd(Math.ceil(name.length / 4) * 4, "=")}`;
}
export function releaseChunkSubject(nuid: string): string {
  if (!/^[A-Za-z0-9]{1,64}$/.test(nuid)) throw new SubjectError(`invalid object nuid ${JSON.stringify(nuid)}`);
  return `$O.${RELEASES_BUCKET}.C.${nuid}`;
}

export const UPGRADE_SUBJECT_PREFIX = "netmap.v1.upgrade";
/** netmap.v1.upgrade.command.<agent>: the collector tells one agent to upgrade or roll back. */
export function upgradeCommandSubject(agentId: string): string {
  return `${UPGRADE_SUBJECT_PREFIX}.command.${assertAgentId(agentId)}`;
}
/** netmap.v1.upgrade.status.<agent>: the agent says how an upgrade went. */
export function upgradeStatusSubject(agentId: string): string {
  return `${UPGRADE_SUBJECT_PREFIX}.status.${assertAgentId(agentId)}`;
}
/** Subject filter of every agent's upgrade status. */
export const UPGRADE_STATUS_SUBJECTS = `${UPGRADE_SUBJECT_PREFIX}.status.>`;
export function agentIdFromUpgradeStatusSubject(subject: string): string {
  const prefix = `${UPGRADE_SUBJECT_PREFIX}.status.`;
  if (!subject.startsWith(prefix)) throw new SubjectError(`not an upgrade status subject: ${JSON.stringify(subject)}`);
  return assertAgentId(subject.slice(prefix.length));
}
