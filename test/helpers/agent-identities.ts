// A collector that mints agents' NATS identities (nats.agent_authorization) and the real
// nats-server that includes the authorization file it writes, reloading it on the collector's
// SIGHUP. The collector writes the file first, letting its own nkey in, then waits for NATS.
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createUser } from "@nats-io/nkeys";
import { startTestCollector, type TestCollector } from "./collector.ts";
import { freePort, startNatsServer, type TestNatsServer } from "./nats-server.ts";
import { eventually } from "./wait.ts";

export interface MintingSetup {
  nats: TestNatsServer;
  collector: TestCollector;
  natsUrl: string;
  /** The authorization file the collector writes. */
  authFile: string;
}

/** Files go under dir; the collector uses databaseUrl. */
export async function startMintingCollector(dir: string, databaseUrl: string): Promise<MintingSetup> {
  const port = await freePort();
  const natsUrl = `nats://127.0.0.1:${port}`;
  const authFile = join(dir, "netmap-auth.conf");
  const pidFile = join(dir, "nats.pid");
  writeFileSync(join(dir, "collector.nk"), new TextDecoder().decode(createUser().getSeed()), { mode: 0o600 });
  writeFileSync(join(dir, "netmap.yaml"), `nats:\n  nkey_file: ${join(dir, "collector.nk")}\n  agent_authorization: { file: ${authFile}, pid_file: ${pidFile} }\n`);
  writeFileSync(
    join(dir, "nats-server.conf"),
    `jetstream { store_dir: ${JSON.stringify(join(dir, "jetstream"))} }\npid_file: ${JSON.stringify(pidFile)}\ninclude "netmap-auth.conf"\n`,
  );
  const starting = startTestCollector({ natsUrl, databaseUrl, env: { NETMAP_CONFIG: join(dir, "netmap.yaml") } });
  await eventually(() => existsSync(authFile), "the collector to write the authorization file");
  const nats = await startNatsServer({ configFile: join(dir, "nats-server.conf"), port, reloadable: true });
  return { nats, collector: await starting, natsUrl, authFile };
}
