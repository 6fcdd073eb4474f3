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
