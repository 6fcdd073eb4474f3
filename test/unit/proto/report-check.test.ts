import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CheckType, HostReport, Protocol, type DeepPartial } from "../../../proto/gen/netmap/v1/report.ts";
import { CodecError, decodeReport, encodeReport } from "../../../proto/src/codec.ts";
import { checkReport, fitReport, printable, REPORT_LIMITS, ReportInvalidError, truncateUtf8 } from "../../../proto/src/report-check.ts";
import { sampleReport } from "../../helpers/reports.ts";

const base = sampleReport();
const withListener = (listener: DeepPartial<HostReport["listeners"][number]>) =>
  sampleReport({ listeners: [base.listeners[0]!, { ...base.listeners[1]!, ...listener }] });
const withNic = (nic: DeepPartial<HostReport["interfaces"][number]>) => sampleReport({ interfaces: [base.interfaces[0]!, { ...base.interfaces[1]!, ...nic }] });
const check = { name: "shop", type: CheckType.CHECK_TYPE_HTTP, target: "https://shop.example/health", success: true, latencySeconds: 0.05, httpStatus: 200, certificateDaysLeft: 42.5, error: "", checkedAt: new Date("2026-12-01T12:00:00Z") };
const withCheck = (over: DeepPartial<HostReport["checks"][number]>) => sampleReport({ checks: [check, { ...check, name: "db", type: CheckType.CHECK_TYPE_TCP, target: "10.0.0.5:5432", httpStatus: undefined, certificateDaysLeft: undefined, ...over }] });
const withMount = (mount: DeepPartial<HostReport["mounts"][number]>) => sampleReport({ mounts: [base.mounts[0]!, { ...base.mounts[1]!, ...mount }] });
/** Encoded as the wire carries it, without encodeReport's size check. */
const wire = (report: HostReport) => HostReport.encode(report).finish();

function rejects(report: HostReport, reason: string | RegExp): void {
  assert.throws(() => decodeReport(wire(report)), (error: unknown) => {
    assert.ok(error instanceof ReportInvalidError, `a ReportInvalidError, not ${String(error)}`);
    assert.equal(error.code, "REPORT_INVALID");
    if (typeof reason === "string") assert.equal(error.message, reason);
    else assert.match(error.message, reason);
    return true;
  });
}

