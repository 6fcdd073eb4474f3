// The CLI's side of the admin service: finds the collector (NETMAP_URL, else NETMAP_GRPC_ADDR) and its token
// (NETMAP_TOKEN, else the file a local `netmap serve` wrote), and turns gRPC failures into
// messages a person can act on.
import { Metadata, status, type CallOptions, type ServiceError } from "@grpc/grpc-js";
import { NetMapAdminClient, type WatchAlertsResponse } from "../../../proto/gen/netmap/v1/admin.ts";
import { ConfigError, NetMapError } from "../errors.ts";
import { ERROR_CODE_METADATA } from "../grpc/messages.ts";
import type { AdminMethods } from "../grpc/service.ts";
import { localTokenPath, readLocalToken } from "../auth/token.ts";
import { channelCredentials, clientTls } from "./tls-client.ts";

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
  // NETMAP_GRPC_ADDR is where `netmap serve` listens; the same shell's CLI finds it there.
  const setting = env.NETMAP_URL ? "NETMAP_URL" : env.NETMAP_GRPC_ADDR ? "NETMAP_GRPC_ADDR" : undefined;
  const url = (setting && env[setting]) || DEFAULT_COLLECTOR;
  const match = /^(https:\/\/)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(url);
  if (!match) throw new ConfigError(`${setting}: expected HOST:PORT (or https://HOST:PORT) of the collector's gRPC service, got ${JSON.stringify(url)}`);
  const target = `${match[2]}:${match[3]}`;
  const tls = clientTls(env, match[1] !== undefined);
  const tokenFile = localTokenPath(env, target);
  const token = env.NETMAP_TOKEN?.trim() || readLocalToken(tokenFile);
  // Made on first use: a pinned fingerprint is looked at before the channel (and the token) goes anywhere.
  const connecting = channelCredentials(match[2]!.replace(/^\[|\]$/g, ""), Number(match[3]), tls).then(
    (channel) => new NetMapAdminClient(target, channel, { "grpc.max_receive_message_length": 64 * 1024 * 1024 }),
  );
  connecting.catch(() => {});
  const metadata = new Metadata();
  if (token) metadata.set("authorization", `Bearer ${token}`);

  const explain = (error: ServiceError): NetMapError => {
    switch (error.code) {
      case status.UNAVAILABLE:
        // A certificate the CLI does not trust also ends here: say so, it is not a stopped collector.
        if (tls.secure && /certificate|self.signed|verify|SSL|TLS/i.test(error.details)) {
          return new CollectorUnreachableError(`the collector at ${target} presents a certificate this CLI does not trust (${error.details}); set NETMAP_CA or NETMAP_FINGERPRINT`);
        }
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
    <Req, Res>(method: (client: NetMapAdminClient) => Method<Req, Res>) =>
    async (request: Req): Promise<Res> => {
      const client = await connecting;
      return new Promise((resolve, reject) =>
        method(client).call(client, request, metadata, { deadline: Date.now() + CALL_TIMEOUT_MS }, (error, response) => (error ? reject(explain(error)) : resolve(response))),
      );
    };

  return {
    target,
    import: call((c) => c.import),
    export: call((c) => c.export),
    listHosts: call((c) => c.listHosts),
    route: call((c) => c.route),
    sshConfig: call((c) => c.sshConfig),
    graph: call((c) => c.graph),
    inventory: call((c) => c.inventory),
    adopt: call((c) => c.adopt),
    listAlerts: call((c) => c.listAlerts),
    addSilence: call((c) => c.addSilence),
    listSilences: call((c) => c.listSilences),
    expireSilence: call((c) => c.expireSilence),
    ackAlert: call((c) => c.ackAlert),
    createToken: call((c) => c.createToken),
    listTokens: call((c) => c.listTokens),
    revokeToken: call((c) => c.revokeToken),
    listAudit: call((c) => c.listAudit),
    recordAgentInstall: call((c) => c.recordAgentInstall),
    mintAgentIdentity: call((c) => c.mintAgentIdentity),
    revokeAgentIdentity: call((c) => c.revokeAgentIdentity),
    guestAction: call((c) => c.guestAction),
    getTask: call((c) => c.getTask),
    listSnapshots: call((c) => c.listSnapshots),
    listBackups: call((c) => c.listBackups),
    containerTarget: call((c) => c.containerTarget),
    recordContainerAction: call((c) => c.recordContainerAction),
    selectHosts: call((c) => c.selectHosts),
    recordFleetRun: call((c) => c.recordFleetRun),
    recordAgentUpgrade: call((c) => c.recordAgentUpgrade),
    watchAlerts: async (onMessage, signal) => {
      const client = await connecting;
      return new Promise<void>((resolve, reject) => {
        const stream = client.watchAlerts({}, metadata);
        stream.on("data", onMessage);
        stream.on("error", (error: ServiceError) => (signal.aborted ? resolve() : reject(explain(error))));
        stream.on("end", () => reject(new CollectorUnreachableError(`the collector at ${target} ended the watch (stopping?)`)));
        signal.addEventListener("abort", () => stream.cancel(), { once: true });
      });
    },
    close: () => void connecting.then((client) => client.close(), () => {}),
  };
}
