import pino, { type Logger } from "pino";

/** JSON lines on stderr: stdout is reserved for --json output. Synchronous, so nothing is lost on exit. */
export function createLogger(level: string): Logger {
  return pino({ name: "netmap-agent", level }, pino.destination({ fd: 2, sync: true }));
}
