// The gRPC transport of the admin service: bearer-token check, NetMapErrors answered with
// the gRPC code of the one table (ANSWERS in errors.ts), and the listener. The methods themselves are in service.ts.
import { Metadata, Server, ServerCredentials, ServerInterceptingCall, status, type sendUnaryData, type ServerInterceptor, type ServerUnaryCall, type ServerWritableStream, type UntypedServiceImplementation } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { NetMapAdminService } from "../../../proto/gen/netmap/v1/admin.ts";
import type { CollectorConfig } from "../config.ts";
import { ANSWERS, answerFor } from "../errors.ts";
import { ERROR_CODE_METADATA } from "./messages.ts";
import { adminMethods, adminStreams, type AdminDeps, type AdminMethods, type AdminStreams } from "./service.ts";
import { bearerMatches } from "../auth/token.ts";

// For a caller with the token: a large topology import. One without never gets a byte read.
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export interface AdminServer {
  /** HOST:PORT actually bound (port 0 in config picks a free one). */
  address: string;
  stop(): Promise<void>;
}

export interface AdminServerOptions extends AdminDeps {
  config: Pick<CollectorConfig, "grpc">;
  /** The collector's token (configured, or the one serve generated), the same the HTTP API takes. */
  token: string;
  log: Logger;
}

export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { config, token, log } = options;
  const methods = adminMethods(options);
  const streams = adminStreams(options);
  // Streams under way, ended (not cut) when the server stops, so a watcher hears it was ended.
  const watching = new Set<AbortController>();
  const implementation: UntypedServiceImplementation = {};
  for (const name of Object.keys(NetMapAdminService) as Array<keyof AdminMethods | keyof AdminStreams>) {
    implementation[name] =
      name in streams
        ? streaming(name, streams[name as keyof AdminStreams] as AdminStreams[keyof AdminStreams], log, watching)
        : unary(name, methods[name as keyof AdminMethods] as (request: unknown) => Promise<unknown>, log);
  }
  const server = new Server({ "grpc.max_receive_message_length": MAX_MESSAGE_BYTES, interceptors: [requireToken(token, log)] });
  server.addService(NetMapAdminService, implementation);

  const host = config.grpc.host.includes(":") ? `[${config.grpc.host}]` : config.grpc.host;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${config.grpc.port}`, ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(new Error(`cannot listen for gRPC on ${host}:${config.grpc.port}: ${error.message}`)) : resolve(bound),
    ),
  );
  const address = `${host}:${port}`;
  log.info({ address }, "admin service (gRPC) listening");
  return {
    address,
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

const UNAUTHENTICATED = { code: ANSWERS.UNAUTHENTICATED.grpc, details: "unauthenticated: this call needs the collector's token (authorization: Bearer …)" };

/**
 * Checks the token on the call's headers, before any handler runs. grpc-js reads a request
 * message only when the handler asks for it, after these headers; a refused call never asks,
 * so its body is not read into memory (what still arrives is dropped as it comes).
 */
function requireToken(token: string, log: Logger): ServerInterceptor {
  return (method, call) =>
    new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, proceed) => {
            const authorization = metadata.get("authorization")[0];
            if (bearerMatches(typeof authorization === "string" ? authorization : undefined, token)) return proceed(metadata);
            log.warn({ method: method.path, peer: call.getPeer() }, "refused an admin call without the right token");
            call.sendStatus(UNAUTHENTICATED);
          },
        }),
    });
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

function unary(method: string, run: (request: unknown) => Promise<unknown>, log: Logger) {
  return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
    run(call.request).then(
      (response) => callback(null, response),
      (error: unknown) => callback(failure(error, method, log)),
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
