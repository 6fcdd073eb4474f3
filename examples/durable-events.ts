// What both example subscribers share (docs/integrations.md): connect to NATS as the
// integration's own user, take a durable consumer of NETMAP_EVENTS of one's own (created if
// missing, filtered to the subjects one wants), and hand over each message to be acknowledged
// once it is handled. The consumer remembers what was acknowledged: a subscriber stopped and
// started again resumes where it left off; a new one replays the stream's history (--from).
import { parseArgs } from "node:util";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, JetStreamApiCodes, JetStreamApiError, type JsMsg } from "@nats-io/jetstream";
import { connect, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import { readFileSync } from "node:fs";
import { EVENTS_STREAM } from "../proto/src/subjects.ts";

export interface DurableOptions {
  natsUrl: string;
  /** The consumer's name; the NATS user's permissions name it too. */
  durable: string;
  /** "all": a new consumer replays the stream from its first event; "new": only what comes next. */
  from: "all" | "new";
}

/** --nats, --durable, --from, and the example's own string flags; credentials from NATS_USER/NATS_PASSWORD or NATS_CREDS. */
export function parseOptions<K extends string>(argv: string[], own: readonly K[], defaultDurable: string): { durable: DurableOptions; values: Partial<Record<K, string>> } {
  const names = ["nats", "durable", "from", ...own];
  const { values } = parseArgs({ args: argv, options: Object.fromEntries(names.map((name) => [name, { type: "string" as const }])), strict: true });
  const flags = values as Partial<Record<string, string>>;
  const from = flags.from ?? "all";
  if (from !== "all" && from !== "new") throw new Error(`--from: all or new, not ${JSON.stringify(from)}`);
  const durable = flags.durable ?? defaultDurable;
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(durable)) throw new Error("--durable: letters, digits, _ and -");
  return { durable: { natsUrl: flags.nats ?? "nats://127.0.0.1:4222", durable, from }, values: flags as Partial<Record<K, string>> };
}

/**
 * Connects and consumes `filter` from NETMAP_EVENTS with the durable consumer, calling `handle`
 * for each message in stream order; a message is acknowledged when `handle` resolves, and
 * redelivered (after 5 s, then again) when it throws. Resolves when `signal` aborts.
 */
export async function consumeEvents(options: DurableOptions, filter: string, handle: (msg: JsMsg) => Promise<void>, signal: AbortSignal): Promise<void> {
  const nc = await connectAs(options);
  try {
    const jsm = await jetstreamManager(nc);
    try {
      await jsm.consumers.info(EVENTS_STREAM, options.durable);
    } catch (error) {
      if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound)) throw error;
      await jsm.consumers.add(EVENTS_STREAM, {
        durable_name: options.durable,
        filter_subject: filter,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: options.from === "all" ? DeliverPolicy.All : DeliverPolicy.New,
        // One at a time: the webhook sees events in stream order, the CSV gets rows in order.
        max_ack_pending: 1,
        ack_wait: 30 * 1e9,
      });
    }
    const consumer = await jetstream(nc).consumers.get(EVENTS_STREAM, options.durable);
    const messages = await consumer.consume({ max_messages: 1 });
    signal.addEventListener("abort", () => void messages.close(), { once: true });
    for await (const msg of messages) {
      try {
        await handle(msg);
        await msg.ackAck();
      } catch (error) {
        process.stderr.write(`event ${msg.seq} not handled, redelivered in 5 s: ${(error as Error).message}\n`);
        msg.nak(5_000);
      }
    }
  } finally {
    await nc.drain().catch(() => {});
  }
}

async function connectAs(options: DurableOptions): Promise<NatsConnection> {
  const { NATS_USER: user, NATS_PASSWORD: pass, NATS_CREDS: creds } = process.env;
  return connect({
    servers: options.natsUrl.split(","),
    ...(user ? { user, pass } : {}),
    ...(creds ? { authenticator: credsAuthenticator(readFileSync(creds)) } : {}),
    // Replies to this subscriber's own inbox, which its permissions name (docs/integrations.md).
    inboxPrefix: `_INBOX_${options.durable}`,
    name: `netmap example ${options.durable}`,
  });
}

/** Runs until SIGTERM or SIGINT. */
export function untilStopped(): AbortSignal {
  const stop = new AbortController();
  for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => stop.abort());
  return stop.signal;
}
