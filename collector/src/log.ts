import pino, { type Logger } from "pino";

export function createLogger(level: string): Logger {
  return pino({ name: "netmap", level, redact: ["*.password", "*.token", "*.secret", "*.authorization"] });
}

/** A URL fit for a log line: credentials removed. */
export function redactUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.password) url.password = "***";
    return url.toString();
  } catch {
    return "(unparseable URL)";
  }
}
