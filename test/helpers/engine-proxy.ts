// A unix-socket proxy in front of a Docker or Podman Engine API socket that
// records the path of every request passing through it, so a test can see
// what the agent asked the engine, and can cut the connections that follow
// the engine's /events stream; and the check that the containers collector
// follows that stream.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { containersCollector } from "../../agent/src/collectors/containers.ts";
import { createLinuxSource } from "../../agent/src/source.ts";
import type { TestDockerd } from "./dockerd.ts";
import { eventually } from "./wait.ts";

export interface EngineProxy {
  socket: string;
  /** Request paths seen, in order (the HTTP request lines' targets). */
  paths: string[];
  /** Closes the connections an /events request went over; the engine's side too. */
  cutEvents(): void;
  close(): Promise<void>;
}

export async function startEngineProxy(engineSocket: string): Promise<EngineProxy> {
  const dir = mkdtempSync(join(tmpdir(), "netmap-engine-proxy-"));
  const socket = join(dir, "engine.sock");
  const paths: string[] = [];
  const connections = new Set<{ client: Socket; engine: Socket; events: boolean }>();
  const server = createServer((client) => {
    const engine = connect(engineSocket);
    const connection = { client, engine, events: false };
    connections.add(connection);
    client.on("data", (chunk: Buffer) => {
      for (const [, path] of chunk.toString("latin1").matchAll(/^(?:GET|POST|DELETE|PUT|HEAD) (\S+) HTTP\/1\.1\r$/gm)) {
        paths.push(path!);
        if (path!.startsWith("/events")) connection.events = true;
      }
    });
    client.pipe(engine).pipe(client);
    const close = () => {
      connections.delete(connection);
      client.destroy();
      engine.destroy();
    };
    client.once("close", close);
    engine.once("close", close);
    client.on("error", close);
    engine.on("error", close);
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return {
    socket,
    paths,
    cutEvents() {
      for (const c of connections) if (c.events) {
        c.client.destroy();
        c.engine.destroy();
      }
    },
    async close() {
      for (const c of connections) {
        c.client.destroy();
        c.engine.destroy();
      }
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The containers collector against `engine` (Docker or Podman) through a proxy: once the
 * engine's event stream is open, a cycle with no change asks the engine nothing; `name`
 * killed and started again is read at the next cycles, and no other container is inspected
 * again; with the stream cut, every cycle lists again. `name` must be running, and nothing else on the engine changing.
 */
export async function assertCollectorFollowsEvents(engine: TestDockerd, name: string): Promise<void> {
  const proxy = await startEngineProxy(engine.socket);
  try {
    const collector = containersCollector(proxy.socket);
    const source = createLinuxSource();
    const context = { log: pino({ level: "silent" }) };
    const cycle = async () => {
      proxy.paths.length = 0;
      const { containers } = await collector.collect(source, {}, context);
      return { container: containers!.find((c) => c.name === name)!, asked: proxy.paths.filter((p) => !p.startsWith("/events")) };
    };
    assert.equal((await cycle()).container.state, "running");
    // The cycle after the stream opened lists again (what changed before it opened is unknown); then nothing.
    await eventually(async () => (await cycle()).asked.length === 0, "a cycle asking the engine nothing");
    for (let i = 0; i < 3; i++) assert.deepEqual((await cycle()).asked, [], "no change, no request");
    assert.equal((await cycle()).container.state, "running");

    // From here the stream has been open since the last list: only the container an event named is inspected again.
    const inspected = new Set<string>();
    const changed = async () => {
      const { container, asked } = await cycle();
      for (const path of asked) if (/^\/containers\/[^/]+\/json$/.test(path)) inspected.add(path);
      return container;
    };
    assert.equal((await engine.api("POST", `/containers/${name}/kill`)).status, 204);
    const exited = await eventually(async () => {
      const container = await changed();
      return container.state === "exited" && container;
    }, `${name} read as exited`);
    assert.equal(exited.exitCode, 137);
    assert.equal((await engine.api("POST", `/containers/${name}/start`)).status, 204);
    const restarted = await eventually(async () => {
      const container = await changed();
      return container.state === "running" && container.memoryUsedBytes !== undefined && container;
    }, `${name} read as running again`);
    assert.ok(restarted.startedAt! > exited.startedAt!, "its new start");
    assert.deepEqual([...inspected], [`/containers/${restarted.id}/json`], "no other container inspected");

    // The stream cut: every cycle lists, so a change is still seen.
    await eventually(async () => (await cycle()).asked.length === 0, "a quiet cycle again");
    proxy.cutEvents();
    await eventually(async () => (await cycle()).asked.includes("/containers/json?all=true"), "a cycle listing");
    assert.ok((await cycle()).asked.includes("/containers/json?all=true"), "and the next one too");
  } finally {
    await proxy.close();
  }
}
