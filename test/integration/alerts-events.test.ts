import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { fingerprint, type Transition } from "../../collector/src/alerts/engine.ts";
import { ensureEventStream, publishAlertEvents } from "../../collector/src/alerts/events.ts";
import { decodeAlertEvent } from "../../proto/src/codec.ts";
import { EVENTS_STREAM } from "../../proto/src/subjects.ts";
import { startNatsServer, type TestNatsServer } from "../helpers/nats-server.ts";

let nats: TestNatsServer;
let nc: NatsConnection;
before(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
});
after(async () => {
  await nc?.close();
  await nats?.close();
});

test("every transition is published as an AlertEvent on netmap.v1.alert.<state>.<severity> and kept in NETMAP_EVENTS", async () => {
  await ensureEventStream(nc);
  const labels = { host: "db1", mountpoint: "/var" };
  const alert = {
    fingerprint: fingerprint("FilesystemAlmostFull", { ...labels, severity: "critical" }),
    rule: "FilesystemAlmostFull", severity: "critical" as const, labels, annotations: { summary: "/var on db1 is 96.0% full" },
    state: "firing" as const, value: 96, activeSince: new Date("2026-11-23T10:00:00Z"), startsAt: new Date("2026-11-23T10:05:00Z"), endsAt: null,
  };
  const transitions: Transition[] = [
    { alert, to: "firing" },
    { alert: { ...alert, state: "resolved", endsAt: new Date("2026-11-23T11:00:00Z") }, to: "resolved" },
  ];
  const subscription = nc.subscribe("netmap.v1.alert.>", { max: 2 });
  publishAlertEvents(nc, transitions, "http://127.0.0.1:7070/");
  const seen = [];
  for await (const msg of subscription) seen.push({ subject: msg.subject, event: decodeAlertEvent(msg.data) });
  assert.deepEqual(seen.map((s) => s.subject), ["netmap.v1.alert.firing.critical", "netmap.v1.alert.resolved.critical"]);
  assert.deepEqual(seen[0]!.event.labels, labels);
  assert.equal(seen[0]!.event.fingerprint, alert.fingerprint);
  assert.equal(seen[0]!.event.startsAt?.toISOString(), "2026-11-23T10:05:00.000Z");
  assert.equal(seen[0]!.event.endsAt, undefined);
  assert.equal(seen[1]!.event.endsAt?.toISOString(), "2026-11-23T11:00:00.000Z");
  assert.equal(seen[1]!.event.generatorUrl, `http://127.0.0.1:7070/#alert=${alert.fingerprint}`);
  const jsm = await jetstreamManager(nc);
  assert.equal((await jsm.streams.info(EVENTS_STREAM)).state.messages, 2);
});
