import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { formatTopologyFile, parseTopologyFile } from "../../../collector/src/topology/file.ts";
import { deriveSlug, isValidName, isValidSlug } from "../../../collector/src/topology/names.ts";
import { findHost, routeTo } from "../../../collector/src/topology/routes.ts";
import { renderTopologySshConfig } from "../../../collector/src/topology/ssh-config.ts";
import { topologyToDot } from "../../../collector/src/topology/graph.ts";
import { ansibleInventory } from "../../../collector/src/topology/inventory.ts";
import { routeFrom } from "../../../collector/src/topology/routes.ts";

/** A file as people write it: accents, spaces, quotes, one given slug. */
const PEOPLE_FILE = readFileSync(new URL("../../fixtures/topology/people-names.yaml", import.meta.url), "utf8");

function refused(text: string): string {
  try {
    parseTopologyFile(text, "t.yaml");
  } catch (error) {
    assert.equal((error as { code?: string }).code, "TOPOLOGY_INVALID");
    return (error as Error).message;
  }
  assert.fail("expected the file to be refused");
}

describe("names and slugs", () => {
  test("deriveSlug - drops accents, lowers case, one dash for each run of other characters", () => {
    assert.equal(deriveSlug('Paris DC "north"'), "paris-dc-north");
    assert.equal(deriveSlug("Société Générale"), "societe-generale");
    assert.equal(deriveSlug("Passerelle n°1"), "passerelle-n-1");
    assert.equal(deriveSlug("web01.prod_a"), "web01.prod_a");
    assert.equal(deriveSlug("--.x.--"), "x");
    for (const name of ["東京", "🚀", "---"]) {
      assert.match(deriveSlug(name), /^n-[0-9a-f]{10}$/, "a name with nothing to keep still gets a stable slug");
      assert.equal(deriveSlug(name), deriveSlug(name));
    }
    assert.notEqual(deriveSlug("東京"), deriveSlug("大阪"));
    for (const name of ['Paris DC "north"', "東京", "a".repeat(200), "x\n-oProxyCommand=sh"]) assert.ok(isValidSlug(deriveSlug(name)), name);
  });

  test("isValidName - any printable text without a slash or a control character, no space at either end", () => {
    for (const name of ['Paris DC "north"', "Société", "it's", "東京 dc", "a"]) assert.ok(isValidName(name), name);
    for (const name of ["", " lead", "trail ", "a/b", "line\nbreak", "nel\u0085", "del\x7f", "lone\ud800", "x".repeat(129)]) assert.ok(!isValidName(name), JSON.stringify(name));
  });

  test("a file with such names is read, and written back byte for byte", () => {
    const topology = parseTopologyFile(PEOPLE_FILE);
    assert.equal(formatTopologyFile(topology), PEOPLE_FILE);
    const site = topology.clients[0]!.sites[0]!;
    assert.deepEqual(site.hosts.map((h) => h.slug ?? null), [null, null, "lab-n"]);
  });

  test("the CLI finds a host by its name or its slug, in each part", () => {
    const topology = parseTopologyFile(PEOPLE_FILE);
    for (const reference of ['lab "north"', "lab-n", 'Société Générale/Paris DC "north"/lab "north"', "societe-generale/paris-dc-north/lab-n", "paris-dc-north/societe"]) {
      assert.equal(findHost(topology, reference).host.address, reference.endsWith("societe") ? "10.0.0.5" : "10.0.0.6", reference);
    }
    assert.equal(findHost(topology, "acme-corp/dc1/web01").host.name, "web01");
    assert.throws(() => findHost(topology, "lab-north"), { code: "NOT_FOUND" });
  });

  test("ssh-config: aliases are slugs, the names are in comments only", () => {
    const text = renderTopologySshConfig(parseTopologyFile(PEOPLE_FILE));
    assert.match(text, /^# Société Générale\/Paris DC "north"\/lab "north"\nHost societe-generale\.paris-dc-north\.lab-n lab-n\n  HostName 10\.0\.0\.6\n  Port 22\n  ProxyJump societe-generale\.paris-dc-north\.passerelle-n-1\n/m);
    for (const line of text.split("\n")) if (!line.startsWith("#")) assert.match(line, /^(|Host [a-z0-9._ -]+|  [A-Za-z]+ [^\s"]+)$/, line);
  });

  test("the route's hops carry the names and the slug alias", () => {
    const hops = routeTo(parseTopologyFile(PEOPLE_FILE), "lab-n");
    assert.deepEqual(hops.map((h) => [h.name, h.alias]), [
      ["Passerelle n°1", "societe-generale.paris-dc-north.passerelle-n-1"],
      ['lab "north"', "societe-generale.paris-dc-north.lab-n"],
    ]);
  });

  test("DOT: the names are quoted text, ids are generated", () => {
    const dot = topologyToDot(parseTopologyFile(PEOPLE_FILE));
    assert.match(dot, /label="Paris DC \\"north\\""/);
    assert.match(dot, /label="lab \\"north\\"\\n10\.0\.0\.6"/);
    assert.match(dot, /label="Société Générale"/);
  });

  test("the Ansible inventory lists hosts and groups by slug, names in hostvars", () => {
    const inventory = ansibleInventory(parseTopologyFile(PEOPLE_FILE), routeFrom);
    assert.deepEqual(inventory.client_societe_generale, { children: ["site_societe_generale_paris_dc_north"] });
    assert.deepEqual((inventory.site_societe_generale_paris_dc_north as { hosts: string[] }).hosts, ["passerelle-n-1", "societe", "lab-n"]);
    assert.deepEqual(inventory._meta.hostvars["lab-n"], {
      netmap_client: "Société Générale", netmap_site: 'Paris DC "north"', netmap_name: 'lab "north"', netmap_slug: "lab-n", netmap_kind: "server",
      netmap_labels: { role: "base de données" }, ansible_host: "10.0.0.6", ansible_port: 22, ansible_ssh_common_args: "-o ProxyJump=admin@203.0.113.10:22",
    });
    assert.ok(inventory.client_acme_corp, "a given slug names the group");
  });

  test("refuses two slugs alike in one scope, naming both and how to fix it", () => {
    const message = refused(`clients:\n  - name: acme\n    sites:\n      - name: dc1\n        hosts:\n          - { name: Web 01, address: 10.0.0.1 }\n          - { name: web-01, address: 10.0.0.2 }\n`);
    assert.match(message, /host acme\/dc1\/web-01: slug "web-01" is also "Web 01"'s; give one of them another \(slug: in the file\)/);
    assert.match(refused(`clients:\n  - { name: Société }\n  - { name: societe }\n`), /client societe: slug "societe" is also "Société"'s/);
    assert.match(refused(`clients:\n  - { name: a, slug: x }\n  - { name: b, slug: x }\n`), /client b: slug "x" is also "a"'s/);
    assert.match(refused(`clients:\n  - name: a\n    sites:\n      - { name: Lyon 2 }\n      - { name: lyon-2 }\n`), /site a\/lyon-2: slug "lyon-2" is also "Lyon 2"'s/);
    // The same slug in two sites is fine: a slug is unique in its scope.
    parseTopologyFile(`clients:\n  - name: a\n    sites:\n      - { name: one, hosts: [{ name: Web 01 }] }\n      - { name: two, hosts: [{ name: Web 01 }] }\n`);
  });

  test("refuses a slug outside [a-z0-9._-] and a name with a slash or a control character", () => {
    assert.match(refused(`clients:\n  - { name: a, slug: "-oProxyCommand=x" }\n`), /client a: slug "-oProxyCommand=x": a slug is 1-128 characters of \[a-z0-9._-\]/);
    assert.match(refused(`clients:\n  - { name: a, slug: Upper }\n`), /slug "Upper"/);
    assert.match(refused(`clients:\n  - { name: "a/b" }\n`), /client "a\/b": a name is 1-128 characters, no "\/"/);
    assert.match(refused(`clients:\n  - { name: "a\\nb" }\n`), /client "a\\nb": a name is/);
  });
});

test("ssh-config - two hosts whose slugs agree (agents name the unassigned ones) get one block; the second a comment", () => {
  const host = (name: string, address: string) => ({ name, kind: "server" as const, address, ssh: { user: null, port: 22 }, via: null, parent: null, labels: {}, source: "agent" as const });
  const text = renderTopologySshConfig({ clients: [{ name: "unassigned", sites: [{ name: "unassigned", bastion: null, hosts: [host("Web", "10.0.0.1"), host("web", "10.0.0.66")] }] }] });
  assert.equal(text.match(/^Host /gm)?.length, 1);
  assert.match(text, /^Host unassigned\.unassigned\.web\n  HostName 10\.0\.0\.1\n/m);
  assert.match(text, /^# unassigned\/unassigned\/web: no block: its alias unassigned\.unassigned\.web is already unassigned\/unassigned\/Web's$/m);
  assert.doesNotMatch(text, /10\.0\.0\.66/);
});
