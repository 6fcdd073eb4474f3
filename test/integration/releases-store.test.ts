// NETMAP_RELEASES keeps the version just published and the two before it, against a real
// nats-server with JetStream: older versions' objects (every architecture) are deleted, a
// version published again is kept whatever its age, and nothing else is touched.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Objm } from "@nats-io/obj";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { RELEASES_BUCKET } from "../../proto/src/subjects.ts";
import { loadReleaseKey, type ReleaseKey } from "../../collector/src/rollout/release-key.ts";
import { publishReleases, RELEASES_KEPT } from "../../collector/src/rollout/upgrade.ts";
import { startNatsServer, type TestNatsServer } from "../helpers/nats-server.ts";

describe("NETMAP_RELEASES keeps the last releases", () => {
  let nats: TestNatsServer;
  let nc: NatsConnection;
  let dir: string;
  let key: ReleaseKey;

  before(async () => {
    nats = await startNatsServer();
    nc = await connect({ servers: nats.url });
    dir = mkdtempSync(join(tmpdir(), "netmap-releases-"));
    key = loadReleaseKey(join(dir, "release.key"), {});
  });

  after(async () => {
    await nc?.drain();
    await nats?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const stored = async () => (await (await new Objm(nc).open(RELEASES_BUCKET)).list()).filter((o) => !o.deleted).map((o) => o.name).sort();
  const publish = (version: string) =>
    publishReleases(nc, [
      { architecture: "x64", bytes: new TextEncoder().encode(`\x7fELF x64 ${version}`) },
      { architecture: "any", bytes: new TextEncoder().encode(`#!/bin/sh\necho ${version}\n`) },
    ], version, key);

  test(`publishing a fourth version deletes the first's objects; ${RELEASES_KEPT} versions stay`, async () => {
    for (const version of ["1.0.0", "1.1.0", "1.2.0"]) await publish(version);
    assert.equal((await stored()).length, 6);
    await publish("1.3.0+build_7");
    assert.deepEqual(await stored(), [
      "netmap-agent-1.1.0-any", "netmap-agent-1.1.0-x64", "netmap-agent-1.2.0-any", "netmap-agent-1.2.0-x64", "netmap-agent-1.3.0_build_7-any", "netmap-agent-1.3.0_build_7-x64",
    ]);
  });

  test("a version published again (a rollback fleet-wide) is kept though its objects are the oldest", async () => {
    await publish("1.1.0");
    assert.deepEqual(await stored(), [
      "netmap-agent-1.1.0-any", "netmap-agent-1.1.0-x64", "netmap-agent-1.2.0-any", "netmap-agent-1.2.0-x64", "netmap-agent-1.3.0_build_7-any", "netmap-agent-1.3.0_build_7-x64",
    ]);
    await publish("1.4.0");
    // Its bytes were stored before 1.2.0's: the next release keeps 1.2.0 and 1.3.0 beside itself.
    assert.deepEqual(await stored(), [
      "netmap-agent-1.2.0-any", "netmap-agent-1.2.0-x64", "netmap-agent-1.3.0_build_7-any", "netmap-agent-1.3.0_build_7-x64", "netmap-agent-1.4.0-any", "netmap-agent-1.4.0-x64",
    ]);
  });
});
