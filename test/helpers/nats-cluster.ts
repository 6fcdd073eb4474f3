// A private nats-server cluster of N nodes on loopback (JetStream on, each node its own store),
// for tests of replicated streams and of a node lost and back. Each node can be killed
// (SIGKILL, as a crash) and started again on the same store.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitForPort } from "./nats-server.ts";

export interface ClusterNode {
  name: string;
  url: string;
  port: number;
  /** Kills the node with SIGKILL (a crash: nothing flushed); its store stays. */
  kill(): Promise<void>;
  start(): Promise<void>;
}

export interface TestNatsCluster {
  nodes: ClusterNode[];
  /** Every node's URL, comma-separated, as --nats and NETMAP_NATS_URL take them. */
  urls: string;
  close(): Promise<void>;
}

export async function startNatsCluster(size = 3): Promise<TestNatsCluster> {
  const dir = mkdtempSync(join(tmpdir(), "netmap-nats-cluster-"));
  const ports = await Promise.all(Array.from({ length: size }, async () => ({ client: await freePort(), route: await freePort() })));
  const routes = ports.map((p) => `nats-route://127.0.0.1:${p.route}`);
  const nodes = ports.map(({ client, route }, i): ClusterNode => {
    const name = `n${i + 1}`;
    const config = join(dir, `${name}.conf`);
    // The example deploy/nats/ configs, shrunk to loopback: one cluster, routes to every node.
    writeFileSync(
      config,
      [
        `server_name: ${name}`,
        `listen: 127.0.0.1:${client}`,
        `jetstream { store_dir: "${join(dir, name)}" }`,
        `cluster { name: netmap-test, listen: 127.0.0.1:${route}, routes: [${routes.join(", ")}] }`,
      ].join("\n"),
    );
    let child: ChildProcess | undefined;
    return {
      name,
      port: client,
      url: `nats://127.0.0.1:${client}`,
      start: async () => {
        const spawned = spawn("nats-server", ["-c", config], { stdio: ["ignore", "ignore", "pipe"] });
        child = spawned;
        let log = "";
        spawned.stderr!.on("data", (chunk: Buffer) => (log = (log + chunk.toString()).slice(-2000)));
        const exited = new Promise<never>((_, reject) => spawned.once("exit", (code) => reject(new Error(`nats-server ${name} exited with ${code}: ${log.trim()}`))));
        exited.catch(() => {});
        await Promise.race([waitForPort(client), exited]);
      },
      kill: async () => {
        const running = child;
        child = undefined;
        if (!running || running.exitCode !== null || running.signalCode !== null) return;
        await new Promise<void>((resolve) => { running.once("exit", () => resolve()); running.kill("SIGKILL"); });
      },
    };
  });
  try {
    await Promise.all(nodes.map((n) => n.start()));
  } catch (error) {
    await Promise.all(nodes.map((n) => n.kill()));
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    nodes,
    urls: nodes.map((n) => n.url).join(","),
    close: async () => {
      await Promise.all(nodes.map((n) => n.kill()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
