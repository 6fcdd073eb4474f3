import pino, { type DestinationStream, type Logger } from "pino";
import { PinoPretty } from "pino-pretty";

/**
 * JSON lines on stdout for a service manager or a log shipper; on a terminal (format auto) or
 * when asked (pretty, which npm start asks for when it runs on one), one readable line each.
 */
export function createLogger(level: string, format: "auto" | "json" | "pretty" = "json", stdout: NodeJS.WriteStream = process.stdout): Logger {
  const pretty = format === "pretty" || (format === "auto" && stdout.isTTY === true);
  const options = { name: "netmap", level, redact: ["*.password", "*.token", "*.secret", "*.authorization"] };
  if (!pretty) return pino(options);
  // In this thread, synchronously: a worker-thread transport would lose the last lines on exit.
  const destination: DestinationStream = PinoPretty({ destination: 1, sync: true, colorize: stdout.isTTY === true, singleLine: true, translateTime: "SYS:HH:MM:ss", ignore: "pid,hostname,name" });
  return pino(options, destination);
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
