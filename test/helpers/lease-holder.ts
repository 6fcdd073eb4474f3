// A process that takes the collector's leases and prints "held <name>" when it holds one,
// for tests that kill a holder (SIGKILL) and time the failover.
import pino from "pino";
import { startLeases, type LeaseName } from "../../collector/src/cluster/lease.ts";

const [databaseUrl, checkEveryMs, ...names] = process.argv.slice(2);
startLeases({
  databaseUrl: databaseUrl!,
  names: names as LeaseName[],
  checkEveryMs: Number(checkEveryMs),
  log: pino({ level: "silent" }),
  onChange: (name, held) => process.stdout.write(`${held ? "held" : "lost"} ${name}\n`),
});
setInterval(() => {}, 1 << 30);
