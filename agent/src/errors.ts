// Errors with stable codes; main.ts maps them to exit codes.

export class NetMapError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A setting is wrong or the command line is; exit code 2. The message names the setting. */
export class ConfigError extends NetMapError {
  constructor(message: string, options?: ErrorOptions) {
    super("CONFIG_INVALID", message, options);
  }
}

/** The agent cannot tell which machine it runs on. */
export class IdentityError extends NetMapError {
  constructor(message: string, options?: ErrorOptions) {
    super("IDENTITY_UNKNOWN", message, options);
  }
}
