// Topology files (topology/file.ts) and ssh_config import (topology/ssh-config.ts) against
// arbitrary text, real files mutated byte by byte, and generated documents of the right
// shape with hostile values: each is a topology that writes back to itself, or TOPOLOGY_INVALID.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import fc from "fast-check";
import { stringify } from "yaml";
import { formatTopologyFile, parseTopologyFile } from "../../collector/src/topology/file.ts";
import { parseSshConfig, renderTopologySshConfig } from "../../collector/src/topology/ssh-config.ts";
import { fuzzParameters, mutatedText, parsedOrRejected } from "../helpers/fuzz.ts";

const CODES = ["TOPOLOGY_INVALID"];
const FIXTURE = readFileSync(new URL("../fixtures/topology/two-clients.yaml", import.meta.url), "utf8");
const SSH_CONFIG = `Host bastion\n  HostName 203.0.113.10\n  User admin\n\nHost inner\n  HostName=10.0.0.1\n  Port 2222\n  ProxyJump bastion\n\nHost web01 web02\n  HostName %h.internal.example\n  ProxyJump bastion,inner\n\nHost db\n  HostName 10.0.2.9\n  ProxyJump ops@198.51.100.3:2200,[2001:db8::1]:22\n\nHost *\n  User nobody\n`;

const name = fc.oneof(fc.constantFrom("gw1", "pve1", "web01", "a", "Société Générale", 'Paris DC "north"'), fc.string({ maxLength: 12 }));
const hostNames = ["gw1", "gw2", "pve1", "web01"];
const ref = fc.oneof(fc.constantFrom(...hostNames), name);
const scalar = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
const host: fc.Arbitrary<Record<string, unknown>> = fc.letrec<{ host: Record<string, unknown> }>((tie) => ({
  host: fc.record(
    {
      name: fc.oneof(fc.constantFrom(...hostNames), name),
      address: fc.oneof(fc.constantFrom("10.0.0.1", "2001:db8::1", "gw.example", "-oProxyCommand=x"), fc.string({ maxLength: 20 })),
      ssh: fc.record({ user: fc.oneof(fc.constantFrom("admin", "root"), fc.string({ maxLength: 8 })), port: fc.oneof(fc.integer({ min: -1, max: 70_000 }), scalar) }, { requiredKeys: [] }),
      via: ref,
      kind: fc.oneof(fc.constantFrom("server", "hypervisor", "vm", "container", "network"), fc.string({ maxLength: 6 })),
      agent_id: fc.oneof(fc.constant("3f2a9c1e0b7d"), fc.string({ maxLength: 10 })),
      labels: fc.dictionary(fc.oneof(fc.constantFrom("rack", "role"), fc.string({ maxLength: 6 })), scalar, { maxKeys: 3 }),
      guests: fc.array(tie("host"), { maxLength: 2 }),
    },
    { requiredKeys: ["name"] },
  ),
})).host;
const document = fc.record({
  clients: fc.array(
    fc.record({ name, sites: fc.array(fc.record({ name, bastion: ref, hosts: fc.array(host, { maxLength: 4 }) }, { requiredKeys: ["name"] }), { maxLength: 2 }) }, { requiredKeys: ["name"] }),
    { maxLength: 2 },
  ),
});

/** A topology that was accepted writes as a file that reads back as the same topology. */
function assertRoundTrip(text: string): void {
  const topology = parsedOrRejected(() => parseTopologyFile(text), CODES);
  if (topology) assert.deepEqual(parseTopologyFile(formatTopologyFile(topology)), topology);
}

describe("fuzz: topology files", () => {
  test("arbitrary text is a topology that writes back to itself, or TOPOLOGY_INVALID", () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), assertRoundTrip), fuzzParameters());
  });

  test("the example file mutated byte by byte is a topology that writes back to itself, or TOPOLOGY_INVALID", () => {
    fc.assert(fc.property(mutatedText(FIXTURE), assertRoundTrip), fuzzParameters());
  });

  test("generated documents with hostile names, refs and values are a topology that writes back to itself, or TOPOLOGY_INVALID", () => {
    fc.assert(fc.property(document, (doc) => assertRoundTrip(stringify(doc))), fuzzParameters());
  });
});

const keyword = fc.constantFrom("Host", "HostName", "User", "Port", "ProxyJump", "Match", "Include", "IdentityFile", "hostname", "PROXYJUMP");
const value = fc.oneof(
  fc.constantFrom("bastion", "inner", "%h.example", "%d", "none", "ops@198.51.100.3:2200", "[2001:db8::1]:22", "bastion,inner", "*", "22", "0", "65536", "a b", '"quoted"'),
  fc.string({ maxLength: 16 }),
);
const sshLine = fc.tuple(fc.constantFrom("", "  ", "\t"), keyword, fc.constantFrom(" ", "=", " = ", "\t"), value).map((parts) => parts.join(""));
const sshConfig = fc.array(fc.oneof(sshLine, fc.constantFrom("", "# comment"), fc.string({ maxLength: 20 })), { maxLength: 12 }).map((lines) => lines.join("\n"));

function assertSshImport(text: string): void {
  const imported = parsedOrRejected(() => parseSshConfig(text, { client: "acme", site: "dc1" }), CODES);
  // What was imported is a valid topology: ssh_config renders from it without a refusal.
  if (imported) assert.equal(typeof renderTopologySshConfig(imported.topology), "string");
}

describe("fuzz: ssh_config import", () => {
  test("generated configs of real keywords and hostile values import or are refused with TOPOLOGY_INVALID", () => {
    fc.assert(fc.property(sshConfig, assertSshImport), fuzzParameters());
  });

  test("a real config mutated byte by byte imports or is refused with TOPOLOGY_INVALID", () => {
    fc.assert(fc.property(mutatedText(SSH_CONFIG), assertSshImport), fuzzParameters());
  });

  test("arbitrary text imports or is refused with TOPOLOGY_INVALID", () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), assertSshImport), fuzzParameters());
  });
});
