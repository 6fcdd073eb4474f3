import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { freePort, isPortOpen } from "../../../scripts/lib/net.ts";
import { findNatsServer, natsAddress, probeNats, startPrivateNats } from "../../../scripts/services/nats.ts";

describe("start script: NATS", () => {
  test("natsAddress - reads host and port, 4222 when the URL has none", () => {
    assert.deepEqual(natsAddress("nats://127.0.0.1:14222"), { host: "127.0.0.1", port: 14222 });
    assert.deepEqual(natsAddress("nats://localhost"), { host: "localhost", port: 4222 });
  });

  test("probeNats - is false when nothing listens on the port", async () => {
    assert.equal(await probeNats(`nats://127.0.0.1:${await freePort()}`), false);
  });

  test("probeNats - recognises the machine's NATS on 4222", async (t) => {
    if (!(await isPortOpen("127.0.0.1", 4222))) return t.skip("nothing listens on 127.0.0.1:4222");
    assert.equal(await probeNats("nats://127.0.0.1:4222"), true);
  });

  test("probeNats - is false for a server that speaks something else", async () => {
    const server = createServer((socket) => socket.end("HTTP/1.1 400 Bad Request\r\n\r\n"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    try {
      assert.equal(await probeNats(`nats://127.0.0.1:${port}`), false);
    } finally {
      server.close();
    }
  });

  test("probeNats - is false for a server that says nothing", async () => {
    const server = createServer((socket) => socket.on("error", () => {}));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    try {
      assert.equal(await probeNats(`nats://127.0.0.1:${port}`, 300), false);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test("startPrivateNats - runs a nats-server that answers the probe, and stops it", { skip: findNatsServer() ? false : "nats-server is not installed" }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "netmap-start-nats-"));
    const port = await freePort();
    try {
      const nats = await startPrivateNats({ binary: findNatsServer()!, port, storeDir: join(dir, "store"), logFile: join(dir, "nats.log") });
      assert.equal(nats.started, true);
      assert.equal(nats.url, `nats://127.0.0.1:${port}`);
      assert.equal(await probeNats(nats.url), true);
      await nats.stop();
      assert.equal(await probeNats(nats.url), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
