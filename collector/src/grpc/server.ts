// The gRPC transport of the admin service: token and role check (the role of each method in
// auth/access.ts), the audit of the methods that change something, NetMapErrors answered with
// the gRPC code of the one table (ANSWERS in errors.ts), and the listener. The methods themselves are in service.ts.
import { experimental, Metadata, Server, ServerCredentials, ServerInterceptingCall, status, type sendUnaryData, type ServerInterceptor, type ServerUnaryCall, type ServerWritableStream, type UntypedServiceImplementation } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { NetMapAdminService } from "../../../proto/gen/netmap/v1/admin.ts";
import type { CollectorConfig } from "../config.ts";
import { ANSWERS, answerFor } from "../errors.ts";
import { ERROR_CODE_METADATA } from "./messages.ts";
import { adminMethods, adminStreams, type AdminDeps, type AdminMethods, type AdminStreams } from "./service.ts";
import { auditTarget, GRPC_ACCESS, type Access } from "../auth/access.ts";
import type { Authenticator } from "../auth/authenticator.ts";
import { roleAllows, type Caller } from "../auth/roles.ts";
import type { AuditTrail } from "../audit/trail.ts";
import { ReloadableIdentity, type TlsIdentity } from "../tls.ts";

// For a caller with the token: a large topology import. One without never gets a byte read.
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export interface AdminServer {
  /** HOST:PORT actually bound (port 0 in config picks a free one). */
  address: string;
  /** Serves this certificate from now on (grpc.tls reloaded); no-op without TLS. */
  reloadTls(identity: TlsIdentity): void;
  stop(): Promise<void>;
}

export interface AdminServerOptions extends AdminDeps {
  config: Pick<CollectorConfig, "grpc">;
  /** The one the HTTP API uses too, so failures from an address count across both. */
  authenticator: Authenticator;
  audit: AuditTrail;
  /** The certificate and key when grpc.tls is set. */
  tls?: TlsIdentity;
  log: Logger;
}