describe("report check: the collector refuses a report that breaks a rule and names the field", () => {
  test("a report from a real host passes unchanged", () => {
    const report = sampleReport({ seq: 3 });
    assert.deepEqual(decodeReport(encodeReport(report)), report);
  });

  test("refuses control characters in any string: NUL, newline, DEL, C1 and lone surrogate halves", () => {
    rejects(sampleReport({ hostname: "web\u000001" }), 'hostname "web\\x0001" holds a control character');
    rejects(withListener({ process: "ss\u0000hd" }), 'listeners[1].process "ss\\x00hd" holds a control character');
    rejects(withMount({ mountpoint: "/mnt/a\nb" }), 'mounts[1].mountpoint "/mnt/a\\x0ab" holds a control character');
    rejects(sampleReport({ os: { ...base.os, kernel: "6.1\u007f" } }), /^os\.kernel .* holds a control character$/);
    rejects(sampleReport({ cpu: { ...base.cpu, model: "Xeon\u009b31m" } }), 'cpu.model "Xeon\\x9b31m" holds a control character');
    const halfSurrogate = sampleReport({ collectors: [{ name: "memory", success: false, durationSeconds: 0, error: "bad \ud800 half" }] });
    assert.throws(() => checkReport(halfSurrogate), { message: 'collectors[0].error "bad \\ud800 half" holds a control character' });
  });

  test("a lone surrogate half cannot arrive over the wire: UTF-8 decoding replaces it", () => {
    // So the rule matters for what the agent builds; over the wire it becomes U+FFFD, which is text.
    const report = decodeReport(wire(withListener({ process: "x\udc00" })));
    assert.equal(report.listeners[1]!.process, "x\ufffd");
  });

  test("refuses a hostname that is not a host name, or longer than DNS allows", () => {
    rejects(sampleReport({ hostname: "evil\nMatch exec" }), /^hostname .* holds a control character$/);
    rejects(sampleReport({ hostname: "two words" }), `hostname "two words" has a character other than letters, digits, '-', '_' and '.'`);
    rejects(sampleReport({ hostname: "a".repeat(254) }), "hostname is 254 bytes, over the 253-byte limit");
    assert.equal(decodeReport(wire(sampleReport({ hostname: "Web-01_a.example.org" }))).hostname, "Web-01_a.example.org");
  });

  test("refuses integers that do not fit their PostgreSQL column", () => {
    rejects(withListener({ pid: 4294967295 }), "listeners[1].pid 4294967295 is above 2147483647");
    rejects(withListener({ port: 65536 }), "listeners[1].port 65536 is above 65535");
    rejects(sampleReport({ cpu: { ...base.cpu, logicalCores: 2 ** 31 } }), "cpu.logical_cores 2147483648 is above 2147483647");
    rejects(withNic({ addresses: [{ address: "192.0.2.10", prefixLength: 33 }] }), "interfaces[1].addresses[0].prefix_length 33 is above 32");
    rejects(withNic({ addresses: [{ address: "2001:db8::1", prefixLength: 129 }] }), "interfaces[1].addresses[0].prefix_length 129 is above 128");
  });

  test("a uint64 beyond 2^53 is refused at decode, before it can lose precision", () => {
    const bytes = wire(withMount({ sizeBytes: 2 ** 60 }));
    assert.throws(() => decodeReport(bytes), CodecError);
  });

  test("refuses doubles that are not finite and dates PostgreSQL would not take", () => {
    rejects(sampleReport({ cpu: { ...base.cpu, load1: Number.NaN } }), "cpu.load1 NaN is not a finite number");
    rejects(withNic({ rxBytesPerSecond: Number.POSITIVE_INFINITY }), "interfaces[1].rx_bytes_per_second Infinity is not a finite number");
    rejects(sampleReport({ intervalSeconds: Number.NEGATIVE_INFINITY }), "interval_seconds -Infinity is not a finite number");
    rejects(sampleReport({ collectedAt: new Date(-1000) }), "collected_at 1969-12-31T23:59:59.000Z is outside 1970-9999");
    rejects(sampleReport({ os: { ...base.os, bootTime: new Date(Date.UTC(10_000, 0, 1)) } }), /^os\.boot_time .* is outside 1970-9999$/);
  });

  test("refuses addresses that do not parse, IPv6 zone ids, malformed MACs and unknown protocols", () => {
    rejects(withNic({ addresses: [{ address: "fe80::1%eth0", prefixLength: 64 }] }), 'interfaces[1].addresses[0].address "fe80::1%eth0" is not an IP address');
    rejects(withNic({ addresses: [{ address: "192.0.2.300", prefixLength: 24 }] }), 'interfaces[1].addresses[0].address "192.0.2.300" is not an IP address');
    rejects(withListener({ address: "localhost" }), 'listeners[1].address "localhost" is not an IP address');
    rejects(withNic({ mac: "52:54:00:12:34" }), 'interfaces[1].mac "52:54:00:12:34" is not a MAC address of the form aa:bb:cc:dd:ee:ff');
    rejects(withNic({ mac: "52-54-00-12-34-56" }), /^interfaces\[1\]\.mac .* is not a MAC address/);
    rejects(withListener({ protocol: 7 as Protocol }), "listeners[1].protocol 7 is neither TCP nor UDP");
  });

  test("normalises MACs and IPv6 addresses to lower case", () => {
    const report = decodeReport(wire(withNic({ mac: "52:54:00:AB:CD:EF", addresses: [{ address: "2001:DB8::7", prefixLength: 64 }] })));
    assert.equal(report.interfaces[1]!.mac, "52:54:00:ab:cd:ef");
    assert.equal(report.interfaces[1]!.addresses[0]!.address, "2001:db8::7");
  });

  test("refuses more mounts, listeners, interfaces, addresses or collectors than any real host has", () => {
    const listeners = Array.from({ length: REPORT_LIMITS.listeners + 1 }, (_, i) => ({ protocol: Protocol.PROTOCOL_TCP, address: "0.0.0.0", port: i % 65536, process: "" }));
    rejects(sampleReport({ listeners }), "listeners has 16385 entries, over the limit of 16384");
    rejects(sampleReport({ interfaces: Array.from({ length: 4097 }, () => ({})) }), "interfaces has 4097 entries, over the limit of 4096");
    rejects(sampleReport({ mounts: Array.from({ length: 4097 }, () => base.mounts[0]!) }), "mounts has 4097 entries, over the limit of 4096");
    rejects(withNic({ addresses: Array.from({ length: 1025 }, () => ({ address: "192.0.2.1", prefixLength: 32 })) }), "interfaces[1].addresses has 1025 entries, over the limit of 1024");
    rejects(sampleReport({ collectors: Array.from({ length: 65 }, () => base.collectors[0]!) }), "collectors has 65 entries, over the limit of 64");
    const times = Array.from({ length: REPORT_LIMITS.cpus + 1 }, (_, cpu) => ({ ...base.cpu!.times[0]!, cpu: cpu % REPORT_LIMITS.cpus }));
    rejects(sampleReport({ cpu: { ...base.cpu, times } }), "cpu.times has 8193 entries, over the limit of 8192");
  });

  test("refuses cumulative counters that go below zero, are not finite or lose precision", () => {
    const time = base.cpu!.times[1]!;
    rejects(sampleReport({ cpu: { ...base.cpu, times: [{ ...time, idle: -1 }] } }), "cpu.times[0].idle -1 is not a finite count of 0 or more");
    rejects(sampleReport({ cpu: { ...base.cpu, times: [{ ...time, steal: Number.POSITIVE_INFINITY }] } }), "cpu.times[0].steal Infinity is not a finite count of 0 or more");
    rejects(sampleReport({ cpu: { ...base.cpu, times: [{ ...time, cpu: 8192 }] } }), "cpu.times[0].cpu 8192 is above 8191");
    assert.throws(() => decodeReport(wire(withNic({ rxBytesTotal: 2 ** 60 }))), CodecError);
    assert.throws(() => checkReport(withNic({ txBytesTotal: 2 ** 60 })), { message: /^interfaces\[1\]\.tx_bytes_total \d+ is not a whole number from 0 to 9007199254740991$/ });
    assert.throws(() => checkReport(sampleReport({ disks: [{ ...base.disks[0]!, writtenBytesTotal: -5 }] })), { message: "disks[0].written_bytes_total -5 is not a whole number from 0 to 9007199254740991" });
  });

  test("takes checks with their status, latency and certificate, and refuses an impossible status, type or check time", () => {
    const report = withCheck({});
    assert.deepEqual(decodeReport(encodeReport(report)).checks, report.checks);
    rejects(withCheck({ httpStatus: 700 }), "checks[1].http_status 700 is not an HTTP status");
    rejects(withCheck({ type: CheckType.CHECK_TYPE_UNSPECIFIED }), "checks[1].type 0 is neither HTTP nor TCP");
    rejects(withCheck({ certificateDaysLeft: Number.NaN }), "checks[1].certificate_days_left NaN is not a finite number");
    rejects(withCheck({ checkedAt: new Date(Date.UTC(10_001, 0, 1)) }), /^checks\[1\]\.checked_at .* is outside 1970-9999$/);
    rejects(sampleReport({ checks: Array.from({ length: REPORT_LIMITS.checks + 1 }, (_, i) => ({ ...check, name: `c${i}` })) }), "checks has 257 entries, over the limit of 256");
  });

  test("takes failed SSH authentications per source and fail2ban's jails, and refuses a source that is no address", () => {
    const sshAuth = {
      log: "/var/log/auth.log", windowSeconds: 600, failures: 30, sources: [{ address: "192.0.2.9", failures: 30, lastUser: "mallory" }],
      fail2banJails: [{ name: "sshd", currentlyFailed: 2, totalFailed: 31, currentlyBanned: 1, totalBanned: 4 }],
    };
    assert.deepEqual(decodeReport(encodeReport(sampleReport({ sshAuth }))).sshAuth, sshAuth);
    rejects(sampleReport({ sshAuth: { ...sshAuth, sources: [{ address: "attacker.example", failures: 1, lastUser: "x" }] } }), 'ssh_auth.sources[0].address "attacker.example" is not an IP address');
    rejects(sampleReport({ sshAuth: { ...sshAuth, sources: [{ address: "192.0.2.9", failures: 1, lastUser: "root\u001b[31m" }] } }), /^ssh_auth\.sources\[0\]\.last_user ".*" holds a control character$/);
    rejects(sampleReport({ sshAuth: { ...sshAuth, fail2banJails: [{ ...sshAuth.fail2banJails[0]!, name: "ssh\u001b]0;x\u0007" }] } }), /^ssh_auth\.fail2ban_jails\[0\]\.name ".*" holds a control character$/);
  });

  test("takes containers, and refuses an id that is no engine's, a restart count past PostgreSQL's integer or a start past 9999", () => {
    const web = { id: "82db82937c74504210f757c5684a88454931d622be896814ab3ed63fdeb90872", name: "web", image: "nginx:1.25", state: "running", health: "", restartCount: 0,
      startedAt: new Date("2026-12-01T13:00:00Z"), ports: ["0.0.0.0:8080->80/tcp"], cpuPercent: 1.5, memoryUsedBytes: 1000, memoryLimitBytes: 2000, engine: "docker" };
    assert.deepEqual(decodeReport(encodeReport(sampleReport({ containers: [web] }))).containers[0]!.name, "web");
    rejects(sampleReport({ containers: [{ ...web, id: "../../etc" }] }), 'containers[0].id "../../etc" is not 12-64 hexadecimal digits');
    rejects(sampleReport({ containers: [{ ...web, restartCount: 2 ** 31 }] }), "containers[0].restart_count 2147483648 is above 2147483647");
    rejects(sampleReport({ containers: [{ ...web, name: "web\n" }] }), 'containers[0].name "web\\x0a" holds a control character');
  });

  test("takes a container's networks, labels and the engine listed; refuses an address that is none", () => {
    const web = { id: "82db82937c74504210f757c5684a88454931d622be896814ab3ed63fdeb90872", name: "web", image: "nginx:1.25", state: "running", health: "", restartCount: 0,
      ports: [], engine: "docker", networks: [{ name: "shop_default", address: "172.18.0.3", mac: "02:42:ac:12:00:03" }, { name: "none", address: "", mac: "" }],
      labels: { "com.docker.compose.project": "shop" } };
    const decoded = decodeReport(encodeReport(sampleReport({ containers: [web], containerEngine: { name: "docker", socket: "/run/docker.sock" } })));
    assert.deepEqual([decoded.containers[0]!.networks, decoded.containers[0]!.labels, decoded.containerEngine], [web.networks, web.labels, { name: "docker", socket: "/run/docker.sock" }]);
    rejects(sampleReport({ containers: [{ ...web, networks: [{ name: "x", address: "host.example", mac: "" }] }] }), 'containers[0].networks[0].address "host.example" is not an IP address');
    rejects(sampleReport({ containers: [{ ...web, labels: { "a\u001b": "b" } }] }), /^containers\[0\]\.labels key ".*" holds a control character$/);
    rejects(sampleReport({ containers: [{ ...web, labels: Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`l${i}`, ""])) }] }), "containers[0].labels has 257 entries, over the limit of 256");
    rejects(sampleReport({ containerEngine: { name: "docker", socket: "/run/\u0000" } }), /^container_engine\.socket ".*" holds a control character$/);
  });

  test("refuses text longer than its limit, counted in UTF-8 bytes", () => {
    rejects(withMount({ mountpoint: `/${"é".repeat(512)}` }), "mounts[1].mountpoint is 1025 bytes, over the 1024-byte limit");
    rejects(withListener({ process: "p".repeat(257) }), "listeners[1].process is 257 bytes, over the 256-byte limit");
    rejects(withNic({ name: "n".repeat(65) }), "interfaces[1].name is 65 bytes, over the 64-byte limit");
  });

  test("refuses an identity that could not be the agent's own", () => {
    rejects(sampleReport({ agentId: "Web01" }), 'agent_id "Web01" is not 1-64 characters of [a-z0-9_-]');
    rejects(sampleReport({ bootId: "b\u0000" }), /^boot_id "b\\x00" is not 1-64 characters/);
    rejects(sampleReport({ bootId: "x".repeat(65) }), /^boot_id .* is not 1-64 characters/);
  });
});

