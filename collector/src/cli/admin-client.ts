// The CLI's side of the admin service: finds the collector (NETMAP_URL) and its token
// (NETMAP_TOKEN, else the file a local `netmap serve` wrote), and turns gRPC failures into
// messages a person can act on.
import { credentials, Metadata, status, type CallOptions, type ServiceError } from "@grpc/grpc-js";
import { NetMapAdminClient, type WatchAlertsResponse } from "../../../proto/gen/netmap/v1/admin.ts";
import { ConfigError, NetMapError } from "../errors.ts";
import { ERROR_CODE_METADATA } from "../grpc/messages.ts";
import type { AdminMethods } from "../grpc/service.ts";
import { localTokenPath, readLocalToken } from "../auth/token.ts";

export const DEFAULT_COLLECTOR = "127.0.0.1:7071";
const CALL_TIMEOUT_MS = 60_000;

/** The collector did not answer: not running, wrong address, or a network in between. */
export class CollectorUnreachableError extends NetMapError {
  constructor(message: string) {
    super("COLLECTOR_UNREACHABLE", message);
  }
}

/** The collector refused the token (or none was sent). */
export class UnauthenticatedError extends NetMapError {
  constructor(message: string) {
    super("UNAUTHENTICATED", message);
  }
}

/** The methods as a client calls them: the request alone (the caller is the token sent). */
type ClientMethods = { [M in keyof AdminMethods]: (request: Parameters<AdminMethods[M]>[0]) => ReturnType<AdminMethods[M]> };

export interface AdminClient extends ClientMethods {
  /** HOST:PORT the client talks to. */
  target: string;
  /** Calls onMessage for each change until the signal aborts (resolves) or the call fails (rejects). */
  watchAlerts(onMessage: (message: WatchAlertsResponse) => void, signal: AbortSignal): Promise<void>;
  close(): void;
}

export function connectAdmin(env: Record<string, string | undefined>): AdminClient {
  const target = env.NETMAP_URL || DEFAULT_COLLECTOR;
  if (!/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(target)) throw new ConfigError(`NETMAP_URL: expected HOST:PORT of the collector's gRPC service, got ${JSON.stringify(target)}`);
  const tokenFile = localTokenPath(env);
  const token = env.NETMAP_TOKEN?.trim() || readLocalToken(tokenFile);
  const client = new NetMapAdminClient(target, credentials.createInsecure(), { "grpc.max_receive_message_length": 64 * 1024 * 1024 });
  const metadata = new Metadata();
  if (token) metadata.set("authorization", `Bearer ${token}`);

  const explain = (error: ServiceError): NetMapError => {
    switch (error.code) {
      case status.UNAVAILABLE:
        return new CollectorUnreachableError(`cannot reach the collector at ${target} (is \`netmap serve\` running?)`);
      case status.DEADLINE_EXCEEDED:
        return new CollectorUnreachableError(`the collector at ${target} did not answer within ${CALL_TIMEOUT_MS / 1000} s`);
      case status.UNAUTHENTICATED:
        return new UnauthenticatedError(
          `the collector at ${target} refused the call: unauthenticated ` +
            (token
              ? `(the token in ${env.NETMAP_TOKEN?.trim() ? "NETMAP_TOKEN" : tokenFile} is not the collector's)`
              : `(no token: set NETMAP_TOKEN; a collector without a configured token writes one to ${tokenFile})`),
        );
      default: {
        const code = error.metadata?.get(ERROR_CODE_METADATA)[0];
        return new NetMapError(typeof code === "string" ? code : "COLLECTOR_ERROR", error.details || error.message);
      }
    }
  };
  type Method<Req, Res> = (request: Req, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: Res) => void) => unknown;
  const call =
    <Req, Res>(method: Method<Req, Res>) =>
    (request: Req): Promise<Res> =>
      new Promise((resolve, reject) =>
        method.call(client, request, metadata, { deadline: Date.now() + CALL_TIMEOUT_MS }, (error, response) => (error ? reject(explain(error)) : resolve(response))),
      );

  return {
    target,
    import: call(client.import),
    export: call(client.export),
    listHosts: call(client.listHosts),
    route: call(client.route),
    sshConfig: call(client.sshConfig),
    graph: call(client.graph),
    inventory: call(client.inventory),
    adopt: call(client.adopt),
    listAlerts: call(client.listAlerts),
    addSilence: call(client.addSilence),
    listSilences: call(client.listSilences),
    expireSilence: call(client.expireSilence),
    ackAlert: call(client.ackAlert),
    createToken: call(client.createToken),
    listTokens: call(client.listTokens),
    revokeToken: call(client.revokeToken),
    listAudit: call(client.listAudit),
    recordAgentInstall: call(client.recordAgentInstall),
    watchAlerts: (onMessage, signal) =>
      new Promise<void>((resolve, reject) => {
        const stream = client.watchAlerts({}, metadata);
        stream.on("data", onMessage);
        stream.on("error", (error: ServiceError) => (signal.aborted ? resolve() : reject(explain(error))));
        stream.on("end", () => reject(new CollectorUnreachableError(`the collector at ${target} ended the watch (stopping?)`)));
        signal.addEventListener("abort", () => stream.cancel(), { once: true });
      }),
    close: () => client.close(),
  };
}
