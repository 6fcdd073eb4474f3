// `netmap serve`: ingest, HTTP, and (as they land) rules, discovery, gRPC.
import { connect, nkeyAuthenticator, type ConnectionOptions, type NatsConnection } from "@nats-io/transport-node";
import { fromSeed } from "@nats-io/nkeys";
import { readSecretFile } from "../../lib/secret-file.ts";
import { agentIdentities } from "./nats/agent-identities.ts";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { Registry, collectDefaultMetrics } from "prom-client";
import { startAlerting, type Alerting } from "./alerts/service.ts";
import { startLeases } from "./cluster/lease.ts";
import { localTokenPath, writeLocalToken } from "./auth/token.ts";
import { createAuthenticator } from "./auth/authenticator.ts";
import { auditTrail } from "./audit/trail.ts";
import type { CollectorConfig } from "./config.ts";
import { migrateToLatest, openDatabase, type Db } from "./db/database.ts";
import { buildApp } from "./http/app.ts";
import { containerSync } from "./containers/sync.ts";
import { startIngest, type Ingest } from "./ingest/consumer.ts";
import { startChecksResponder } from "./checks/responder.ts";
import { consumerLagReader } from "./ingest/lag.ts";
import { consumerLagMetrics, ingestMetrics } from "./ingest/metrics.ts";
import { startProxmoxPoller } from "./proxmox/poller.ts";
import { guestControl } from "./proxmox/guest-actions.ts";
import { startSnmpPoller } from "./snmp/poller.ts";
import { startHousekeeping } from "./series/housekeeping.ts";
import { redactUrl } from "./log.ts";
import { startAdminServer, type AdminServer } from "./grpc/server.ts";
import { topologyService } from "./topology/service.ts";
import { readTlsIdentity } from "./tls.ts";
import type { Server as TlsServer } from "node:tls";

export interface Collector {
  /** The HTTP address actually bound (port 0 in config picks a free one). */
  httpUrl: string;
  /** The gRPC admin service's HOST:PORT actually bound. */
  grpcAddress: string;
  /** Reads http.tls and grpc.tls again and serves them to new connections; on a bad file, logs and keeps the old ones. */
  reloadTls(): void;
  stop(): Promise<void>;
}

