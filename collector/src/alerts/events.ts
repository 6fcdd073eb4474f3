// Alert transitions as AlertEvents on NATS, for custom integrations:
// netmap.v1.alert.<state>.<severity>, kept in stream NETMAP_EVENTS.
import { DiscardPolicy, jetstreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { encodeAlertEvent } from "../../../proto/src/codec.ts";
import { alertSubject, EVENT_SUBJECTS, EVENTS_STREAM } from "../../../proto/src/subjects.ts";
import type { AlertEvent } from "../../../proto/gen/netmap/v1/alert.ts";
import type { Transition } from "./engine.ts";

export async function ensureEventStream(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.streams.info(EVENTS_STREAM);
  } catch {
    await jsm.streams.add({
      name: EVENTS_STREAM,
      subjects: EVENT_SUBJECTS,
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      max_age: 30 * 24 * 3600 * 1e9,
    });
  }
}

export function alertEvent(transition: Transition, externalURL: string): AlertEvent {
  const { alert } = transition;
  return {
    fingerprint: alert.fingerprint,
    rule: alert.rule,
    severity: alert.severity,
    state: transition.to,
    labels: { ...alert.labels },
    annotations: { ...alert.annotations },
    value: alert.value,
    startsAt: alert.startsAt ?? alert.activeSince,
    endsAt: alert.endsAt ?? undefined,
    generatorUrl: new URL(`/#alert=${alert.fingerprint}`, externalURL).toString(),
  };
}

/** Publishes on core NATS; the stream captures it for later readers. */
export function publishAlertEvents(nc: NatsConnection, transitions: Transition[], externalURL: string): void {
  for (const transition of transitions) {
    nc.publish(alertSubject(transition.to, transition.alert.severity), encodeAlertEvent(alertEvent(transition, externalURL)));
  }
}
