// Errors with stable codes. Each is mapped once to an HTTP status (http/errors.ts)
// and a process exit code (main.ts).
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
