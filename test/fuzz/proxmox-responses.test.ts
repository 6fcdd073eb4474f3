// Proxmox API answers (proxmox/parse.ts) are untrusted JSON: arbitrary values, the recorded
// answers of a real cluster mutated, and answers of the right shape with hostile fields are
// parsed into values the collector can store, or refused with PROXMOX_BAD_RESPONSE.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  guestAddresses,
  guestInterfaces,
  isTemplateConfig,
  parseAgentInterfaces,
  parseGuestResources,
  parseLxcInterfaces,
  parseLxcNics,
  parseNodes,
  parseQemuNics,
  parseStorage,
  qemuAgentEnabled,
  type Figures,
} from "../../collector/src/proxmox/parse.ts";
import { INT32_MAX } from "../../proto/src/report-check.ts";
import { fuzzParameters, mutatedText, parsedOrRejected } from "../helpers/fuzz.ts";

const CODES = ["PROXMOX_BAD_RESPONSE"];
const fixture = (name: string) => readFileSync(new URL(`../fixtures/proxmox/${name}`, import.meta.url), "utf8");
/** The `data` of a recorded answer, as ProxmoxClient.get returns it. */
const recorded = (name: string): string => JSON.stringify((JSON.parse(fixture(name)) as { data?: unknown }).data ?? JSON.parse(fixture(name)));

function assertFigures(figures: Figures): void {
  for (const value of Object.values(figures)) assert.ok(value === null || Number.isFinite(value), `figure ${value}`);
}

/** Every parser on one answer: each returns storable values or a coded refusal. */
function parseEverything(data: unknown): void {
  for (const node of parsedOrRejected(() => parseNodes(data), CODES) ?? []) {
    assert.ok(typeof node.node === "string" && node.node !== "");
    assertFigures(node.figures);
  }
  for (const guest of parsedOrRejected(() => parseGuestResources(data), CODES) ?? []) {
    // vmid is an integer column: PVE's ids are 100 to 999,999,999.
    assert.ok(Number.isInteger(guest.vmid) && guest.vmid >= 0 && guest.vmid <= INT32_MAX, `vmid ${guest.vmid}`);
    assert.equal(typeof guest.name, "string");
    assertFigures(guest.figures);
  }
  for (const storage of parsedOrRejected(() => parseStorage(data), CODES) ?? []) {
    for (const value of [storage.total, storage.used, storage.avail]) assert.ok(value === null || Number.isFinite(value));
  }
  const reported = parsedOrRejected(() => parseAgentInterfaces(data), CODES) ?? null;
  const lxcReported = parsedOrRejected(() => parseLxcInterfaces(data), CODES);
  if (typeof data === "object" && data !== null && !Array.isArray(data)) {
    const config = data as Record<string, unknown>;
    qemuAgentEnabled(config);
    isTemplateConfig(config);
    for (const configured of [parseQemuNics(config), parseLxcNics(config)]) {
      for (const nics of [reported, lxcReported ?? null]) {
        const interfaces = guestInterfaces(configured, nics);
        assert.equal(new Set(interfaces.map((i) => i.name)).size, interfaces.length, "interface names are unique");
        guestAddresses(interfaces);
      }
    }
  }
}

const hostileScalar = fc.oneof(
  fc.jsonValue({ maxDepth: 1 }),
  fc.constantFrom(1e300, -1, 2 ** 31, 2 ** 53, 0.5, "1e999", "NaN", " 7 ", "", "qemu", "lxc", "100", "node/pve1", "qemu/100"),
);
const resource = fc.record(
  {
    type: fc.oneof(fc.constantFrom("qemu", "lxc", "node", "storage"), fc.string({ maxLength: 5 })),
    vmid: hostileScalar,
    id: fc.oneof(fc.constantFrom("qemu/100", "lxc/1e300", "qemu/-1", "qemu/0x10"), fc.string({ maxLength: 10 })),
    node: fc.oneof(fc.constantFrom("pve1"), hostileScalar),
    name: hostileScalar,
    status: hostileScalar,
    template: hostileScalar,
    tags: hostileScalar,
    cpu: hostileScalar,
    maxmem: hostileScalar,
    lock: hostileScalar,
    storage: hostileScalar,
    total: hostileScalar,
    net0: fc.oneof(fc.constantFrom("virtio=BC:24:11:AA:BB:CC,bridge=vmbr0", "name=eth0,hwaddr=BC:24:11:AA:BB:CC,ip=10.0.0.5/24", "=,=,,=x"), fc.string({ maxLength: 30 })),
    ipconfig0: fc.oneof(fc.constantFrom("ip=10.0.0.5/24,gw=10.0.0.1", "ip=dhcp", "ip6=fe80::1/64"), fc.string({ maxLength: 20 })),
    agent: hostileScalar,
    result: fc.array(fc.dictionary(fc.constantFrom("name", "hardware-address", "ip-addresses"), hostileScalar), { maxLength: 3 }),
  },
  { requiredKeys: [] },
);

describe("fuzz: Proxmox answers", () => {
  test("arbitrary JSON values parse into storable values or PROXMOX_BAD_RESPONSE", () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), parseEverything), fuzzParameters());
  });

  test("answers of the right shape with hostile fields parse into storable values or PROXMOX_BAD_RESPONSE", () => {
    fc.assert(fc.property(fc.oneof(fc.array(resource, { maxLength: 4 }), resource), parseEverything), fuzzParameters());
  });

  for (const name of ["cluster-resources.json", "nodes.json", "storage.json", "qemu-config.json", "lxc-config.json", "agent-network-get-interfaces-quirks.json", "lxc-interfaces.json"]) {
    test(`the recorded ${name} mutated byte by byte parses into storable values or PROXMOX_BAD_RESPONSE`, () => {
      fc.assert(
        fc.property(mutatedText(recorded(name)), (text) => {
          let data: unknown;
          try {
            data = JSON.parse(text);
          } catch {
            return; // the client refuses what is not JSON before a parser sees it
          }
          parseEverything(data);
        }),
        fuzzParameters(Math.ceil(fuzzParameters().numRuns! / 7)),
      );
    });
  }
});