export async function serve(config: CollectorConfig, log: Logger): Promise<Collector> {
  // One token for every API, made before anything listens: whoever reads the file once the
  // status page answers (npm start, the CLI) reads this run's token.
  const token = config.token ?? generatedToken(log, grpcAddress(config.grpc));
  // Read before anything starts, so a bad certificate stops serve at once.
  const readTls = () => ({
    http: config.http.tls ? readTlsIdentity(config.http.tls, "http.tls", config.secrets) : undefined,
    grpc: config.grpc.tls ? readTlsIdentity(config.grpc.tls, "grpc.tls", config.secrets) : undefined,
  });
  const tls = readTls();
  const db = openDatabase(config.databaseUrl);
  await untilDone(log, `migrate the database at ${redactUrl(config.databaseUrl)}`, () => migrateToLatest(db));

  // Once-only work among several collectors (cluster/lease.ts).
  const leases = startLeases({ databaseUrl: config.databaseUrl, names: ["proxmox-poll", "absence-check", "housekeeping", "snmp-poll", "alert-outbox"], log: log.child({ component: "lease" }) });
  // Today's partitions before the first report (every collector); then every minute, on the lease holder:
  // partitions ahead, rollups, retention.
  const housekeeping = await untilDone(log, "prepare the series partitions", () =>
    startHousekeeping({ db, retention: config.retention, log: log.child({ component: "series" }), holdsLease: () => leases.holds("housekeeping") }),
  );
  const topology = topologyService(db, config);
  const nkeySeed = config.natsNkeyFile ? readSecretFile(config.natsNkeyFile, "nats.nkey_file", config.secrets) : null;
  const identities = agentIdentities({
    db, config: config.agentAuthorization, collectorPublicKey: nkeySeed && fromSeed(new TextEncoder().encode(nkeySeed)).getPublicKey(),
    inboxPrefix: config.natsInboxPrefix, loadTopology: topology.topology, log: log.child({ component: "nats-identities" }),
  });
  // Before connecting: the file lets the collector's own nkey in. A nats-server not yet running reads it when it starts.
  if (config.agentAuthorization) await identities.sync().catch((error: Error) => log.warn({ err: error.message }, "wrote the NATS agent identities; nats-server did not reload"));
  const nc = await connectNats(config.natsServers, config.natsInboxPrefix, nkeySeed, log);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "netmap_collector_" });
  // prom-client adds these gauges named like counters beside the same figures without _total
  // (nodejs_active_handles, ...); promtool check metrics refuses them, and they tell nothing more.
  for (const kind of ["handles", "requests", "resources"]) registry.removeSingleMetric(`netmap_collector_nodejs_active_${kind}_total`);
  const alerting = await untilDone(log, "set up alerting", () =>
    startAlerting({
      db, nc, log: log.child({ component: "alerts" }), rules: config.rules, notifiers: config.notifiers, externalUrl: config.externalUrl,
      eventStreamLimits: config.streams.events, isAbsenceChecker: () => leases.holds("absence-check"), isOutboxSender: () => leases.holds("alert-outbox"),
    }),
  );
  const containers = containerSync({ db, nc, log: log.child({ component: "containers" }) });
  const ingest: Ingest = await untilDone(log, "set up the JetStream consumer", () =>
    startIngest({
      onStored: (latest) => {
        alerting.judgeStored(latest);
        containers.onStored(latest);
      },
      nc,
      db,
      log: log.child({ component: "ingest" }),
      metrics: ingestMetrics(registry),
      consumer: config.ingest.consumer,
      batchSize: config.ingest.batchSize,
      streamLimits: config.streams.reports,
      rawRetentionSeconds: config.retention.raw,
    }),
  );

  const consumerLag = consumerLagReader(nc, config.ingest.consumer);
  consumerLagMetrics(registry, consumerLag, log.child({ component: "ingest" }));
  // One for both servers: failed authentications from an address count across HTTP and gRPC.
  const authenticator = createAuthenticator({ token, db, log: log.child({ component: "auth" }), registry, throttle: config.authThrottle });
  const audit = auditTrail(db, nc, log.child({ component: "audit" }));
  // Guest actions reach PVE from whichever collector is asked, lease or not.
  const guests = guestControl(db, config.proxmox);
  let app: FastifyInstance;
  let admin: AdminServer;
  try {
    app = await buildApp(
      {
        config,
        db,
        registry,
        natsConnected: () => !nc.isClosed() && nc.info !== undefined && !reconnecting,
        consumerLag,
        token,
        authenticator,
        audit,
        tls: tls.http,
        loadTopology: topology.topology,
        guests,
      },
      log,
    );
    await app.listen({ host: config.http.host, port: config.http.port });
    admin = await startAdminServer({ config, authenticator, audit, tls: tls.grpc, identities, guests, db, thresholds: config, topology, log: log.child({ component: "grpc" }) }).catch(async (error) => {
      await app.close();
      throw error;
    });
  } catch (error) {
    await leases.stop();
    await housekeeping.stop();
    await shutdown(undefined, undefined, ingest, alerting, nc, db);
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : config.http.port;
  const httpUrl = `${tls.http ? "https" : "http"}://${config.http.host.includes(":") ? `[${config.http.host}]` : config.http.host}:${port}/`;
  log.info({ url: httpUrl }, "status page and API listening");
  await leases.ready;
  // Proxmox discovery: a cycle per cluster now, then every interval (docs/proxmox.md).
  const proxmox = startProxmoxPoller({
    clusters: config.proxmox, db, nc, log: log.child({ component: "proxmox" }),
    onStored: (cycle) => alerting.judgeProxmox(cycle), isPoller: () => leases.holds("proxmox-poll"),
  });

  // Network devices: a sweep per snmp: entry now, then every interval (docs/snmp.md).
  const snmp = startSnmpPoller({
    entries: config.snmp, db, log: log.child({ component: "snmp" }),
    onStored: (device) => alerting.judgeSnmpDevice(device), isPoller: () => leases.holds("snmp-poll"),
  });

  // Agents ask for the checks netmap.yaml gives them (docs/configuration.md, Checks).
  const checksResponder = startChecksResponder({ nc, db, checks: config.checks, log: log.child({ component: "checks" }) });

  let reconnecting = false;
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === "disconnect" || status.type === "reconnecting") {
        if (!reconnecting) log.warn({ servers: config.natsServers.map(redactUrl) }, "lost NATS; reconnecting");
        reconnecting = true;
      } else if (status.type === "reconnect") {
        reconnecting = false;
        log.info("NATS is back");
      }
    }
  })();

  const reloadTls = () => {
    let next;
    try {
      next = readTls();
    } catch (error) {
      log.error({ err: (error as Error).message }, "could not reload the TLS certificates; still serving the old ones");
      return;
    }
    if (next.http) (app.server as unknown as TlsServer).setSecureContext({ cert: next.http.cert, key: next.http.key });
    if (next.grpc) admin.reloadTls(next.grpc);
    if (next.http || next.grpc) log.info({ http: next.http !== undefined, grpc: next.grpc !== undefined }, "reloaded the TLS certificates");
  };

  return { httpUrl, grpcAddress: admin.address, reloadTls, stop: async () => { checksResponder.unsubscribe(); await proxmox.stop(); guests.close(); await snmp.stop(); await leases.stop(); await housekeeping.stop(); await shutdown(app, admin, ingest, alerting, nc, db); } };
}

