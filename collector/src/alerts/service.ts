// Alerting inside `netmap serve`: judges each batch of stored reports, a
// ticker judges silent hosts, transitions go to the notifiers and to NATS.
// Evaluations run one at a time, in order, off the ingest path.
import type { StoredDevice } from "../snmp/store.ts";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { HostReport } from "../../../proto/gen/netmap/v1/report.ts";
import type { Db } from "../db/database.ts";
import type { StreamLimits } from "../nats/streams.ts";
import type { ProxmoxCycle } from "../proxmox/cycle.ts";
import { startOutboxSender } from "./outbox.ts";
import { AlertDispatcher, type NotifierConfig } from "./dispatch.ts";
import { AlertEvaluator } from "./evaluator.ts";
import { ensureEventStream, publishAlertEvents } from "./events.ts";
import { reportingHosts, topologyContext } from "./repository.ts";
import type { RulesConfig } from "./settings.ts";
import { watchdogEnabled } from "./rules/watchdog.ts";

const SILENCE_TICK_SECONDS = 10;

export interface Alerting {
  /** Judges the reports that just became their hosts' latest state. */
  judgeStored(latest: Array<{ hostId: number; report: HostReport }>): void;
  /** Judges a Proxmox discovery cycle that was just stored (rules/proxmox.ts). */
  judgeProxmox(cycle: ProxmoxCycle): void;
  /** Judges a network device's poll that was just stored (rules/snmp.ts). */
  judgeSnmpDevice(device: StoredDevice): void;
  stop(): Promise<void>;
}

export async function startAlerting(options: {
  db: Db;
  nc: NatsConnection;
  log: Logger;
  rules: RulesConfig;
  notifiers: readonly NotifierConfig[];
  externalUrl: string;
  eventStreamLimits?: StreamLimits["events"];
  /** Whether this collector runs the absence check (it holds the absence-check lease); always when absent. */
  isAbsenceChecker?: () => boolean;
  /** Whether this collector sends the alert outbox (it holds the alert-outbox lease); always when absent. */
  isOutboxSender?: () => boolean;
}): Promise<Alerting> {
  const { db, nc, log, externalUrl } = options;
  await ensureEventStream(nc, options.eventStreamLimits);
  const isAbsenceChecker = options.isAbsenceChecker ?? (() => true);
  // The Watchdog comes from the collector judging silent hosts: it arrives while that work is done.
  const watchdog = watchdogEnabled(options.rules);
  const dispatcher = new AlertDispatcher({ notifiers: options.notifiers, externalURL: externalUrl, db, log, sendsWatchdog: () => watchdog && isAbsenceChecker() });
  // Transitions are stored in the outbox with their alerts' move; the lease holder sends them (outbox.ts).
  const outbox = startOutboxSender({
    db, log, isSender: options.isOutboxSender ?? (() => true),
    send: async (transitions) => {
      publishAlertEvents(nc, transitions, externalUrl);
      await dispatcher.notify(transitions);
    },
  });
  const evaluator = new AlertEvaluator({ db, rules: options.rules, log, notify: () => outbox.kick() });
  dispatcher.start();

  let queue: Promise<unknown> = Promise.resolve();
  const enqueue = (what: string, work: () => Promise<unknown>) => {
    queue = queue.then(work).catch((error: unknown) => log.error({ err: error }, `cannot ${what}`));
  };

  // With several collectors one judges silent hosts; the others' ticks do nothing until it dies.
  const ticker = setInterval(
    () =>
      isAbsenceChecker() &&
      enqueue("judge silent hosts", async () => {
        const all = await reportingHosts(db);
        evaluator.retainHosts(all.map((h) => h.hostId));
        const now = new Date();
        await evaluator.judgeSilence(all, now, await topologyContext(db, now));
      }),
    SILENCE_TICK_SECONDS * 1000,
  );
  ticker.unref();

  return {
    judgeStored: (latest) =>
      enqueue("judge stored reports", async () => {
        const hosts = new Map((await reportingHosts(db, latest.map((l) => l.hostId))).map((h) => [h.hostId, h]));
        await evaluator.judge(latest.flatMap(({ hostId, report }) => {
          const host = hosts.get(hostId);
          return host ? [{ ...host, report }] : [];
        }));
        // A report is also the end of a silence.
        await evaluator.judgeSilence([...hosts.values()]);
      }),
    judgeProxmox: (cycle) => enqueue("judge the Proxmox cycle", () => evaluator.judgeProxmox(cycle)),
    judgeSnmpDevice: (device) => enqueue("judge the network device", () => evaluator.judgeSnmpDevice(device)),
    stop: async () => {
      clearInterval(ticker);
      await queue;
      await outbox.stop();
      await dispatcher.close();
    },
  };
}
