import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import {
  agentStateFromError,
  guestAddresses,
  guestInterfaces,
  normalizeCidr,
  parseAgentInterfaces,
  parseGuestResources,
  parseLxcInterfaces,
  parseLxcNics,
  parseNodes,
  parseQemuNics,
  parseStorage,
  parseTags,
  qemuAgentEnabled,
} from "../../../collector/src/proxmox/parse.ts";

const fixture = (name: string): any => JSON.parse(readFileSync(new URL(`../../fixtures/proxmox/${name}.json`, import.meta.url), "utf8")).data;

describe("proxmox parse", () => {
  test("qemu config - netN parsed key by key, any N, every model form, cloud-init addresses", () => {
    assert.deepEqual(parseQemuNics(fixture("qemu-config")), [
      { key: "net0", model: "virtio", mac: "bc:24:11:aa:bb:cc", bridge: "vmbr0", name: null, addresses: [], ipv4: null, ipv6: null },
      { key: "net1", model: "e1000", mac: "bc:24:11:00:00:01", bridge: "vmbr1", name: null, addresses: ["192.0.2.20/24"], ipv4: "static", ipv6: null },
      { key: "net2", model: "vmxnet3", mac: "bc:24:11:00:00:02", bridge: "vmbr0", name: null, addresses: [], ipv4: null, ipv6: null },
      { key: "net10", model: "rtl8139", mac: "bc:24:11:00:00:0a", bridge: "vmbr2", name: null, addresses: [], ipv4: "dhcp", ipv6: "auto" },
    ]);
    assert.equal(qemuAgentEnabled(fixture("qemu-config")), true);
    assert.equal(qemuAgentEnabled({ agent: "1" }), true);
    assert.equal(qemuAgentEnabled({ agent: "0" }), false);
    assert.equal(qemuAgentEnabled({ agent: "enabled=0,type=virtio" }), false);
    assert.equal(qemuAgentEnabled({}), false);
  });

  test("lxc config - hwaddr, static ip as CIDR, dhcp and manual recorded without an address", () => {
    assert.deepEqual(parseLxcNics(fixture("lxc-config")), [
      { key: "net0", model: "veth", mac: "bc:24:11:5e:7a:01", bridge: "vmbr0", name: "eth0", addresses: ["10.0.0.5/24"], ipv4: "static", ipv6: null },
      { key: "net1", model: "veth", mac: "bc:24:11:5e:7a:02", bridge: "vmbr1", name: "eth1", addresses: ["fd00:10::5/64"], ipv4: "dhcp", ipv6: "static" },
      { key: "net2", model: "veth", mac: "bc:24:11:5e:7a:03", bridge: "vmbr2", name: "eth2", addresses: [], ipv4: "manual", ipv6: null },
    ]);
  });

  test("guest agent - loopback and link-local left out, interfaces without addresses kept", () => {
    assert.deepEqual(parseAgentInterfaces(fixture("agent-network-get-interfaces")), [
      { name: "ens18", mac: "bc:24:11:aa:bb:cc", addresses: ["10.0.0.10/24", "2001:db8::10/64"] },
      { name: "docker0", mac: "02:42:7a:c1:00:01", addresses: ["172.17.0.1/16"] },
      { name: "ens19", mac: "bc:24:11:00:00:01", addresses: [] },
    ]);
  });

  test("guest agent - ip-addresses as an object, prefix as a string, no hardware address on loopback", () => {
    assert.deepEqual(parseAgentInterfaces(fixture("agent-network-get-interfaces-quirks")), [
      { name: "Ethernet", mac: "bc:24:11:aa:bb:cc", addresses: ["10.0.0.11/24"] },
      { name: "Ethernet 2", mac: "bc:24:11:00:00:01", addresses: ["192.0.2.21/24"] },
    ]);
    assert.throws(() => parseAgentInterfaces({}), /no result list/);
  });

  test("guest agent errors are states, not failures", () => {
    assert.equal(agentStateFromError("GET …: HTTP 500 No QEMU guest agent configured"), "not-configured");
    assert.equal(agentStateFromError("GET …: HTTP 500 QEMU guest agent is not running"), "not-running");
    assert.equal(agentStateFromError("GET …: HTTP 500 got timeout"), undefined);
  });

  test("lxc interfaces - CIDR strings, loopback dropped, null when stopped", () => {
    assert.deepEqual(parseLxcInterfaces(fixture("lxc-interfaces")), [
      { name: "eth0", mac: "bc:24:11:5e:7a:01", addresses: ["10.0.0.5/24"] },
      { name: "eth1", mac: "bc:24:11:5e:7a:02", addresses: ["192.168.3.95/22", "fd00:10::5/64"] },
    ]);
    assert.equal(parseLxcInterfaces(fixture("lxc-interfaces-stopped")), null);
  });

  test("interfaces - reported addresses win over static ones, joined by MAC; extra reported NICs with addresses kept", () => {
    const qemu = guestInterfaces(parseQemuNics(fixture("qemu-config")), parseAgentInterfaces(fixture("agent-network-get-interfaces")));
    assert.deepEqual(qemu, [
      { name: "ens18", mac: "bc:24:11:aa:bb:cc", addresses: ["10.0.0.10/24", "2001:db8::10/64"] },
      { name: "ens19", mac: "bc:24:11:00:00:01", addresses: ["192.0.2.20/24"] },
      { name: "net2", mac: "bc:24:11:00:00:02", addresses: [] },
      { name: "net10", mac: "bc:24:11:00:00:0a", addresses: [] },
      { name: "docker0", mac: "02:42:7a:c1:00:01", addresses: ["172.17.0.1/16"] },
    ]);
    assert.deepEqual(guestAddresses(qemu), ["10.0.0.10", "192.0.2.20", "172.17.0.1", "2001:db8::10"]);
    const stopped = guestInterfaces(parseLxcNics(fixture("lxc-config")), null);
    assert.deepEqual(stopped.map((i) => [i.name, i.addresses]), [["eth0", ["10.0.0.5/24"]], ["eth1", ["fd00:10::5/64"]], ["eth2", []]]);
  });

  test("cluster resources - qemu and lxc, templates flagged, storage entries ignored, a guest without a name named as PVE does", () => {
    const guests = parseGuestResources(fixture("cluster-resources"));
    assert.deepEqual(guests.map((g) => [g.type, g.vmid, g.name, g.node, g.status, g.template, g.tags]), [
      ["qemu", 100, "web01", "pve1", "running", false, ["prod", "web"]],
      ["lxc", 101, "dns01", "pve1", "running", false, []],
      ["qemu", 102, "VM 102", "pve2", "unknown", false, []],
      ["qemu", 9000, "debian-12-template", "pve1", "stopped", true, []],
    ]);
    assert.deepEqual(guests[0]!.figures, {
      cpu: 0.0213, maxcpu: 4, mem: 1610612736, maxmem: 4294967296, disk: 0, maxdisk: 34359738368,
      netin: 98765432, netout: 12345678, diskread: 1259312128, diskwrite: 3145728000, uptime: 86400,
    });
    assert.deepEqual(parseTags("b;a, c a"), ["a", "b", "c"]);
  });

  test("nodes and storage", () => {
    const nodes = parseNodes(fixture("nodes"));
    assert.deepEqual(nodes.map((n) => [n.node, n.status, n.figures.maxcpu]), [["pve1", "online", 16], ["pve2", "offline", null]]);
    assert.deepEqual(parseStorage(fixture("storage")).map((s) => [s.storage, s.type, s.total, s.used, s.active, s.shared]), [
      ["local", "dir", 100861726720, 9824083968, true, false],
      ["local-lvm", "lvmthin", 1836660457472, 412316860416, true, false],
    ]);
    assert.throws(() => parseNodes(null), /expected a list/);
  });

  test("addresses - canonical CIDR, zone ids stripped, garbage refused", () => {
    assert.equal(normalizeCidr("10.0.0.5"), "10.0.0.5/32");
    assert.equal(normalizeCidr("FE80::1%eth0/64"), "fe80::1/64");
    assert.equal(normalizeCidr("10.0.0.300/24"), null);
    assert.equal(normalizeCidr("dhcp"), null);
    assert.equal(normalizeCidr("10.0.0.5/33"), null);
  });
});

test("parse - an answer that is not the list it should be is PROXMOX_BAD_RESPONSE, not a TypeError", () => {
  for (const parse of [parseNodes, parseGuestResources, parseStorage, parseLxcInterfaces]) {
    assert.throws(() => parse({ data: [] }), { code: "PROXMOX_BAD_RESPONSE", message: /expected a list, got object/ });
  }
  assert.throws(() => parseAgentInterfaces(7), { code: "PROXMOX_BAD_RESPONSE", message: /no result list/ });
});

test("parseGuestResources - leaves out a guest whose vmid is negative, fractional or beyond PVE's 999,999,999", () => {
  const guests = parseGuestResources([
    { type: "qemu", id: "qemu/-1", node: "pve1" },
    { type: "qemu", vmid: 100.5, node: "pve1" },
    { type: "lxc", vmid: 1e300, node: "pve1" },
    { type: "lxc", id: "lxc/2147483648", node: "pve1" },
    { type: "qemu", vmid: "101", node: "pve1" },
  ]);
  assert.deepEqual(guests.map((g) => g.vmid), [101]);
});
