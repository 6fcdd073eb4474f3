// The only place a NATS subject string is built or parsed. Every token is
// validated, so a hostname or other free text never reaches a subject raw.

export const REPORTS_STREAM = "NETMAP_REPORTS";
export const REPORT_SUBJECT_PREFIX = "netmap.v1.report";
/** Subject filter matching every agent's reports. */
export const REPORT_SUBJECTS = `${REPORT_SUBJECT_PREFIX}.>`;

const AGENT_ID = /^[a-z0-9_-]{1,64}$/;

export class SubjectError extends Error {
  readonly code = "SUBJECT_INVALID";
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

/** Nats-Msg-Id for JetStream de-duplication: <agent>.<boot>.<seq>. */
export function reportMessageId(agentId: string, bootId: string, seq: number): string {
  return `${assertAgentId(agentId)}.${bootId}.${seq}`;
}
