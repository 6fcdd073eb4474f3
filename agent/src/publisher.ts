// Publishes reports to JetStream, in order, with Nats-Msg-Id set so a resend
// (after a lost ack, or from the spool) is stored once. What JetStream has not
// acknowledged waits in the on-disk spool and is replayed oldest first.
//
// A JetStream publish is a NATS request on the stream's subject, answered by
// the server with a JSON PubAck; the agent makes that request itself rather
// than load the JetStream client for it (~0.6 MiB resident for one call).
import { connect, headers, type ConnectionOptions, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { decodeReport, encodeReport } from "../../proto/src/codec.ts";
import { AGENT_INBOX_ROOT, agentInboxPrefix, reportMessageId, reportSubject } from "../../proto/src/subjects.ts";
import type { HostReport } from "../../proto/gen/netmap/v1/report.ts";
import type { Spool } from "./spool.ts";
import { monotonicMs } from "./clock.ts";

const PUBLISH_TIMEOUT_MS = 5000;

export interface PublisherStats {
  spoolReports: number;
  spoolBytes: number;
  droppedTotal: number;
  reconnectsTotal: number;
  /** Reports lost since start: the spool could not store them (a full disk) and they could not be sent. */
  unspooledTotal: number;
}

export interface ReportPublisher {
  /**
   * Sends the report, or spools it when NATS is away, JetStream does not
   * acknowledge, or older reports are still spooled (order is kept). Spooled
   * reports are replayed in the background, so a long backlog never delays a cycle.
   */
  publish(report: HostReport): Promise<void>;
  stats(): PublisherStats;
  /** A NATS request over the agent's connection (its checks from the collector, checks/remote.ts); throws while not connected. */
  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
  /** The connection once made (undefined if the agent stopped first); others (upgrades) listen on it too. */
  readonly connection: Promise<NatsConnection | undefined>;
  /** Waits for a replay in flight, then drains the connection. What is still spooled stays for the next run. */
  close(): Promise<void>;
}

export interface PublisherOptions {
  servers: readonly string[];
  agentId: string;
  /** Authentication and TLS, from nats-auth.ts. */
  connectOptions?: Partial<ConnectionOptions>;
  spool: Spool;
  log: Logger;
}

/**
 * Connects in the background: an agent started before NATS (or cut off from
 * it) keeps collecting into the spool and sends once the connection is up.
 * The client reconnects forever.
 */
export function createPublisher(options: PublisherOptions): ReportPublisher {
  const { log, agentId, spool } = options;
  let connection: NatsConnection | undefined;
  let connected = false;
  let closing = false;
  let failing = false;
  let reconnectsTotal = 0;
  let unspooledTotal = 0;
  /** The spool refused a write and has not stored one since: warned once per such spell. */
  let spoolFailing = false;
  let replaying: Promise<void> | undefined;
  const startedAt = monotonicMs();

  const FIRST_CONNECT_GRACE_MS = 5_000;
  const connecting = connect({
    servers: [...options.servers],
    name: `netmap-agent ${agentId}`,
    reconnect: true,
    maxReconnectAttempts: -1,
    waitOnFirstConnect: true,
    ...options.connectOptions,
    // JetStream's acks come back here: the agent's NATS user may subscribe to its own inbox and no other.
    inboxPrefix: agentInboxPrefix(agentId),
  }).then(
    (nc) => {
      connection = nc;
      connected = true;
      log.info({ server: nc.getServer() }, "connected to NATS");
      void watchStatus(nc);
      kickReplay();
      return nc;
    },
    (error: unknown) => {
      log.error({ err: error }, "cannot connect to NATS");
      return undefined;
    },
  );

  // Server errors warned about since the last successful publish.
  const serverErrors = new Set<string>();

  async function watchStatus(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === "disconnect") {
        connected = false;
        log.warn({ server: status.server }, "disconnected from NATS");
      } else if (status.type === "reconnect") {
        connected = true;
        reconnectsTotal++;
        log.info({ server: status.server }, "reconnected to NATS");
        kickReplay();
      } else if (status.type === "error") {
        // The server repeats an error (a denied publish, a denied inbox) every cycle: say each one once until a
        // publish succeeds. A denied inbox names a new random token each time, which says nothing new.
        const message = errorMessage(status.error).replace(/\.[A-Za-z0-9]{22}\.\*/g, ".*");
        if (serverErrors.has(message)) log.debug({ err: status.error }, "NATS error again");
        else log.warn({ err: status.error }, "NATS error");
        serverErrors.add(message);
      } else {
        log.debug({ status }, "NATS status");
      }
    }
  }

  /** Publishes one encoded report; throws when JetStream does not acknowledge it. */
  const send = async (report: Pick<HostReport, "agentId" | "bootId" | "seq">, bytes: Uint8Array) => {
    const header = headers();
    header.set("Nats-Msg-Id", reportMessageId(report.agentId, report.bootId, report.seq));
    const reply = await connection!.request(reportSubject(report.agentId), bytes, { headers: header, timeout: PUBLISH_TIMEOUT_MS });
    const ack = parsePubAck(reply.data);
    if (failing) log.info({ spooled: spool.stats().reports }, "publishing again");
    failing = false;
    serverErrors.clear();
    log.debug({ seq: report.seq, streamSeq: ack.seq, duplicate: ack.duplicate }, "report published");
  };

  const noteFailure = (error: unknown) => {
    // Once per outage: a log line every interval would say nothing new.
    if (!failing) {
      log.warn({ err: error, spooled: spool.stats().reports, hint: publishFailureHint(error) }, "cannot publish reports; spooling them");
    } else {
      log.debug({ err: error }, "publish still failing");
    }
    failing = true;
  };

  const replay = async () => {
    while (connected && !closing) {
      const next = spool.peek();
      if (!next) return;
      let report: HostReport;
      try {
        report = decodeReport(next.payload);
      } catch (error) {
        log.warn({ err: error }, "spool: a record that is not a report; removed");
        spool.remove(next.entry);
        continue;
      }
      try {
        await send(report, next.payload);
      } catch (error) {
        noteFailure(error);
        return;
      }
      spool.remove(next.entry);
    }
  };

  function kickReplay(): void {
    if (replaying || !connection) return;
    replaying = replay()
      .catch((error: unknown) => log.error({ err: error }, "spool replay failed"))
      .finally(() => {
        replaying = undefined;
      });
  }

  /**
   * Keeps the report in the spool. A spool that cannot write (a full or failing disk) must not
   * stop live reporting: the report goes straight out if NATS is there (out of the spool's
   * order; the collector orders a boot's reports by seq), else it is lost and counted.
   */
  const spoolReport = async (report: Pick<HostReport, "agentId" | "bootId" | "seq">, bytes: Uint8Array, error?: unknown) => {
    // The first report is collected at once, usually before the first connection
    // is made: that is no outage, and the replay sends it as soon as NATS answers.
    const stillConnecting = !connection && monotonicMs() - startedAt < FIRST_CONNECT_GRACE_MS;
    if (error !== undefined || (!connected && !stillConnecting)) noteFailure(error ?? new Error("not connected to NATS"));
    try {
      spool.append(bytes);
      if (spoolFailing) log.info("spool: storing reports again");
      spoolFailing = false;
      return;
    } catch (spoolError) {
      if (!spoolFailing) log.warn({ err: spoolError, seq: report.seq }, "spool: cannot store reports (disk full?); sending them live while NATS is there, counting the ones lost");
      spoolFailing = true;
    }
    if (connected && connection && error === undefined) {
      try {
        await send(report, bytes);
        return;
      } catch (sendError) {
        noteFailure(sendError);
      }
    }
    unspooledTotal++;
  };

  return {
    async publish(report) {
      const bytes = encodeReport(report);
      // Straight out when nothing is waiting: a host with NATS up never writes to its disk.
      if (connected && connection && !replaying && spool.stats().reports === 0) {
        try {
          await send(report, bytes);
          return;
        } catch (error) {
          await spoolReport(report, bytes, error);
          return;
        }
      }
      await spoolReport(report, bytes);
      kickReplay();
    },
    connection: connecting,
    stats() {
      const { reports, bytes, droppedTotal } = spool.stats();
      return { spoolReports: reports, spoolBytes: bytes, droppedTotal, reconnectsTotal, unspooledTotal };
    },
    async request(subject, data, timeoutMs) {
      if (!connected || !connection || closing) throw new Error("not connected to NATS");
      return (await connection.request(subject, data, { timeout: timeoutMs })).data;
    },
    async close() {
      closing = true;
      await replaying;
      const nc = connection ?? (await Promise.race([connecting, Promise.resolve(undefined)]));
      const spooled = spool.stats().reports;
      if (spooled > 0) log.info({ spooled }, "stopping; spooled reports stay for the next run");
      if (!nc) {
        // Still waiting for a first connection: nothing to drain.
        void connecting.then((late) => late?.close());
        return;
      }
      // drain() waits for the server; cut off from it, there is nothing to flush that the spool does not hold.
      if (connected) await nc.drain();
      else await nc.close();
    },
  };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** What to check, for the failures whose cause is not in the message itself. */
