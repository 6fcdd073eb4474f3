// Errors with stable codes, and the one table (ANSWERS) saying how a caller is answered
// for each: the HTTP status (http/errors.ts) and the gRPC code (grpc/server.ts). The
// process exit code is main.ts's.
import { status } from "@grpc/grpc-js";
import { NetMapError } from "../../lib/errors.ts";

export { ConfigError, NetMapError } from "../../lib/errors.ts";

/** Bad command-line usage: exit code 2. */
export class UsageError extends NetMapError {
  constructor(message: string) {
    super("USAGE", message);
  }
}

export class NotFoundError extends NetMapError {
  constructor(message: string) {
    super("NOT_FOUND", message);
  }
}

export class BadRequestError extends NetMapError {
  constructor(message: string) {
    super("BAD_REQUEST", message);
  }
}

/** A topology (file or merged result) breaks a rule; the message names the host. Nothing is written. */
export class TopologyError extends NetMapError {
  constructor(message: string) {
    super("TOPOLOGY_INVALID", message);
  }
}

/** A host reference (`name`, `site/name` or `client/site/name`) matches more than one host. */
export class AmbiguousHostError extends NetMapError {
  constructor(message: string) {
    super("HOST_AMBIGUOUS", message);
  }
}

export type RouteErrorCode = "ROUTE_CYCLE" | "ROUTE_UNKNOWN_HOP" | "ROUTE_NO_ADDRESS" | "ROUTE_UNSAFE";

/** No SSH route to a host: a via cycle, a hop that does not exist, a hop without an address, or a value unfit for ssh. */
export class RouteError extends NetMapError {
  constructor(code: RouteErrorCode, message: string) {
    super(code, message);
  }
}

/** A host key differs from the pinned one; the message shows both fingerprints. */
export class HostKeyChangedError extends NetMapError {
  constructor(message: string) {
    super("HOST_KEY_CHANGED", message);
  }
}

/** Why the web terminal could not reach a hop (terminal/chain.ts); the page shows it with the hop's name. */
export type HopFailure = "timeout" | "refused" | "auth" | "key_changed" | "error";

/** A hop of the chain failed: which one (`client/site/name`), why, and for a changed key both fingerprints. */
export class HopError extends NetMapError {
  /** `client/site/name` of the hop, and its place in the route (0: the first connection). */
  readonly hop: string;
  readonly index: number;
  readonly reason: HopFailure;
  /** For a changed key: every pinned key's fingerprint and the offered one's, as `SHA256:… (ED25519)`. */
  readonly fingerprints: { pinned: string[]; offered: string } | undefined;
  constructor(hop: string, index: number, reason: HopFailure, message: string, fingerprints?: { pinned: string[]; offered: string }) {
    super(reason === "key_changed" ? "HOST_KEY_CHANGED" : `TERMINAL_HOP_${reason.toUpperCase()}`, message);
    this.hop = hop;
    this.index = index;
    this.reason = reason;
    this.fingerprints = fingerprints;
  }
}

/** A terminal session refused before any hop: the caller's limit, or the browser gone while connecting. */
export class TerminalError extends NetMapError {
  constructor(code: "TERMINAL_LIMIT" | "TERMINAL_CLOSED", message: string) {
    super(code, message);
  }
}

/** An external program (ssh, ssh-keyscan) could not run or failed. */
export class ExternalCommandError extends NetMapError {
  constructor(message: string) {
    super("EXTERNAL_COMMAND", message);
  }
}

/** `netmap agent install` could not install the agent on one host; the message says which step and why. */
export class AgentInstallError extends NetMapError {
  constructor(message: string) {
    super("AGENT_INSTALL", message);
  }
}

export type SnmpErrorCode = "SNMP_TIMEOUT" | "SNMP_AUTH" | "SNMP_BAD_RESPONSE" | "SNMP_WALK_BOUND" | "SNMP_DEADLINE";

/** A device did not answer, refused the credentials, answered nonsense, or went past a bound; the message names the device. */
export class SnmpError extends NetMapError {
  constructor(code: SnmpErrorCode, message: string) {
    super(code, message);
  }
}

