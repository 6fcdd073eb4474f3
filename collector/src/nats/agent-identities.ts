// One NATS identity per agent, minted by the collector (nats.agent_authorization): an nkey
// whose public half goes into the nats-server authorization file the collector writes, with
// the agent's permissions alone (publish its own reports, read its own inbox), and whose seed
// goes to the host once, through `netmap agent install --mint-nkey`. Revoking removes it from
// the file; either way nats-server is told to reload (SIGHUP to the pid in pid_file).
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { createUser } from "@nats-io/nkeys";
import { sql } from "kysely";
import type { Logger } from "pino";
import type { Db } from "../db/database.ts";
import { NetMapError, NotFoundError } from "../errors.ts";
import type { Topology } from "../topology/model.ts";
import { findHost, qualifiedName } from "../topology/routes.ts";
import { agentPermissions, collectorPermissions, permissionsBlock } from "./permissions.ts";

export interface AgentAuthorizationConfig {
  /** The authorization file the collector owns; nats-server.conf includes it. */
  readonly file: string;
  /** nats-server's pid file (its `pid_file`): signalled to reload after each change. */
  readonly pidFile: string;
}

/** Minting or revoking needs nats.agent_authorization, which this collector lacks; or the reload failed. */
export class AgentIdentityError extends NetMapError {
  constructor(code: "AGENT_IDENTITIES_OFF" | "NATS_RELOAD", message: string) {
    super(code, message);
  }
}

export interface MintedIdentity {
  host: string;
  agentId: string;
  publicKey: string;
  /** The nkey seed (SU…): given once, to be put on the host; the collector does not keep it. */
  seed: string;
}

export interface AgentIdentities {
  mint(reference: string): Promise<MintedIdentity>;
  revoke(reference: string): Promise<{ host: string; agentId: string }>;
  /** Writes the file from the table and reloads nats-server (at start). */
  sync(): Promise<void>;
}

export interface AgentIdentityDeps {
  db: Db;
  config: AgentAuthorizationConfig | null;
  /** The collector's own nkey (nats.nkey_file), the one user of the file that is not an agent. */
  collectorPublicKey: string | null;
  inboxPrefix: string;
  loadTopology: () => Promise<Topology>;
  log: Logger;
}

/** The agent id a minted identity gets when no agent is attached to the host yet: stable per host. */
export function derivedAgentId(qualified: string): string {
  return `h${createHash("sha256").update(qualified).digest("hex").slice(0, 20)}`;
}

export function agentIdentities({ db, config, collectorPublicKey, inboxPrefix, loadTopology, log }: AgentIdentityDeps): AgentIdentities {
  const enabled = (): AgentAuthorizationConfig => {
    if (!config) throw new AgentIdentityError("AGENT_IDENTITIES_OFF", "this collector mints no NATS identities: set nats.agent_authorization (file, pid_file) and nats.nkey_file in netmap.yaml");
    return config;
  };

  const sync = async () => {
    const { file, pidFile } = enabled();
    const rows = await db.selectFrom("agent_identities").select(["agent_id", "public_key"]).orderBy("agent_id").execute();
    const text = [
      "# Written by `netmap serve` (nats.agent_authorization.file) from its agent_identities table;",
      "# every change here is overwritten. One user per agent: its own reports, its own inbox.",
      "authorization {",
      `  COLLECTOR = ${permissionsBlock(collectorPermissions(inboxPrefix))}`,
      "  users = [",
      ...(collectorPublicKey ? [`    { nkey: ${JSON.stringify(collectorPublicKey)}, permissions: $COLLECTOR }`] : []),
      ...rows.map((row) => `    { nkey: ${JSON.stringify(row.public_key)}, permissions: ${permissionsBlock(agentPermissions(row.agent_id))} }`),
      "  ]",
      "}",
      "",
    ].join("\n");
    const partial = `${file}.${process.pid}.tmp`;
    writeFileSync(partial, text, { mode: 0o644 });
    renameSync(partial, file);
    let pid: number;
    try {
      pid = Number(readFileSync(pidFile, "utf8").trim());
      process.kill(pid, "SIGHUP");
    } catch (error) {
      throw new AgentIdentityError("NATS_RELOAD", `wrote ${file} but could not tell nats-server to reload (pid_file ${pidFile}): ${(error as Error).message}`);
    }
    log.info({ file, pid, agents: rows.length }, "wrote the NATS agent identities and reloaded nats-server");
  };

  return {
    sync,
    async mint(reference) {
      enabled();
      const located = findHost(await loadTopology(), reference);
      const host = qualifiedName(located);
      const agentId = located.host.agentId ?? derivedAgentId(host);
      const pair = createUser();
      const publicKey = pair.getPublicKey();
      const seed = new TextDecoder().decode(pair.getSeed());
      await db
        .insertInto("agent_identities")
        .values({ host, agent_id: agentId, public_key: publicKey })
        .onConflict((c) => c.column("host").doUpdateSet({ agent_id: agentId, public_key: publicKey, created_at: sql<Date>`now()` }))
        .execute();
      await sync();
      return { host, agentId, publicKey, seed };
    },
    async revoke(reference) {
      enabled();
      let row = await db.deleteFrom("agent_identities").where((w) => w.or([w("host", "=", reference), w("agent_id", "=", reference)])).returning(["host", "agent_id"]).executeTakeFirst();
      if (!row) {
        const host = qualifiedName(findHost(await loadTopology(), reference));
        row = await db.deleteFrom("agent_identities").where("host", "=", host).returning(["host", "agent_id"]).executeTakeFirst();
        if (!row) throw new NotFoundError(`${host} has no NATS identity minted by this collector`);
      }
      await sync();
      return { host: row.host, agentId: row.agent_id };
    },
  };
}