export function publishFailureHint(error: unknown): string | undefined {
  const message = errorMessage(error);
  if (/permissions violation for subscription/i.test(message)) {
    return `the server does not let this agent receive JetStream's acks on its inbox: its NATS user needs subscribe on ${AGENT_INBOX_ROOT}.<agent-id>.> (deploy/nats/agent-permissions.conf)`;
  }
  if (/permissions violation/i.test(message)) {
    return "the server does not let this agent publish on its report subject: check its NATS user's permissions (deploy/nats/agent-permissions.conf) and its agent id";
  }
  if (/no responders|stream not found/i.test(message)) return "is the NETMAP_REPORTS stream there? the collector creates it";
  return undefined;
}

export class PubAckError extends Error {
  override name = "PubAckError";
}

/**
 * JetStream's answer to a publish: `{"stream":"NETMAP_REPORTS","seq":42}`
 * (with `"duplicate":true` for a Nats-Msg-Id it has seen), or
 * `{"error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"}}`.
 * Anything but a stored report's acknowledgement throws.
 */
export function parsePubAck(data: Uint8Array): { stream: string; seq: number; duplicate: boolean } {
  let ack: { stream?: unknown; seq?: unknown; duplicate?: unknown; error?: { code?: unknown; err_code?: unknown; description?: unknown } };
  try {
    ack = JSON.parse(new TextDecoder().decode(data));
  } catch {
    throw new PubAckError(`not a JetStream acknowledgement: ${JSON.stringify(new TextDecoder().decode(data.subarray(0, 80)))}`);
  }
  if (ack?.error) throw new PubAckError(`JetStream refused the report: ${String(ack.error.description)} (code ${String(ack.error.code)}, err_code ${String(ack.error.err_code)})`);
  if (typeof ack?.stream !== "string" || typeof ack.seq !== "number") throw new PubAckError(`not a JetStream acknowledgement: ${JSON.stringify(ack)}`);
  return { stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate === true };
}
