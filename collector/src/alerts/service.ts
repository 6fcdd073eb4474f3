// Alerting inside `netmap serve`: judges each batch of stored reports, a
// ticker judges silent hosts, transitions go to the notifiers and to NATS.
// Evaluations run one at a time, in order, off the ingest path.
import type { NatsConnection } from "@nats-io/transport-node";
import { sql, type Kysely } from "kysely";
import type { Logger } from "pino";
import type { HostReport } from "../../../proto/gen/netmap/v1/report.ts";
import { AlertDispatcher, type NotifierConfig } from "./dispatch.ts";
import type { Transition } from "./engine.ts";
import { AlertEvaluator } from "./evaluator.ts";
import type { ProxmoxCycle } from "../proxmox/cycle.ts";
import { ensureEventStream, publishAlertEvents } from "./events.ts";
import type { StreamLimits } from "../nats/streams.ts";
import type { RulesConfig } from "./settings.ts";

const SILENCE_TICK_SECONDS = 10;

export interface Alerting {
  /** Judges the reports that just became their hosts' latest state. */
  judgeStored(latest: Array<{ hostId: number; report: HostReport }>): void;
  /** Judges a Proxmox discovery cycle that was just stored (rules/proxmox.ts). */
  judgeProxmox(cycle: ProxmoxCycle): void;
  stop(): Promise<void>;
}

interface HostNames {
  id: number;
  host: string;
  client: string | null;
  site: string | null;
  labels: Record<string, string>;
  age_seconds: number | null;
  interval_seconds: number | null;
}

export async function startAlerting(options: {
  db: Kysely<any>;
  nc: NatsConnection;
  log: Logger;
  rules: RulesConfig;
  notifiers: readonly NotifierConfig[];
  externalUrl: string;
  eventStreamLimits?: StreamLimits["events"];
}): Promise<Alerting> {
  const { db, nc, log, externalUrl } = options;
  await ensureEventStream(nc, options.eventStreamLimits);
  const dispatcher = new AlertDispatcher({ notifiers: options.notifiers, externalURL: externalUrl, db, log });
  const notify = (transitions: Transition[]) => {
    dispatcher.notify(transitions);
    publishAlertEvents(nc, transitions, externalUrl);
  };
  const evaluator = new AlertEvaluator({ db, rules: options.rules, log, notify });
  dispatcher.start();

  let queue: Promise<unknown> = Promise.resolve();
  const enqueue = (what: string, work: () => Promise<unknown>) => {
    queue = queue.then(work).catch((error: unknown) => log.error({ err: error }, `cannot ${what}`));
  };

  const hosts = async (ids?: number[]) =>
    (
      await sql<HostNames>`
        SELECT h.id, coalesce(h.name, h.hostname) AS host, c.name AS client, s.name AS site, h.labels,
               extract(epoch FROM now() - h.received_at)::float8 AS age_seconds, h.interval_seconds
        FROM hosts h LEFT JOIN sites s ON s.id = h.site_id LEFT JOIN clients c ON c.id = s.client_id
        WHERE h.received_at IS NOT NULL AND (${ids ?? null}::bigint[] IS NULL OR h.id = ANY(${ids ?? null}::bigint[]))`.execute(db)
    ).rows;
  const scope = (h: HostNames) => ({ hostId: h.id, host: h.host, labels: h.labels, ...(h.client && { client: h.client }), ...(h.site && { site: h.site }) });

  const ticker = setInterval(
    () =>
      enqueue("judge silent hosts", async () => {
        const all = await hosts();
        evaluator.retainHosts(all.map((h) => h.id));
        await evaluator.judgeSilence(all.map((h) => ({ ...scope(h), ageSeconds: h.age_seconds ?? 0, intervalSeconds: h.interval_seconds })));
      }),
    SILENCE_TICK_SECONDS * 1000,
  );
  ticker.unref();

  return {
    judgeStored: (latest) =>
      enqueue("judge stored reports", async () => {
        const names = new Map((await hosts(latest.map((l) => l.hostId))).map((h) => [h.id, h]));
        await evaluator.judge(latest.flatMap(({ hostId, report }) => {
          const h = names.get(hostId);
          return h ? [{ ...scope(h), report }] : [];
        }));
        // A report is also the end of a silence.
        await evaluator.judgeSilence([...names.values()].map((h) => ({ ...scope(h), ageSeconds: h.age_seconds ?? 0, intervalSeconds: h.interval_seconds })));
      }),
    judgeProxmox: (cycle) => enqueue("judge the Proxmox cycle", () => evaluator.judgeProxmox(cycle)),
    stop: async () => {
      clearInterval(ticker);
      await queue;
      await dispatcher.close();
    },
  };
}
