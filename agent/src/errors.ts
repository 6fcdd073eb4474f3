// Errors with stable codes; main.ts maps them to exit codes.
import { NetMapError } from "../../lib/errors.ts";

export { ConfigError, NetMapError } from "../../lib/errors.ts";

/** The agent cannot tell which machine it runs on. */
export class IdentityError extends NetMapError {
  constructor(message: string, options?: ErrorOptions) {
    super("IDENTITY_UNKNOWN", message, options);
  }
}
