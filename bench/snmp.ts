// npm run bench:snmp — one device with 48 interfaces (veth pairs inside it besides lo and its
// management veth; this kernel has no dummy interfaces),
// real snmpd in a network namespace: the poll time and the collector's CPU per device poll
// (net-snmp's session, the walks, parse), the time to store the poll in PostgreSQL, and, as
// the reference in the same run, Net-SNMP's own snmpbulkwalk (C) of the same tables.
// Needs root (network namespaces). Not a test.
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrateToLatest, openDatabase } from "../collector/src/db/database.ts";
import { snmpTargetSchema, snmpTargets } from "../collector/src/snmp/config.ts";
import { WALKED, SCALARS } from "../collector/src/snmp/parse.ts";
import { pollDevice } from "../collector/src/snmp/poll.ts";
import { storeDevicePoll } from "../collector/src/snmp/store.ts";
import { createTestDatabase } from "../test/helpers/postgres.ts";
import { createSnmpLab, SNMP_COMMUNITY } from "../test/helpers/snmp-lab.ts";

const INTERFACES = Number(process.env.BENCH_INTERFACES ?? 48);
const POLLS = Number(process.env.BENCH_POLLS ?? 20);

// lo and the management veth are two; veth pairs inside the device make up the rest.
const lab = await createSnmpLab({ devices: 1, innerVethPairs: Math.ceil((INTERFACES - 2) / 2) });
const database = await createTestDatabase();
const db = openDatabase(database.url);
try {
  const device = lab.devices[0]!;
  await migrateToLatest(db);
  const dir = mkdtempSync(join(tmpdir(), "netmap-bench-snmp-"));
  writeFileSync(join(dir, "community"), SNMP_COMMUNITY);
  const [entry] = snmpTargets([snmpTargetSchema.parse({ name: "bench", targets: [device.address], version: "2c", community_file: join(dir, "community"), client: "bench", site: "bench" })]);

  const warm = await pollDevice(entry!, device.address);
  if (!warm.ok) throw warm.error;
  console.log(`${warm.snapshot.interfaces.length} interfaces, ${warm.varbinds} values in ${warm.responses} responses per poll, ${POLLS} polls`);
  let wall = 0;
  let cpu = 0;
  let store = 0;
  let storeCpu = 0;
  for (let i = 0; i < POLLS; i++) {
    const before = process.cpuUsage();
    const poll = await pollDevice(entry!, device.address);
    const used = process.cpuUsage(before);
    if (!poll.ok) throw poll.error;
    wall += poll.durationMs;
    cpu += (used.user + used.system) / 1000;
    const started = performance.now();
    const beforeStore = process.cpuUsage();
    await storeDevicePoll(db, entry!, poll, new Date());
    const storeUsed = process.cpuUsage(beforeStore);
    store += performance.now() - started;
    storeCpu += (storeUsed.user + storeUsed.system) / 1000;
  }
  const reference = () => {
    const started = performance.now();
    execFileSync("snmpget", ["-v2c", "-c", SNMP_COMMUNITY, "-On", "-Cf", device.address, ...SCALARS], { env: { ...process.env, MIBS: "" }, stdio: "ignore" });
    for (const oid of WALKED) execFileSync("snmpbulkwalk", ["-v2c", "-c", SNMP_COMMUNITY, "-On", "-Cr20", device.address, oid], { env: { ...process.env, MIBS: "" }, stdio: "ignore" });
    return performance.now() - started;
  };
  let referenceMs = 0;
  for (let i = 0; i < 5; i++) referenceMs += reference();
  const perPoll = wall / POLLS;
  const cpuPerPoll = cpu / POLLS;
  console.log(`netmap poll: ${perPoll.toFixed(1)} ms wall, ${cpuPerPoll.toFixed(1)} ms collector CPU per device poll`);
  console.log(`netmap store: ${(store / POLLS).toFixed(1)} ms wall, ${(storeCpu / POLLS).toFixed(1)} ms collector CPU per device poll (one transaction)`);
  console.log(`reference: snmpget + snmpbulkwalk -Cr20 of the same tables: ${(referenceMs / 5).toFixed(1)} ms wall (includes 6 process starts)`);
  const cpuPerDevice = cpuPerPoll + storeCpu / POLLS;
  console.log(`collector CPU per device and cycle: ${cpuPerDevice.toFixed(1)} ms → one core polls at most ~${Math.floor(60_000 / cpuPerDevice)} such devices per 60 s`);
  // Here the device is one veth away; across a network each response costs a round trip more.
  for (const rttMs of [1, 5, 20]) {
    const wallMs = perPoll + warm.responses * rttMs;
    console.log(`at ${rttMs} ms RTT: ~${(wallMs / 1000).toFixed(2)} s per device → concurrency 16 covers ~${Math.floor((16 * 60_000) / wallMs)} devices per 60 s (the lower of this and the CPU bound holds)`);
  }
} finally {
  await db.destroy();
  await database.drop();
  await lab.close();
}
