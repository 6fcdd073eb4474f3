// The base of every program's errors: a stable code beside the message. Each
// program maps codes once, to HTTP status, gRPC status or exit code.

export class NetMapError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A setting is missing or wrong; the message names the setting. Exit code 2. */
export class ConfigError extends NetMapError {
  constructor(message: string, options?: ErrorOptions) {
    super("CONFIG_INVALID", message, options);
  }
}
