// npm run bench:proxmox — one discovery cycle of a 1,000-guest cluster (10 nodes,
// 600 QEMU guests with the guest agent, 400 LXC containers, all running) against
// the stand-in PVE API with 20 ms added to every call. Prints cycle time and
// API calls per cycle at the default concurrency (8) and at 16. Not a test.
import { DEFAULT_MAX_RESPONSE_BYTES, ProxmoxClient } from "../collector/src/proxmox/client.ts";
import { Secret } from "../collector/src/proxmox/config.ts";
import { discover } from "../collector/src/proxmox/discovery.ts";
import { startFakeProxmox, type FakeGuest, type FakeNode } from "../test/fakes/proxmox/server.ts";

const GUESTS = Number(process.env.BENCH_GUESTS ?? 1000);
const NODES = 10;
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 20);

const hex = (n: number) => [(n >> 8) & 0xff, n & 0xff].map((b) => b.toString(16).padStart(2, "0").toUpperCase()).join(":");
const nodes: FakeNode[] = Array.from({ length: NODES }, (_, i) => ({ node: `pve${i + 1}`, storage: [{ storage: "local-lvm", type: "lvmthin", total: 2e12, used: 5e11 }] }));
const guests: FakeGuest[] = Array.from({ length: GUESTS }, (_, i): FakeGuest => {
  const vmid = 100 + i;
  const mac = `BC:24:11:00:${hex(i)}`;
  const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  const node = `pve${(i % NODES) + 1}`;
  return i % 5 < 3
    ? {
        type: "qemu", vmid, name: `vm${vmid}`, node, status: "running", tags: "bench",
        config: { name: `vm${vmid}`, agent: "1", net0: `virtio=${mac},bridge=vmbr0,firewall=1` },
        agent: { result: [{ name: "ens18", "hardware-address": mac.toLowerCase(), "ip-addresses": [{ "ip-address": ip, "ip-address-type": "ipv4", prefix: 16 }] }] },
      }
    : {
        type: "lxc", vmid, name: `ct${vmid}`, node, status: "running",
        config: { hostname: `ct${vmid}`, net0: `name=eth0,bridge=vmbr0,hwaddr=${mac},ip=${ip}/16,type=veth` },
        agent: [{ name: "eth0", hwaddr: mac.toLowerCase(), inet: `${ip}/16` }],
      };
});

const pve = await startFakeProxmox({ nodes, guests, latencyMs: LATENCY_MS });
console.log(`${GUESTS} guests on ${NODES} nodes, ${LATENCY_MS} ms per API call`);
for (const concurrency of [8, 16]) {
  const client = new ProxmoxClient({
    url: pve.url, tokenId: pve.tokenId, tokenSecret: new Secret(pve.secret), fingerprint: pve.fingerprint,
    timeoutMs: 30_000, concurrency, maxResponseBytes: DEFAULT_MAX_RESPONSE_BYTES,
  });
  const inventory = await discover(client, "bench");
  client.close();
  if (!inventory.complete || inventory.guests.length !== GUESTS || inventory.failures.length) {
    throw new Error(`incomplete cycle: ${JSON.stringify(inventory.failures.slice(0, 3))}`);
  }
  const addresses = inventory.guests.filter((g) => g.interfaces?.some((i) => i.addresses.length)).length;
  console.log(`concurrency ${String(concurrency).padStart(2)}: cycle ${(inventory.durationMs / 1000).toFixed(2)} s, ${inventory.calls} API calls, ${addresses}/${GUESTS} guests with addresses`);
}
await pve.close();
