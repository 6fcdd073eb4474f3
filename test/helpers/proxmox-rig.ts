// The Proxmox poller against the stand-in API, for the integration tests of discovery and of the
// Proxmox alert rules: a fake cluster, NATS, a fresh migrated database, and a poller that runs
// only when the test says (runOnce). With rules, an AlertEvaluator judges each stored cycle as the
// collector's does, and cycle() returns the transitions it made.
import { connect, type NatsConnection } from "@nats-io/transport-node";
import pino from "pino";
import type { Transition } from "../../collector/src/alerts/engine.ts";
import { AlertEvaluator } from "../../collector/src/alerts/evaluator.ts";
import type { RulesConfig } from "../../collector/src/alerts/settings.ts";
import type { Db } from "../../collector/src/db/database.ts";
import { Secret, type ProxmoxClusterConfig } from "../../collector/src/proxmox/config.ts";
import { startProxmoxPoller, type ProxmoxPoller } from "../../collector/src/proxmox/poller.ts";
import { startFakeProxmox, type FakeGuest, type FakeNode, type FakeProxmox } from "../fakes/proxmox/server.ts";
import { startNatsServer, type TestNatsServer } from "./nats-server.ts";
import { createMigratedDatabase, type MigratedDatabase } from "./postgres.ts";

export interface ProxmoxRigOptions {
  nodes: FakeNode[];
  guests: FakeGuest[];
  /** The alert rules an evaluator judges each cycle with; none: no evaluator. */
  rules?: RulesConfig;
  /** The cluster's timeout (default 5 s). */
  timeoutSeconds?: number;
}

export interface ProxmoxRig {
  pve: FakeProxmox;
  nc: NatsConnection;
  db: Db;
  /** Cluster "lab" of client acme, site paris-dc1, at the stand-in. */
  cluster: ProxmoxClusterConfig;
  poller: ProxmoxPoller;
  /** One cycle of the cluster: its result and the transitions the evaluator made judging it. */
  cycle(): Promise<Awaited<ReturnType<ProxmoxPoller["runOnce"]>>[number] & { transitions: Transition[] }>;
  /** Judges from now on with a new evaluator, as a restarted collector would: nothing in memory, only the database. */
  restartEvaluator(): void;
  close(): Promise<void>;
}

export async function startProxmoxRig(options: ProxmoxRigOptions): Promise<ProxmoxRig> {
  let pve: FakeProxmox | undefined;
  let nats: TestNatsServer | undefined;
  let database: MigratedDatabase | undefined;
  let nc: NatsConnection | undefined;
  const close = async () => {
    await nc?.drain();
    await Promise.all([pve?.close(), nats?.close(), database?.drop()]);
  };
  try {
    [pve, nats, database] = await Promise.all([startFakeProxmox({ nodes: options.nodes, guests: options.guests }), startNatsServer(), createMigratedDatabase()]);
    nc = await connect({ servers: nats.url });
  } catch (error) {
    await close();
    throw error;
  }
  const { db } = database;
  const log = pino({ level: "silent" });
  let transitions: Transition[] = [];
  const { rules } = options;
  const newEvaluator = () => rules && new AlertEvaluator({ db, rules, log, notify: (t) => transitions.push(...t) });
  let evaluator = newEvaluator();
  const cluster: ProxmoxClusterConfig = {
    name: "lab", url: pve.url, tokenId: pve.tokenId, tokenSecret: new Secret(pve.secret), fingerprint: pve.fingerprint,
    intervalSeconds: 60, timeoutSeconds: options.timeoutSeconds ?? 5, concurrency: 8, client: "acme", site: "paris-dc1",
  };
  const poller = startProxmoxPoller({ clusters: [cluster], db, nc, log, schedule: false, onStored: evaluator && ((stored) => evaluator!.judgeProxmox(stored)) });
  return {
    pve, nc, db, cluster, poller,
    cycle: async () => {
      transitions = [];
      const [result] = await poller.runOnce();
      return { ...result!, transitions };
    },
    restartEvaluator: () => {
      evaluator = newEvaluator();
    },
    close: async () => {
      await poller.stop();
      await close();
    },
  };
}
