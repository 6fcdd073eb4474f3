// Names as people write them (issue 12, deliverable 6) through PostgreSQL, the HTTP API and
// the real OpenSSH client: `Paris DC "north"`, `Société`, a given slug.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pino from "pino";
import { Registry } from "prom-client";
import { loadCollectorConfig } from "../../collector/src/config.ts";
import type { Db } from "../../collector/src/db/database.ts";
import { buildApp } from "../../collector/src/http/app.ts";
import { formatTopologyFile, parseTopologyFile } from "../../collector/src/topology/file.ts";
import { importTopology, loadTopology } from "../../collector/src/topology/repository.ts";
import { renderTopologySshConfig } from "../../collector/src/topology/ssh-config.ts";
import { createMigratedDatabase, type MigratedDatabase } from "../helpers/postgres.ts";

const FILE = readFileSync(new URL("../fixtures/topology/people-names.yaml", import.meta.url), "utf8");

function sshG(configFile: string, alias: string): string {
  const result = spawnSync("ssh", ["-G", "-F", configFile, alias], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 });
  if (result.error) throw new Error(`cannot run ssh (install openssh-client): ${result.error.message}`);
  assert.equal(result.status, 0, result.stderr);
  return result.stdout;
}

describe("names with spaces, accents and quotes, stored and served", () => {
  let database: MigratedDatabase;
  let db: Db;
  const dir = mkdtempSync(join(tmpdir(), "netmap-names-"));

  before(async () => {
    database = await createMigratedDatabase();
    ({ db } = database);
  });

  after(async () => {
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("import then export gives back the file byte for byte, given slugs included; a second import changes nothing", async () => {
    assert.deepEqual(await importTopology(db, parseTopologyFile(FILE)), { created: 4, updated: 0, adopted: 0 });
    assert.equal(formatTopologyFile(await loadTopology(db)), FILE);
    assert.deepEqual(await importTopology(db, parseTopologyFile(FILE)), { created: 0, updated: 4, adopted: 0 });
    assert.equal(formatTopologyFile(await loadTopology(db)), FILE);
    const stored = await db.selectFrom("hosts").select(["name", "slug"]).orderBy("id").execute();
    assert.deepEqual(stored, [
      { name: "Passerelle n°1", slug: null },
      { name: "Société", slug: null },
      { name: 'lab "north"', slug: "lab-n" },
      { name: "web01", slug: null },
    ], "only a given slug is stored; a derived one follows its name");
  });

  test("an import whose slug collides with a stored host's is refused whole, naming both", async () => {
    const file = `clients:\n  - name: Société Générale\n    sites:\n      - name: Paris DC "north"\n        hosts:\n          - name: SOCIÉTÉ\n            address: 10.0.0.9\n`;
    await assert.rejects(importTopology(db, parseTopologyFile(file)), { code: "TOPOLOGY_INVALID", message: /slug "societe" is also "Société"'s/ });
    assert.equal(formatTopologyFile(await loadTopology(db)), FILE, "nothing was written");
  });

  test("a client named or slugged like the reserved `unassigned` is refused: it would share that pseudo-client's aliases", async () => {
    for (const client of ["- name: unassigned", "- name: Unassigned", "- { name: Elsewhere, slug: unassigned }"]) {
      await assert.rejects(importTopology(db, parseTopologyFile(`clients:\n  ${client}\n`)), { code: "TOPOLOGY_INVALID", message: /name or slug "unassigned" is reserved/ }, client);
    }
  });

  test("OpenSSH reads the generated config: each host by its slug alias, hops by theirs", async () => {
    const configFile = join(dir, "ssh_config");
    const text = renderTopologySshConfig(await loadTopology(db, { includeUnassigned: true }), { knownHostsFile: join(dir, "known_hosts") });
    writeFileSync(configFile, text);
    assert.match(text, /^# Société Générale\/Paris DC "north"\/Société\nHost societe-generale\.paris-dc-north\.societe societe\n/m);

    const societe = sshG(configFile, "societe-generale.paris-dc-north.societe");
    assert.match(societe, /^hostname 10\.0\.0\.5$/m);
    assert.match(societe, /^proxyjump societe-generale\.paris-dc-north\.passerelle-n-1$/m);
    assert.match(societe, /^hostkeyalias societe-generale\.paris-dc-north\.societe$/m);
    const lab = sshG(configFile, "lab-n");
    assert.match(lab, /^hostname 10\.0\.0\.6$/m);
    assert.match(sshG(configFile, "societe-generale.paris-dc-north.passerelle-n-1"), /^user admin$/m);
    assert.match(sshG(configFile, "acme-corp.dc1.web01"), /^hostname 10\.1\.0\.5$/m);
  });

  test("HTTP routes take a name or a slug, each part", async () => {
    const config = loadCollectorConfig({ env: { NETMAP_DATABASE_URL: database.url } });
    const app = await buildApp(
      { config, db, registry: new Registry(), natsConnected: () => true, token: "names-token", loadTopology: () => loadTopology(db, { includeUnassigned: true, thresholds: config }) },
      pino({ level: "silent" }),
    );
    const get = (reference: string) => app.inject({ url: `/api/v1/routes/${encodeURIComponent(reference)}`, headers: { authorization: "Bearer names-token" } });
    try {
      for (const reference of ['Société Générale/Paris DC "north"/lab "north"', "societe-generale/paris-dc-north/lab-n", 'lab "north"', "lab-n"]) {
        const route = await get(reference);
        assert.equal(route.statusCode, 200, `${reference}: ${route.body}`);
        assert.deepEqual(route.json().hops.map((h: { name: string; alias: string; ssh: string }) => [h.name, h.alias, h.ssh]), [
          ["Passerelle n°1", "societe-generale.paris-dc-north.passerelle-n-1", "admin@203.0.113.10"],
          ['lab "north"', "societe-generale.paris-dc-north.lab-n", "10.0.0.6"],
        ]);
      }
      assert.equal((await get("lab-north")).statusCode, 404);
    } finally {
      await app.close();
    }
  });
});
