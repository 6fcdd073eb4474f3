// Who is calling: the bearer token of an HTTP request or gRPC call turned into a Caller (the
// configured admin token, or a named token from the database), with failures counted per
// source address (throttle.ts), logged once per burst and counted in /metrics.
import { Counter, type Registry } from "prom-client";
import type { Logger } from "pino";
import type { Db } from "../db/database.ts";
import { callerOfToken } from "./api-tokens.ts";
import { CONFIGURED_CALLER, type Caller } from "./roles.ts";
import { DEFAULT_THROTTLE, FailureThrottle, type ThrottleSettings } from "./throttle.ts";
import { bearerToken, tokenMatches } from "./token.ts";

export type Transport = "http" | "grpc";

export type Authentication =
  | { kind: "caller"; caller: Caller }
  | { kind: "refused"; tokenSent: boolean }
  | { kind: "throttled"; retryAfterSeconds: number };

export interface Authenticator {
  /** `what` (method and path) goes to the log beside the source; the token never does. */
  authenticate(authorization: string | undefined, source: string, transport: Transport, what: string): Promise<Authentication>;
}

export interface AuthenticatorOptions {
  /** The configured (or generated) token: an admin's. */
  token: string;
  db: Db;
  log: Logger;
  registry?: Registry;
  throttle?: ThrottleSettings;
}

export function createAuthenticator({ token, db, log, registry, throttle: settings = DEFAULT_THROTTLE }: AuthenticatorOptions): Authenticator {
  const throttle = new FailureThrottle(settings);
  const registers = registry ? [registry] : [];
  const failures = new Counter({ name: "netmap_auth_failures_total", help: "Calls refused for a missing or wrong token.", labelNames: ["transport"], registers });
  const throttled = new Counter({
    name: "netmap_auth_throttled_total",
    help: "Calls refused unread because their address failed to authenticate too often.",
    labelNames: ["transport"],
    registers,
  });
  const blocks = new Counter({ name: "netmap_auth_blocks_total", help: "Addresses blocked after repeated failed authentications.", registers });
  return {
    async authenticate(authorization, source, transport, what) {
      const retryAfterSeconds = throttle.retryAfterSeconds(source);
      if (retryAfterSeconds > 0) {
        throttled.inc({ transport });
        return { kind: "throttled", retryAfterSeconds };
      }
      const presented = bearerToken(authorization);
      const caller = presented === undefined ? undefined : tokenMatches(presented, token) ? CONFIGURED_CALLER : await callerOfToken(db, presented);
      if (caller) {
        throttle.succeeded(source);
        return { kind: "caller", caller };
      }
      failures.inc({ transport });
      const outcome = throttle.failed(source);
      const line = { transport, source, what, sentToken: authorization !== undefined };
      if (outcome.blocked) {
        blocks.inc();
        log.warn({ ...line, maxFailures: settings.maxFailures, blockSeconds: settings.windowSeconds }, "blocked an address after repeated failed authentications");
      } else if (outcome.first) log.warn(line, "refused a call without a valid token");
      else log.debug(line, "refused a call without a valid token");
      return { kind: "refused", tokenSent: authorization !== undefined };
    },
  };
}