export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { config, authenticator, audit, log } = options;
  const methods = adminMethods(options);
  const streams = adminStreams(options);
  // Streams under way, ended (not cut) when the server stops, so a watcher hears it was ended.
  const watching = new Set<AbortController>();
  const implementation: UntypedServiceImplementation = {};
  for (const name of Object.keys(NetMapAdminService) as Array<keyof AdminMethods | keyof AdminStreams>) {
    implementation[name] =
      name in streams
        ? streaming(name, streams[name as keyof AdminStreams] as AdminStreams[keyof AdminStreams], log, watching)
        : unary(name, methods[name as keyof AdminMethods] as (request: unknown, caller: Caller) => Promise<unknown>, audit, log);
  }
  const server = new Server({ "grpc.max_receive_message_length": MAX_MESSAGE_BYTES, interceptors: [requireRole(authenticator, audit, log)] });
  server.addService(NetMapAdminService, implementation);

  const identity = options.tls && new ReloadableIdentity(options.tls);
  // grpc-js's implementation takes the identity provider first, whatever its declaration names the arguments.
  const credentials = identity ? experimental.createCertificateProviderServerCredentials(identity, null, false) : ServerCredentials.createInsecure();
  const host = config.grpc.host.includes(":") ? `[${config.grpc.host}]` : config.grpc.host;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${config.grpc.port}`, credentials, (error, bound) =>
      error ? reject(new Error(`cannot listen for gRPC on ${host}:${config.grpc.port}: ${error.message}`)) : resolve(bound),
    ),
  );
  const address = `${host}:${port}`;
  log.info({ address, tls: identity !== undefined }, "admin service (gRPC) listening");
  return {
    address,
    reloadTls: (next) => identity?.update(next),
    stop: () =>
      new Promise<void>((resolve) => {
        // Calls in flight get a moment to finish; then the rest are cut.
        for (const abort of watching) abort.abort();
        const force = setTimeout(() => server.forceShutdown(), 2000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}

const UNAUTHENTICATED = { code: ANSWERS.UNAUTHENTICATED.grpc, details: "unauthenticated: this call needs a token (authorization: Bearer …)" };
// Set by requireRole on the metadata the handler sees (replacing any the client sent).
const CALLER_METADATA = "x-netmap-caller";

const ACCESS_BY_PATH = new Map<string, Access>(
  Object.entries(NetMapAdminService).map(([name, definition]) => [definition.path, GRPC_ACCESS[name as keyof typeof GRPC_ACCESS]]),
);

/** "ipv4:10.0.0.1:5000", "[::1]:5000" or "10.0.0.1:5000" → the address alone. */
export function peerAddress(peer: string): string {
  return peer.replace(/^ipv[46]:/, "").replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
}

/**
 * Checks the token and the method's role on the call's headers, before any handler runs.
 * grpc-js reads a request message only when the handler asks for it, after these headers; a
 * refused call never asks, so its body is not read into memory (what still arrives is dropped
 * as it comes).
 */
function requireRole(authenticator: Authenticator, audit: AuditTrail, log: Logger): ServerInterceptor {
  return (method, call) =>
    new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, proceed) => {
            const authorization = metadata.get("authorization")[0];
            authenticator.authenticate(typeof authorization === "string" ? authorization : undefined, peerAddress(call.getPeer()), "grpc", method.path).then(
              async (authentication) => {
                if (authentication.kind === "throttled") {
                  const trailer = new Metadata();
                  trailer.set("retry-after", String(authentication.retryAfterSeconds));
                  trailer.set(ERROR_CODE_METADATA, "TOO_MANY_FAILURES");
                  const details = `too many failed authentications from this address; retry in ${authentication.retryAfterSeconds} s`;
                  return call.sendStatus({ code: ANSWERS.TOO_MANY_FAILURES.grpc, details, metadata: trailer });
                }
                if (authentication.kind === "refused") return call.sendStatus(UNAUTHENTICATED);
                const { caller } = authentication;
                const access = ACCESS_BY_PATH.get(method.path);
                if (!access || access.role === "open" || !roleAllows(caller.role, access.role)) {
                  const trailer = new Metadata();
                  trailer.set(ERROR_CODE_METADATA, "FORBIDDEN");
                  const needed = access?.role ?? "admin";
                  // The message is not read, so the entry names no target.
                  if (access?.audit) await audit.record({ caller, action: access.audit, target: "", source: peerAddress(call.getPeer()), outcome: "FORBIDDEN", transport: "grpc" });
                  return call.sendStatus({ code: ANSWERS.FORBIDDEN.grpc, details: `this needs the ${needed} role; the token ${caller.name} has ${caller.role}`, metadata: trailer });
                }
                metadata.set(CALLER_METADATA, JSON.stringify(caller));
                proceed(metadata);
              },
              (error: unknown) => {
                log.error({ err: error, method: method.path }, "could not check a call's token");
                call.sendStatus({ code: status.INTERNAL, details: "internal error; see the collector's log" });
              },
            );
          },
        }),
    });
}

function callerOf(metadata: Metadata): Caller {
  return JSON.parse(String(metadata.get(CALLER_METADATA)[0])) as Caller;
}

/** A NetMapError the caller can fix keeps its message and code; anything else is INTERNAL. */
function failure(error: unknown, method: string, log: Logger): { code: status; details: string; metadata?: Metadata } {
  const answer = answerFor(error);
  if (answer) {
    const metadata = new Metadata();
    metadata.set(ERROR_CODE_METADATA, answer.code);
    return { code: answer.grpc, details: answer.message, metadata };
  }
  log.error({ err: error, method }, "admin call failed");
  return { code: status.INTERNAL, details: "internal error; see the collector's log" };
}

function unary(method: string, run: (request: unknown, caller: Caller) => Promise<unknown>, audit: AuditTrail, log: Logger) {
  const access = GRPC_ACCESS[method as keyof typeof GRPC_ACCESS];
  return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
    const caller = callerOf(call.metadata);
    // Recorded before the answer leaves, so whoever got it can already read the entry.
    const audited = async (outcome: string) => {
      if (!access.audit) return;
      const entry = { caller, action: access.audit, target: auditTarget(access, call.request), source: peerAddress(call.getPeer()), outcome, transport: "grpc" as const };
      await audit.record(entry);
    };
    run(call.request, caller).then(
      async (response) => {
        await audited("ok");
        callback(null, response);
      },
      async (error: unknown) => {
        const answer = failure(error, method, log);
        await audited(answerFor(error)?.code ?? "INTERNAL");
        callback(answer);
      },
    );
  };
}

function streaming(method: string, run: AdminStreams[keyof AdminStreams], log: Logger, watching: Set<AbortController>) {
  return (call: ServerWritableStream<object, never>) => {
    const abort = new AbortController();
    watching.add(abort);
    let cancelled = false;
    call.on("cancelled", () => ((cancelled = true), abort.abort()));
    call.on("close", () => abort.abort());
    run(call.request, (message) => call.write(message as never), abort.signal).then(
      () => {
        watching.delete(abort);
        if (!cancelled) call.end();
      },
      (error: unknown) => {
        watching.delete(abort);
        if (cancelled) return;
        const f = failure(error, method, log);
        call.destroy(Object.assign(new Error(f.details), f));
      },
    );
  };
}
