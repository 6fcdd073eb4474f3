// The one table of who may do what: the role every HTTP route and every gRPC method needs,
// and the audit action it records. An HTTP route missing here stops the app at start
// (http/auth.ts), a gRPC method missing here does not type-check, and
// test/integration/access.test.ts tries each entry with each role.
import type { NetMapAdminService } from "../../../proto/gen/netmap/v1/admin.ts";
import { AUDIT_ACTIONS } from "../../../proto/src/subjects.ts";
import type { Role } from "./roles.ts";

export type AuditAction = (typeof AUDIT_ACTIONS)[number];
export { AUDIT_ACTIONS };

export interface Access {
  /** "open": no token at all (the liveness probe, the status page's static files). */
  readonly role: Role | "open";
  /** Recorded in the audit trail (who, when, from where, outcome) when given. */
  readonly audit?: AuditAction;
  /** The request fields (HTTP: route parameters or body fields) naming what the action applies to, joined by spaces. */
  readonly target?: string | readonly string[];
  /** A WebSocket a browser opens: a single-use terminal ticket (terminal/tickets.ts) may stand for the bearer token. */
  readonly ticket?: true;
}

const open: Access = { role: "open" };
const viewer: Access = { role: "viewer" };

/** `METHOD /route` as fastify declares it. HEAD follows its GET. */
export const HTTP_ACCESS: Readonly<Record<string, Access>> = {
  "GET /healthz": open,
  "GET /readyz": open,
  "GET /": open,
  "GET /app.js": open,
  "GET /app.js.map": open,
  "GET /app.css": open,
  "GET /style.css": open,
  "GET /metrics": viewer,
  "GET /metrics/hosts": viewer,
  "GET /api/v1/hosts": viewer,
  "GET /api/v1/hosts/:id": viewer,
  "GET /api/v1/hosts/:id/series": viewer,
  "POST /api/v1/hosts/:id/adopt": { role: "admin", audit: "host_adopt", target: "id" },
  "GET /api/v1/alerts": viewer,
  "GET /api/v1/alerts/deliveries": viewer,
  "POST /api/v1/alerts/:fingerprint/ack": { role: "operator", audit: "alert_ack", target: "fingerprint" },
  "DELETE /api/v1/alerts/:fingerprint/ack": { role: "operator", audit: "alert_unack", target: "fingerprint" },
  "GET /api/v1/silences": viewer,
  "POST /api/v1/silences": { role: "operator", audit: "silence_add", target: "matchers" },
  "DELETE /api/v1/silences/:id": { role: "operator", audit: "silence_expire", target: "id" },
  "GET /api/v1/topology": viewer,
  "GET /api/v1/topology.svg": viewer,
  "GET /api/v1/routes/:host": viewer,
  "GET /api/v1/inventory/ansible": viewer,
  // Who did what, and from which address: for admins.
  "GET /api/v1/audit": { role: "admin" },
  "POST /api/v1/hosts/:id/actions/:action": { role: "operator", audit: "guest_action", target: ["id", "action", "snapshot"] },
  "GET /api/v1/tasks/:id": viewer,
  "GET /api/v1/hosts/:id/snapshots": viewer,
  "GET /api/v1/backups": viewer,
  "GET /api/v1/hosts/sparklines": viewer,
  "GET /api/v1/alerts/:fingerprint/history": viewer,
  // The web terminal (docs/terminal.md): opening and closing a session are audited by the session itself
  // (terminal_open, terminal_close), since a WebSocket's answer is not the session's outcome.
  "POST /api/v1/terminal/:host/ticket": { role: "operator" },
  "GET /api/v1/terminal/:host": { role: "operator", ticket: true },
  // An operator sees their own recordings, an admin everyone's.
  "GET /api/v1/sessions": { role: "operator" },
  "GET /api/v1/sessions/:id": { role: "operator" },
  // The console's container actions, run by the collector over SSH (docs/containers.md).
  "POST /api/v1/hosts/:id/container/:action": { role: "operator", audit: "container_action", target: ["id", "action"] },
};

/** Every method of NetMapAdmin; a method added to the .proto does not compile until it is here. */
export const GRPC_ACCESS: Readonly<Record<keyof typeof NetMapAdminService, Access>> = {
  import: { role: "admin", audit: "topology_import", target: "fileName" },
  export: viewer,
  listHosts: viewer,
  route: viewer,
  sshConfig: viewer,
  graph: viewer,
  inventory: viewer,
  adopt: { role: "admin", audit: "host_adopt", target: "host" },
  listAlerts: viewer,
  watchAlerts: viewer,
  addSilence: { role: "operator", audit: "silence_add", target: "matchers" },
  listSilences: viewer,
  expireSilence: { role: "operator", audit: "silence_expire", target: "id" },
  ackAlert: { role: "operator", audit: "alert_ack", target: "fingerprint" },
  createToken: { role: "admin", audit: "token_create", target: "name" },
  listTokens: { role: "admin" },
  revokeToken: { role: "admin", audit: "token_revoke", target: "name" },
  listAudit: { role: "admin" },
  recordAgentInstall: { role: "admin", audit: "agent_install", target: ["host", "outcome"] },
  mintAgentIdentity: { role: "admin", audit: "agent_identity_mint", target: "host" },
  revokeAgentIdentity: { role: "admin", audit: "agent_identity_revoke", target: "host" },
  guestAction: { role: "operator", audit: "guest_action", target: ["host", "action", "snapshot"] },
  getTask: viewer,
  listSnapshots: viewer,
  listBackups: viewer,
  // Acting on hosts is an operator's: the CLI is refused the route before anything runs.
  containerTarget: { role: "operator" },
  recordContainerAction: { role: "operator", audit: "container_action", target: ["container", "action", "outcome"] },
  selectHosts: { role: "operator" },
  recordFleetRun: { role: "operator", audit: "fleet_run", target: ["selection", "command", "outcome"] },
  // Replacing the agent binary of running hosts is an admin's, as installing one is.
  recordAgentUpgrade: { role: "admin", audit: "agent_upgrade", target: ["agents", "version", "outcome"] },
};

/** What an audited request names as its target, as text (a matcher list as JSON). */
export function auditTarget(access: Access, input: unknown): string {
  if (!access.target || typeof input !== "object" || input === null) return "";
  const values = [access.target].flat().map((field) => (input as Record<string, unknown>)[field]).filter((value) => value !== undefined && value !== null && value !== "");
  return values.map((value) => (typeof value === "string" ? value : JSON.stringify(value))).join(" ").slice(0, 500);
}