/** A container action the collector ran over SSH did not succeed: ssh could not reach the host, or the engine refused; the message says which. */
export class ContainerActionError extends NetMapError {
  constructor(message: string) {
    super("CONTAINER_ACTION_FAILED", message);
  }
}

/** How an error the caller can fix is answered, over HTTP and over gRPC. */
export interface Answer {
  http: number;
  grpc: status;
}

/**
 * Every code a caller is told about, with its status. A code not listed is the collector's
 * own failure: HTTP 500 / gRPC INTERNAL, logged, its message never shown.
 */
export const ANSWERS = {
  BAD_REQUEST: { http: 400, grpc: status.INVALID_ARGUMENT },
  UNAUTHENTICATED: { http: 401, grpc: status.UNAUTHENTICATED },
  // A valid token whose role is below what the route or method needs (auth/access.ts).
  FORBIDDEN: { http: 403, grpc: status.PERMISSION_DENIED },
  // Too many failed authentications from the caller's address; answered with the seconds to wait.
  TOO_MANY_FAILURES: { http: 429, grpc: status.RESOURCE_EXHAUSTED },
  NOT_FOUND: { http: 404, grpc: status.NOT_FOUND },
  // The reference names several hosts: the caller picks one (SITE/NAME or CLIENT/SITE/NAME).
  HOST_AMBIGUOUS: { http: 409, grpc: status.INVALID_ARGUMENT },
  // Well-formed, but the topology it names cannot give a route (or, for a file, breaks a rule).
  ROUTE_CYCLE: { http: 422, grpc: status.INVALID_ARGUMENT },
  ROUTE_UNKNOWN_HOP: { http: 422, grpc: status.INVALID_ARGUMENT },
  ROUTE_NO_ADDRESS: { http: 422, grpc: status.INVALID_ARGUMENT },
  ROUTE_UNSAFE: { http: 422, grpc: status.INVALID_ARGUMENT },
  TOPOLOGY_INVALID: { http: 422, grpc: status.INVALID_ARGUMENT },
  // Minting NATS identities needs nats.agent_authorization; a reload nats-server did not get.
  AGENT_IDENTITIES_OFF: { http: 409, grpc: status.FAILED_PRECONDITION },
  NATS_RELOAD: { http: 502, grpc: status.UNAVAILABLE },
  // A guest action (proxmox/guest-actions.ts) on a host that is no guest of a configured cluster.
  GUEST_ACTION_REFUSED: { http: 409, grpc: status.FAILED_PRECONDITION },
  // PVE refused or could not answer a guest action; the message says what PVE said (a 403 names
  // the privilege and path it checked).
  PROXMOX_FORBIDDEN: { http: 502, grpc: status.FAILED_PRECONDITION },
  PROXMOX_UNAUTHORIZED: { http: 502, grpc: status.FAILED_PRECONDITION },
  PROXMOX_HTTP: { http: 502, grpc: status.FAILED_PRECONDITION },
  PROXMOX_NODE_UNREACHABLE: { http: 502, grpc: status.UNAVAILABLE },
  PROXMOX_TIMEOUT: { http: 504, grpc: status.DEADLINE_EXCEEDED },
  PROXMOX_UNREACHABLE: { http: 502, grpc: status.UNAVAILABLE },
  PROXMOX_TLS: { http: 502, grpc: status.UNAVAILABLE },
  PROXMOX_FINGERPRINT_MISMATCH: { http: 502, grpc: status.UNAVAILABLE },
  PROXMOX_BAD_RESPONSE: { http: 502, grpc: status.UNAVAILABLE },
  // The collector's ssh to a container's host failed, or the engine there refused the action.
  CONTAINER_ACTION_FAILED: { http: 502, grpc: status.UNAVAILABLE },
} as const satisfies Record<string, Answer>;

export type AnsweredCode = keyof typeof ANSWERS;

/** The error's code, message and status when the caller is to be told; undefined when it is the collector's own failure. */
export function answerFor(error: unknown): (Answer & { code: string; message: string }) | undefined {
  if (!(error instanceof NetMapError) || !Object.hasOwn(ANSWERS, error.code)) return undefined;
  return { ...ANSWERS[error.code as AnsweredCode], code: error.code, message: error.message };
}
