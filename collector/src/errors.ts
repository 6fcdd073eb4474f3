// Errors with stable codes. Each is mapped once to an HTTP status (http/errors.ts)
// and a process exit code (main.ts).

export class NetMapError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A setting is missing or wrong; the message names the setting. */
export class ConfigError extends NetMapError {
  constructor(message: string, options?: ErrorOptions) {
    super("CONFIG_INVALID", message, options);
  }
}

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
