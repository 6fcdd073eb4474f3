import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { createLinuxSource } from "../../../agent/src/source.ts";
import { endsTcpListeners, formatIpv6, isListening, parseCpuinfo, parseOsRelease, parseLoadAverage, parseMeminfo, parseMountinfo, parseProcNet, parseProcStat } from "../../../agent/src/procfs.ts";

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/agent/${name}`, import.meta.url), "utf8");

describe("procfs parsers", () => {
  it("parseProcNet - decodes little-endian IPv4 addresses, hex ports, states and inodes", () => {
    const sockets = parseProcNet(fixture("sample-tcp.txt"), "tcp");
    assert.deepEqual(
      sockets.map((s) => [s.address, s.port, s.state, s.remoteAddress, s.remotePort, s.inode]),
      [
        ["127.0.0.1", 8080, "0A", "0.0.0.0", 0, 1001],
        ["0.0.0.0", 22, "0A", "0.0.0.0", 0, 1002],
        ["127.0.0.1", 8080, "01", "127.0.0.1", 50000, 1003],
        ["10.0.2.7", 80, "06", "10.0.2.9", 54321, 0],
      ],
    );
    assert.deepEqual(sockets.filter(isListening).map((s) => s.inode), [1001, 1002]);
  });

  it("parseProcNet - decodes IPv6 as RFC 5952 text, IPv4-mapped included, and keeps only LISTEN rows as listeners", () => {
    const sockets = parseProcNet(fixture("sample-tcp6.txt"), "tcp");
    assert.deepEqual(
      sockets.map((s) => [s.address, s.port, s.state]),
      [
        ["::", 22, "0A"],
        ["::1", 631, "0A"],
        ["::ffff:127.0.0.1", 8081, "0A"],
        ["2001:db8::7", 443, "0A"],
        ["::1", 631, "01"],
        ["fe80::1", 22, "01"],
      ],
    );
    assert.equal(sockets[5]!.remoteAddress, "fe80::2");
    assert.deepEqual(sockets.filter(isListening).map((s) => s.inode), [2001, 2002, 2003, 2004]);
  });

  it("parseProcNet - counts bound, unconnected UDP sockets as listening and connected ones not", () => {
    const udp = parseProcNet(fixture("sample-udp.txt"), "udp");
    assert.deepEqual(udp.filter(isListening).map((s) => [s.address, s.port]), [["0.0.0.0", 68], ["127.0.0.53", 53]]);
    const udp6 = parseProcNet(fixture("sample-udp6.txt"), "udp");
    assert.deepEqual(udp6.filter(isListening).map((s) => [s.protocol, s.address, s.port]), [["udp", "::", 514]]);
  });

  it("parseProcNet - reads this machine's recorded tables without losing a row", () => {
    for (const [file, protocol] of [["proc-net-tcp.txt", "tcp"], ["proc-net-tcp6.txt", "tcp"], ["proc-net-udp.txt", "udp"]] as const) {
      const text = fixture(file);
      const rows = text.split("\n").slice(1).filter((line) => line.trim()).length;
      const sockets = parseProcNet(text, protocol);
      assert.equal(sockets.length, rows, file);
      for (const s of sockets) assert.ok(s.port >= 0 && s.port <= 65535 && Number.isInteger(s.inode), file);
    }
  });

  it("formatIpv6 - compresses the longest zero run only, never a single zero group", () => {
    const bytes = (groups: number[]) => groups.flatMap((g) => [g >> 8, g & 0xff]);
    assert.equal(formatIpv6(bytes([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1])), "2001:db8::1:0:0:1");
    assert.equal(formatIpv6(bytes([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1])), "2001:db8:0:1:1:1:1:1");
    assert.equal(formatIpv6(bytes([0, 0, 0, 0, 0, 0, 0, 0])), "::");
  });

  it("parseMountinfo - takes mount point, source and type, undoing octal escapes", () => {
    const mounts = parseMountinfo("36 35 98:0 / /mnt/my\\040disk rw,noatime master:1 - ext3 /dev/sdb1 rw,errors=continue\n27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n");
    assert.deepEqual(mounts, [
      { mountpoint: "/mnt/my disk", device: "/dev/sdb1", fsType: "ext3" },
      { mountpoint: "/", device: "/dev/vda", fsType: "ext4" },
    ]);
    assert.ok(parseMountinfo(fixture("mountinfo.txt")).some((m) => m.mountpoint === "/"));
  });

  it("parseProcStat - reads the aggregate cpu line and each cpuN line, and takes btime", () => {
    const stat = parseProcStat("cpu  100 5 50 1000 20 1 2 3 0 0\ncpu0 50 2 25 500 10 1 1 2 0 0\ncpu3 50 3 25 500 10 0 1 1 0 0\nintr 1\nbtime 1795426378\n");
    assert.deepEqual(stat, {
      cpu: { user: 100, nice: 5, system: 50, idle: 1000, iowait: 20, irq: 1, softirq: 2, steal: 3 },
      cpuCount: 2,
      perCpu: [
        { cpu: 0, times: { user: 50, nice: 2, system: 25, idle: 500, iowait: 10, irq: 1, softirq: 1, steal: 2 } },
        { cpu: 3, times: { user: 50, nice: 3, system: 25, idle: 500, iowait: 10, irq: 0, softirq: 1, steal: 1 } },
      ],
      bootTime: 1795426378,
    });
    const recorded = parseProcStat(fixture("proc-stat.txt"));
    assert.equal(recorded.cpuCount, (fixture("proc-stat.txt").match(/^cpu\d+ /gm) ?? []).length);
  });

  it("parseMeminfo and parseLoadAverage - read the numbers as the kernel wrote them", () => {
    const meminfo = parseMeminfo(fixture("meminfo.txt"));
    const memTotalLine = /^MemTotal:\s+(\d+) kB$/m.exec(fixture("meminfo.txt"))!;
    assert.equal(meminfo.MemTotal, Number(memTotalLine[1]));
    assert.ok(meminfo.MemAvailable! > 0);
    assert.deepEqual(parseLoadAverage("0.52 0.41 0.30 1/159 15603\n"), { load1: 0.52, load5: 0.41, load15: 0.3 });
    assert.throws(() => parseLoadAverage("garbage"));
  });
});

describe("listening sockets from /proc/net", () => {
  it("endsTcpListeners - the header, LISTEN and SYN_RECV rows keep reading; an established or TIME_WAIT row ends the listeners", () => {
    const [header, listen, , established, timeWait] = fixture("sample-tcp.txt").split("\n");
    assert.deepEqual([header!, listen!, established!, timeWait!].map(endsTcpListeners), [false, false, true, true]);
    assert.equal(endsTcpListeners(listen!.replace(" 0A ", " 03 ")), false);
    assert.equal(endsTcpListeners(""), false);
  });

  it("listeningSockets - reads a TCP table only up to its listeners, across many small reads, and the UDP tables whole", async () => {
    const proc = mkdtempSync(join(tmpdir(), "netmap-proc-net-"));
    try {
      mkdirSync(join(proc, "net"));
      const [header, , , established] = fixture("sample-tcp.txt").split("\n");
      // 40 listeners span several 512-byte reads; the LISTEN row after the established one
      // cannot occur in a kernel's table and is there to show reading stopped before it.
      const row = (i: number, port: number, state: string) =>
        `${String(i).padStart(4)}: 00000000:${port.toString(16).toUpperCase().padStart(4, "0")} 00000000:0000 ${state} 00000000:00000000 00:00000000 00000000     0        0 ${7000 + i} 1 0000000000000000 100 0 0 10 0`;
      const listeners = Array.from({ length: 40 }, (_, i) => row(i, 10000 + i, "0A"));
      writeFileSync(join(proc, "net", "tcp"), [header, ...listeners, established, row(41, 9999, "0A"), ""].join("\n"));
      writeFileSync(join(proc, "net", "tcp6"), fixture("sample-tcp6.txt"));
      writeFileSync(join(proc, "net", "udp"), fixture("sample-udp.txt"));
      const sockets = await createLinuxSource({ proc }).listeningSockets();
      const tcp4 = sockets.filter((s) => s.protocol === "tcp" && !s.address.includes(":"));
      assert.deepEqual(tcp4.map((s) => s.port), listeners.map((_, i) => 10000 + i));
      assert.equal(sockets.filter((s) => s.address.includes(":")).length, 4, "tcp6's four listeners");
      assert.deepEqual(sockets.filter((s) => s.protocol === "udp").map((s) => s.port), [68, 53], "no udp6 table: a kernel without IPv6");
    } finally {
      rmSync(proc, { recursive: true, force: true });
    }
  });
});

describe("OS release and CPU model", () => {
  it("parseOsRelease - gives the name and the release as PRETTY_NAME shows it, without the codename", () => {
    assert.deepEqual(parseOsRelease(fixture("os-release.txt")), { distribution: "Debian GNU/Linux", release: "12" });
    const ubuntu = 'NAME="Ubuntu"\nVERSION_ID="22.04"\nVERSION="22.04.3 LTS (Jammy Jellyfish)"\nPRETTY_NAME="Ubuntu 22.04.3 LTS"\n';
    assert.deepEqual(parseOsRelease(ubuntu), { distribution: "Ubuntu", release: "22.04.3 LTS" });
    const rocky = "NAME='Rocky Linux'\nVERSION=\"9.3 (Blue Onyx)\"\nVERSION_ID=\"9.3\"\n# a comment\n";
    assert.deepEqual(parseOsRelease(rocky), { distribution: "Rocky Linux", release: "9.3" });
    assert.deepEqual(parseOsRelease('NAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux trixie/sid"\n'), { distribution: "Debian GNU/Linux", release: "trixie/sid" });
    assert.deepEqual(parseOsRelease(""), { distribution: "Linux", release: "" });
  });

  it("parseCpuinfo - counts physical cores as distinct package and core ids, so hyperthreads are not cores", () => {
    assert.deepEqual(parseCpuinfo(fixture("cpuinfo.txt")), { model: "AMD EPYC", physicalCores: 2 });
    const cpu = (processor: number, packageId: number, coreId: number) =>
      `processor\t: ${processor}\nmodel name\t: Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz\nphysical id\t: ${packageId}\ncore id\t\t: ${coreId}\n`;
    // Two sockets of two cores, two threads each: eight logical CPUs.
    const xeon = [0, 1, 2, 3, 4, 5, 6, 7].map((p) => cpu(p, p % 4 < 2 ? 0 : 1, p % 2)).join("\n");
    assert.deepEqual(parseCpuinfo(xeon), { model: "Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz", physicalCores: 4 });
  });

  it("parseCpuinfo - names an ARM64 core from its implementer and part, as lscpu does, each CPU a core", () => {
    const arm = (p: number) => `processor\t: ${p}\nBogoMIPS\t: 243.75\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x3\nCPU part\t: 0xd0c\n`;
    assert.deepEqual(parseCpuinfo([0, 1, 2, 3].map(arm).join("\n")), { model: "ARM Neoverse-N1", physicalCores: 4 });
    assert.deepEqual(parseCpuinfo(arm(0).replace("0xd0c", "0xfff")), { model: "ARM part 0xfff", physicalCores: 1 });
  });

  it("osRelease - falls back to /usr/lib/os-release, and takes the kernel and architecture from Node", async () => {
    const root = mkdtempSync(join(tmpdir(), "netmap-os-release-"));
    try {
      mkdirSync(join(root, "etc"));
      mkdirSync(join(root, "usr-lib"));
      writeFileSync(join(root, "usr-lib", "os-release"), 'NAME="Fedora Linux"\nVERSION="40 (Server Edition)"\nVERSION_ID=40\n');
      const release = await createLinuxSource({ etc: join(root, "etc"), usrLib: join(root, "usr-lib") }).osRelease();
      assert.deepEqual(release, { distribution: "Fedora Linux", release: "40", kernel: release.kernel, architecture: process.arch });
      assert.match(release.kernel, /^\d+\.\d+/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