/** HOST:PORT as NETMAP_GRPC_ADDR and NETMAP_URL write it, IPv6 in brackets. */
export function grpcAddress({ host, port }: { host: string; port: number }): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

function generatedToken(log: Logger, address: string): string {
  const tokenFile = localTokenPath(process.env, address);
  const token = writeLocalToken(tokenFile);
  log.info({ tokenFile }, "no token configured; generated one for this run (HTTP API and gRPC), readable only by this user");
  return token;
}

async function shutdown(app: FastifyInstance | undefined, admin: AdminServer | undefined, ingest: Ingest, alerting: Alerting, nc: NatsConnection, db: Db): Promise<void> {
  await admin?.stop();
  await app?.close();
  await ingest.stop();
  await alerting.stop();
  await nc.drain().catch(() => {});
  await db.destroy();
}

async function connectNats(servers: readonly string[], inboxPrefix: string, nkeySeed: string | null, log: Logger): Promise<NatsConnection> {
  log.info({ servers: servers.map(redactUrl), inboxPrefix, nkey: nkeySeed !== null }, "connecting to NATS");
  // Reconnect forever: the client's default gives up after 10 attempts. Replies (JetStream's API answers,
  // the reports the pull consumer fetches) come to an inbox of the collector's own, which no agent may read.
  const nkey = nkeySeed ? { authenticator: nkeyAuthenticator(new TextEncoder().encode(nkeySeed)) } : {};
  return connect({ ...natsServers(servers), ...nkey, name: "netmap-collector", inboxPrefix, waitOnFirstConnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 1000 });
}

/**
 * The NATS client reads no credentials from a URL: nats://USER:PASSWORD@ (or TOKEN@) become its
 * options. With several servers (a cluster's nodes) the first URL holding a login gives it to all.
 */
export function natsServers(values: readonly string[]): Pick<ConnectionOptions, "servers" | "user" | "pass" | "token"> {
  let login: Pick<ConnectionOptions, "user" | "pass" | "token"> = {};
  const servers = values.map((value) => {
    const url = new URL(value);
    if (!url.username) return value;
    const user = decodeURIComponent(url.username);
    const pass = decodeURIComponent(url.password);
    if (Object.keys(login).length === 0) login = pass ? { user, pass } : { token: user };
    url.username = "";
    url.password = "";
    return url.toString();
  });
  return { servers, ...login };
}

/** Retries fn with backoff until it succeeds, logging the first failure and each later one's reason. */
async function untilDone<T>(log: Logger, what: string, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1, delay = 1000; ; attempt++, delay = Math.min(delay * 2, 30_000)) {
    try {
      const result = await fn();
      if (attempt > 1) log.info({ attempt }, `managed to ${what}`);
      return result;
    } catch (error) {
      log.error({ err: describe(error), retryInSeconds: delay / 1000 }, `cannot ${what}; retrying`);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

function describe(error: unknown): string {
  const e = error as { code?: string; message?: string; errors?: Error[] };
  if (e.code === "3D000") return `${e.message} (create it: createdb netmap, or let npm start do it)`;
  // pg wraps refused connections to several addresses in an AggregateError with no message.
  if (!e.message && e.errors?.length) return e.errors.map((inner) => inner.message).join("; ");
  return e.message ?? String(error);
}