describe("report fit: the agent makes what its host shows fit the rules, and the collector then takes it", () => {
  const fits = (report: HostReport) => {
    const repairs = fitReport(report);
    assert.doesNotThrow(() => decodeReport(encodeReport(report)), "the repaired report passes the collector's check");
    return repairs;
  };

  test("escapes a control character in a mountpoint or process name rather than hiding the mount or the socket", () => {
    const report = sampleReport({
      mounts: [base.mounts[0]!, { ...base.mounts[1]!, mountpoint: "/mnt/a\nb" }],
      listeners: [base.listeners[0]!, { ...base.listeners[1]!, process: "ev\u0000il\u009b" }],
    });
    const repairs = fits(report);
    assert.equal(report.mounts.length, 2);
    assert.equal(report.mounts[1]!.mountpoint, "/mnt/a\\x0ab");
    assert.equal(report.listeners[1]!.process, "ev\\x00il\\x9b");
    assert.deepEqual(repairs, ['mounts[1].mountpoint "/mnt/a\\x0ab" holds a control character', 'listeners[1].process "ev\\x00il\\x9b" holds a control character']);
  });

  test("turns a hostname with other characters into a host name and cuts long text", () => {
    const report = sampleReport({ hostname: "my host\u0007", os: { ...base.os, kernel: "k".repeat(300) } });
    fits(report);
    assert.equal(report.hostname, "my-host-x07");
    assert.equal(report.os!.kernel, "k".repeat(256));
  });

  test("empties a hardware address that is not an Ethernet MAC (InfiniBand's 20 bytes) and drops only the address that does not parse", () => {
    const ib = "80:00:02:08:fe:80:00:00:00:00:00:00:00:02:c9:03:00:0a:0b:0c";
    const report = withNic({ mac: ib, addresses: [{ address: "192.0.2.10", prefixLength: 24 }, { address: "fe80::1%ib0", prefixLength: 64 }] });
    fits(report);
    assert.equal(report.interfaces[1]!.mac, "");
    assert.deepEqual(report.interfaces[1]!.addresses, [{ address: "192.0.2.10", prefixLength: 24 }]);
  });

  test("drops a mount whose sizes a broken filesystem reports beyond 2^53, keeps the others", () => {
    const report = withMount({ sizeBytes: 2 ** 64, usedBytes: 1 });
    const repairs = fits(report);
    assert.deepEqual(report.mounts.map((m) => m.mountpoint), ["/"]);
    assert.match(repairs[0]!, /^mounts\[1\]\.size_bytes /);
  });

  test("unsets a rate that is not finite and a pid beyond PostgreSQL's integer, keeping the interface and the socket", () => {
    const report = sampleReport({
      interfaces: [base.interfaces[0]!, { ...base.interfaces[1]!, rxBytesPerSecond: Number.NaN }],
      listeners: [base.listeners[0]!, { ...base.listeners[1]!, pid: 2 ** 32 - 1 }],
    });
    fits(report);
    assert.equal(report.interfaces[1]!.rxBytesPerSecond, undefined);
    assert.equal(report.interfaces[1]!.txBytesPerSecond, 50);
    assert.equal(report.listeners.length, 2);
    assert.equal(report.listeners[1]!.pid, undefined);
  });

  test("leaves out a CPU whose counter is not finite and unsets a byte counter past 2^53, keeping the rest", () => {
    const report = sampleReport({
      cpu: { ...base.cpu, times: [base.cpu!.times[0]!, { ...base.cpu!.times[1]!, user: Number.NaN }] },
      interfaces: [base.interfaces[0]!, { ...base.interfaces[1]!, rxBytesTotal: 2 ** 60 }],
    });
    fits(report);
    assert.deepEqual(report.cpu!.times.map((t) => t.cpu), [0]);
    assert.equal(report.interfaces[1]!.rxBytesTotal, undefined);
    assert.equal(report.interfaces[1]!.txBytesTotal, 65_432);
  });

  test("keeps the first entries up to a count limit", () => {
    const listeners = Array.from({ length: REPORT_LIMITS.listeners + 10 }, (_, i) => ({ protocol: Protocol.PROTOCOL_UDP, address: "::", port: i % 65536, process: "" }));
    const report = sampleReport({ listeners });
    assert.deepEqual(fits(report), ["listeners has 16394 entries, over the limit of 16384"]);
    assert.equal(report.listeners.length, REPORT_LIMITS.listeners);
  });

  test("escapes a check's odd error text, unsets a negative latency, and leaves out a check with a name that is no token", () => {
    const report = withCheck({ error: "refused\n", latencySeconds: -1 });
    assert.deepEqual(fits(report), ["checks[1].latency_seconds -1 is negative", 'checks[1].error "refused\\x0a" holds a control character']);
    assert.equal(report.checks[1]!.error, "refused\\x0a");
    assert.equal(report.checks[1]!.latencySeconds, undefined);
    const badName = withCheck({ name: "db 5432" });
    assert.deepEqual(fits(badName), ['checks[1].name "db 5432" is not 1-64 characters of [A-Za-z0-9._-]']);
    assert.deepEqual(badName.checks.map((c) => c.name), ["shop"]);
  });

  test("does not invent an identity: a wrong agent id still fails", () => {
    assert.throws(() => fitReport(sampleReport({ agentId: "Not Valid" })), ReportInvalidError);
  });
});

describe("printable text", () => {
  test("shows each unprintable character as an escape and leaves other text alone", () => {
    assert.equal(printable("a\u0000b\u001b[31m\u007f\u0085\ud800é✓"), "a\\x00b\\x1b[31m\\x7f\\x85\\ud800é✓");
    assert.equal(printable("😀"), "😀");
  });

  test("truncateUtf8 never splits a character", () => {
    assert.equal(truncateUtf8("ééé", 5), "éé");
    assert.equal(truncateUtf8("a😀", 4), "a");
    assert.equal(truncateUtf8("a😀", 5), "a😀");
  });

  test("checkReport returns the report it was given, normalised", () => {
    const report = withNic({ mac: "AA:BB:CC:DD:EE:FF" });
    assert.equal(checkReport(report), report);
    assert.equal(report.interfaces[1]!.mac, "aa:bb:cc:dd:ee:ff");
  });
});
