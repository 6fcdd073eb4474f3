// Alert transitions as AlertEvents on NATS, for custom integrations:
// netmap.v1.alert.<state>.<severity>, kept in stream NETMAP_EVENTS.
import type { NatsConnection } from "@nats-io/transport-node";
import { encodeAlertEvent } from "../../../proto/src/codec.ts";
import { alertSubject } from "../../../proto/src/subjects.ts";
import { DEFAULT_STREAM_LIMITS, ensureStream, eventStreamConfig } from "../nats/streams.ts";
import type { AlertEvent } from "../../../proto/gen/netmap/v1/alert.ts";
import type { Transition } from "./engine.ts";

export async function ensureEventStream(nc: NatsConnection, limits = DEFAULT_STREAM_LIMITS.events): Promise<void> {
  await ensureStream(nc, eventStreamConfig(limits));
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
