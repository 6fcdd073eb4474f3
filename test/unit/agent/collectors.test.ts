import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import pino from "pino";
import { Protocol } from "../../../proto/gen/netmap/v1/report.ts";
import { collectors } from "../../../agent/src/collectors/index.ts";
import { cpuInfo, cpuUsage } from "../../../agent/src/collectors/cpu.ts";
import { diskInfo } from "../../../agent/src/collectors/disks.ts";
import { interfacesInfo } from "../../../agent/src/collectors/interfaces.ts";
import { listenersInfo } from "../../../agent/src/collectors/listeners.ts";
import { memoryInfo } from "../../../agent/src/collectors/memory.ts";
import { createMountsCollector, mountInfo, selectMounts } from "../../../agent/src/collectors/mounts.ts";
import { detectVirtualization, osInfo } from "../../../agent/src/collectors/os.ts";
import type { AgentState, Collector } from "../../../agent/src/collectors/types.ts";
import { isListening, parseMountinfo, parseProcNet, parseProcStat, type ProcStat } from "../../../agent/src/procfs.ts";
import { buildReport, collect } from "../../../agent/src/report.ts";
import { decodeReport, encodeReport } from "../../../proto/src/codec.ts";
import type { SystemSource } from "../../../agent/src/source.ts";

const json = (name: string) => JSON.parse(readFileSync(new URL(`../../fixtures/agent/${name}`, import.meta.url), "utf8"));
const text = (name: string) => readFileSync(new URL(`../../fixtures/agent/${name}`, import.meta.url), "utf8");
const machine = json("machine.json");
const lxc = json("container-lxc.json");
const [first, second] = machine.samples;
const silent = pino({ level: "silent" });

describe("os collector", () => {
  it("osInfo - reports this machine as the docker container it is, booted at btime", () => {
    const os = osInfo(machine.osRelease, machine.virtualization, machine.uptimeSeconds, first.procStat.bootTime);
    assert.equal(os.distribution, "Debian GNU/Linux");
    assert.equal(os.virtualization, "docker");
    assert.equal(os.bootTime!.getTime(), first.procStat.bootTime * 1000);
    assert.equal(os.uptimeSeconds, machine.uptimeSeconds);
  });

  it("detectVirtualization - names an LXC container from systemd's marker or, without it, from pid 1's cgroup", () => {
    assert.equal(detectVirtualization(lxc.virtualization), "lxc");
    assert.equal(detectVirtualization(lxc.virtualizationWithoutSystemd), "lxc");
  });

  it("detectVirtualization - tells KVM from plain QEMU, VMware by DMI, and bare metal as none", () => {
    const base = { dockerEnvFile: false, podmanEnvFile: false, pid1Cgroup: "0::/init.scope\n", cpuHypervisorFlag: true, dmi: {}, kvmClock: false, kernelRelease: "6.1.0-18-amd64" };
    assert.equal(detectVirtualization({ ...base, dmi: { sysVendor: "QEMU", productName: "Standard PC (i440FX + PIIX, 1996)" }, kvmClock: true }), "kvm");
    assert.equal(detectVirtualization({ ...base, dmi: { sysVendor: "QEMU" } }), "qemu");
    assert.equal(detectVirtualization({ ...base, dmi: { sysVendor: "VMware, Inc.", productName: "VMware Virtual Platform" } }), "vmware");
    assert.equal(detectVirtualization({ ...base, cpuHypervisorFlag: false, dmi: { sysVendor: "Dell Inc.", productName: "PowerEdge R640" } }), "none");
    assert.equal(detectVirtualization({ ...base, kernelRelease: "5.15.153.1-microsoft-standard-WSL2" }), "wsl");
  });
});

describe("cpu collector", () => {
  const stat = (cpu: ProcStat["cpu"]): ProcStat => ({ cpu, cpuCount: 4, perCpu: [], bootTime: 0 });
  const before = { user: 1000, nice: 0, system: 500, idle: 8000, iowait: 100, irq: 0, softirq: 0, steal: 0 };
  const after = { user: 1300, nice: 100, system: 600, idle: 9100, iowait: 200, irq: 50, softirq: 50, steal: 200 };

  it("cpuUsage - splits the ticks between two samples into per cent of all CPUs' time", () => {
    // 2000 ticks elapsed: 1100 idle, 100 iowait.
    assert.deepEqual(cpuUsage(after, before), { usagePercent: 40, userPercent: 20, systemPercent: 10, iowaitPercent: 5, stealPercent: 10 });
  });

  it("cpuInfo - leaves every rate absent on the first cycle and after a counter reset", () => {
    const first = cpuInfo({ model: "AMD EPYC", physicalCores: 2 }, stat(after), { load1: 1, load5: 2, load15: 3 }, undefined);
    assert.equal(first.logicalCores, 4);
    for (const key of ["usagePercent", "userPercent", "systemPercent", "iowaitPercent", "stealPercent"] as const) {
      assert.equal(key in first, false, key);
    }
    assert.deepEqual(cpuUsage(before, after), {});
    assert.equal(first.load15, 3);
  });

  it("cpuInfo - gives each logical CPU's seconds per mode, /proc/stat's ticks at 100 a second", () => {
    const cpu = cpuInfo(machine.cpuModel, second.procStat, machine.loadAverage, undefined);
    assert.equal(cpu.times.length, second.procStat.cpuCount);
    const line0 = text("proc-stat.txt").split("\n").find((line) => line.startsWith("cpu0 "))!;
    assert.ok(line0, "the recorded /proc/stat has a cpu0 line");
    const recorded = cpuInfo(machine.cpuModel, parseProcStat(text("proc-stat.txt")), machine.loadAverage, undefined).times[0]!;
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line0.trim().split(/\s+/).slice(1).map((ticks) => Number(ticks) / 100);
    assert.deepEqual(recorded, { cpu: 0, user, nice, system, idle, iowait, irq, softirq, steal });
    for (const time of cpu.times) assert.ok(time.idle > 0 && time.user >= 0, `cpu${time.cpu}`);
  });

  it("cpuInfo - on this machine's two recorded samples gives shares that add up", () => {
    const cpu = cpuInfo(machine.cpuModel, second.procStat, machine.loadAverage, first.procStat.cpu);
    assert.equal(cpu.logicalCores, second.procStat.cpuCount);
    const idle = 100 - cpu.usagePercent! - cpu.iowaitPercent!;
    assert.ok(idle >= 0 && idle <= 100);
    assert.ok(Math.abs(cpu.usagePercent! - (cpu.userPercent! + cpu.systemPercent! + cpu.stealPercent!)) < 1e-9);
  });
});

describe("memory collector", () => {
  it("memoryInfo - gives MemTotal in bytes, used as total minus available, buff/cache as free(1)", () => {
    const memory = memoryInfo(lxc.meminfo);
    const KiB = 1024;
    assert.deepEqual(memory, {
      totalBytes: 2097152 * KiB,
      usedBytes: (2097152 - 1835008) * KiB,
      availableBytes: 1835008 * KiB,
      buffersCacheBytes: 262144 * KiB,
      swapTotalBytes: 524288 * KiB,
      swapUsedBytes: 131072 * KiB,
      freeBytes: lxc.meminfo.MemFree * KiB,
      buffersBytes: lxc.meminfo.Buffers * KiB,
      cachedBytes: lxc.meminfo.Cached * KiB,
    });
  });

  it("memoryInfo - on this machine's meminfo reports MemTotal exactly", () => {
    assert.equal(memoryInfo(machine.meminfo).totalBytes, machine.meminfo.MemTotal * 1024);
    assert.throws(() => memoryInfo({}), /MemTotal/);
  });
});

describe("disks collector", () => {
  it("diskInfo - keeps whole disks, drops loop, ram and zram, and has no rates on the first cycle", () => {
    const { disks } = diskInfo(first.blockDevices, undefined, first.monotonicSeconds);
    const names = disks.map((d) => d.name);
    assert.ok(names.includes("vda"));
    assert.ok(names.every((name) => !/^(loop|ram|zram)\d+$/.test(name)));
    assert.ok(disks.every((d) => d.readBytesPerSecond === undefined && d.writeBytesPerSecond === undefined));
  });

  it("diskInfo - computes bytes per second from the previous cycle's counters", () => {
    const devices = [{ name: "sda", sizeBytes: 1e12, readBytes: 1000, writeBytes: 5000 }, { name: "loop0", sizeBytes: 1, readBytes: 0, writeBytes: 0 }];
    const { sample } = diskInfo(devices, undefined, 100);
    const later = diskInfo([{ name: "sda", sizeBytes: 1e12, readBytes: 21_000, writeBytes: 5000 }], sample, 110);
    assert.deepEqual(later.disks, [{ name: "sda", sizeBytes: 1e12, readBytesTotal: 21_000, writtenBytesTotal: 5000, readBytesPerSecond: 2000, writeBytesPerSecond: 0 }]);
    const recorded = diskInfo(second.blockDevices, diskInfo(first.blockDevices, undefined, first.monotonicSeconds).sample, second.monotonicSeconds);
    assert.ok(recorded.disks.every((d) => d.readBytesPerSecond! >= 0 && d.writeBytesPerSecond! >= 0));
  });
});

describe("mounts collector", () => {
  it("selectMounts - leaves out node_exporter's pseudo filesystems and mount points, and container layers", () => {
    const kept = selectMounts(parseMountinfo(lxc.mountinfo));
    assert.deepEqual(kept.map((m) => [m.mountpoint, m.fsType]), [["/", "zfs"], ["/run", "tmpfs"], ["/mnt/my data", "ext4"]]);
    const here = selectMounts(machine.mounts);
    assert.ok(here.some((m) => m.mountpoint === "/"));
    assert.ok(here.every((m) => !/^(proc|sysfs|cgroup2?|devpts|devtmpfs|overlay|mqueue)$/.test(m.fsType)));
  });

  it("mountInfo - reports size, used and available as df does, and inodes", () => {
    const entry = { mountpoint: "/mnt/my data", device: "/dev/sdb1", fsType: "ext4" };
    assert.deepEqual(mountInfo(entry, lxc.fsStats["/mnt/my data"]), {
      ...entry,
      sizeBytes: 4096_000,
      usedBytes: 600 * 4096,
      availableBytes: 350 * 4096,
      inodesTotal: 640,
      inodesUsed: 40,
    });
  });
});

describe("mounts collector on a hung NFS mount", () => {
  it("gives up on a mount that does not answer, and does not ask it again until it has answered", async () => {
    const entries = [
      { mountpoint: "/", device: "/dev/vda", fsType: "ext4" },
      { mountpoint: "/mnt/nfs", device: "filer:/export", fsType: "nfs4" },
    ];
    const stats = { blockSize: 4096, blocks: 100, blocksFree: 50, blocksAvailable: 40, files: 10, filesFree: 5 };
    const asked: string[] = [];
    let answerNfs: ((value: typeof stats) => void) | undefined;
    const source = {
      mounts: async () => entries,
      fsStats: (mountpoint: string) => {
        asked.push(mountpoint);
        const hung = mountpoint === "/mnt/nfs" && asked.filter((m) => m === mountpoint).length === 1;
        return hung ? new Promise<typeof stats>((resolve) => (answerNfs = resolve)) : Promise.resolve(stats);
      },
    } as unknown as SystemSource;
    const warnings: unknown[] = [];
    const log = pino({ level: "warn" }, { write: (line: string) => warnings.push(JSON.parse(line)) });
    const collector = createMountsCollector(20);
    const state: AgentState = {};

    const mountpoints = async () => (await collector.collect(source, state, { log })).mounts!.map((m) => m.mountpoint);
    assert.deepEqual(await mountpoints(), ["/"], "cycle 1: the NFS mount times out");
    assert.deepEqual(await mountpoints(), ["/"], "cycle 2: still hung, left out without a new call");
    assert.deepEqual(asked, ["/", "/mnt/nfs", "/"], "one statfs stays out on the hung mount, not one per cycle");
    assert.equal(warnings.length, 1);
    assert.match(JSON.stringify(warnings[0]), /"mountpoint":"\/mnt\/nfs".*statfs not answered/);

    answerNfs!(stats);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(await mountpoints(), ["/", "/mnt/nfs"], "answered: asked again and reported");
  });
});

describe("listeners collector", () => {
  const sockets = [
    ...parseProcNet(text("sample-tcp.txt"), "tcp"),
    ...parseProcNet(text("sample-tcp6.txt"), "tcp"),
    ...parseProcNet(text("sample-udp.txt"), "udp"),
  ].filter(isListening);

  it("listenersInfo - one entry per protocol, address and port, with the owner when visible", () => {
    const listeners = listenersInfo(sockets, [{ inode: 1002, pid: 500, process: "sshd" }, { inode: 2001, pid: 500, process: "sshd" }]);
    assert.deepEqual(listeners.slice(0, 3), [
      { protocol: Protocol.PROTOCOL_TCP, address: "0.0.0.0", port: 22, pid: 500, process: "sshd" },
      { protocol: Protocol.PROTOCOL_TCP, address: "::", port: 22, pid: 500, process: "sshd" },
      { protocol: Protocol.PROTOCOL_TCP, address: "2001:db8::7", port: 443, process: "" },
    ]);
    assert.equal(listeners.length, 8);
    assert.ok(listeners.some((l) => l.protocol === Protocol.PROTOCOL_UDP && l.address === "127.0.0.53" && l.port === 53));
  });

  it("listenersInfo - keeps the lowest pid among workers sharing a port", () => {
    const shared = [sockets[0]!, { ...sockets[0]!, inode: 9999 }];
    const listeners = listenersInfo(shared, [{ inode: 9999, pid: 700, process: "nginx" }, { inode: 1001, pid: 650, process: "nginx" }]);
    assert.deepEqual(listeners, [{ protocol: Protocol.PROTOCOL_TCP, address: "127.0.0.1", port: 8080, pid: 650, process: "nginx" }]);
  });

  it("listenersInfo - joins this machine's recorded sockets with their owners", () => {
    const listeners = listenersInfo(machine.listeningSockets, machine.socketOwners.owners);
    assert.ok(listeners.length > 0);
    const owned = new Set(machine.socketOwners.owners.map((o: { inode: number }) => o.inode));
    const expectedOwned = new Set(machine.listeningSockets.filter((s: { inode: number }) => owned.has(s.inode)).map((s: { address: string; port: number }) => `${s.address}:${s.port}`));
    assert.equal(listeners.filter((l) => l.pid !== undefined).length, expectedOwned.size);
  });
});

describe("interfaces collector", () => {
  it("interfacesInfo - marks the NIC with a bus device physical and lo and ifb virtual, no MAC for lo", () => {
    const { interfaces } = interfacesInfo(first.networkInterfaces, undefined, first.monotonicSeconds);
    const byName = new Map(interfaces.map((i) => [i.name, i]));
    assert.equal(byName.get("eth0")?.virtual, false);
    assert.equal(byName.get("eth0")?.up, true);
    assert.equal(byName.get("lo")?.virtual, true);
    assert.equal(byName.get("lo")?.up, true);
    assert.equal(byName.get("lo")?.mac, "");
    assert.ok(byName.get("lo")?.addresses.some((a) => a.address === "127.0.0.1" && a.prefixLength === 8));
    assert.ok(interfaces.every((i) => i.rxBytesPerSecond === undefined && i.txBytesPerSecond === undefined));
  });

  it("interfacesInfo - rates from the previous cycle; a container's veth eth0 is virtual", () => {
    const { sample } = interfacesInfo(lxc.networkInterfaces, undefined, 10);
    const grown = lxc.networkInterfaces.map((i: { rxBytes: number; txBytes: number }) => ({ ...i, rxBytes: i.rxBytes + 500, txBytes: i.txBytes + 250 }));
    const { interfaces } = interfacesInfo(grown, sample, 12);
    assert.deepEqual(interfaces[0], {
      name: "eth0",
      mac: "bc:24:11:aa:bb:cc",
      addresses: [{ address: "10.0.1.101", prefixLength: 24 }, { address: "fe80::be24:11ff:feaa:bbcc", prefixLength: 64 }],
      up: true,
      speedMbps: 10000,
      rxBytesPerSecond: 250,
      txBytesPerSecond: 125,
      virtual: true,
      rxBytesTotal: lxc.networkInterfaces[0].rxBytes + 500,
      txBytesTotal: lxc.networkInterfaces[0].txBytes + 250,
    });
  });
});

describe("a collection cycle", () => {
  const failing: Collector = { name: "broken", collect: async () => { throw new Error("no /proc here"); } };
  const memory: Collector = { name: "memory", collect: async () => ({ memory: memoryInfo(lxc.meminfo) }) };

  it("collect - times every collector, and one that throws leaves its fields empty without sinking the report", async () => {
    const collection = await collect([failing, memory], {} as SystemSource, {}, silent);
    assert.deepEqual(collection.runs.map((r) => [r.name, r.success, r.error]), [["broken", false, "no /proc here"], ["memory", true, ""]]);
    assert.ok(collection.runs.every((r) => r.durationSeconds >= 0));
    const report = buildReport({ agentId: "a1", bootId: "b1", agentVersion: "0.1.0", intervalSeconds: 10 }, "web01", 7, collection);
    assert.equal(report.seq, 7);
    assert.equal(report.memory?.totalBytes, 2097152 * 1024);
    assert.equal(report.cpu, undefined);
  });

  it("buildReport - a mount point with a newline is sent escaped, and the collector takes the report", async () => {
    const entries = selectMounts(parseMountinfo("36 35 98:0 / /srv/odd\\012Host\\040x rw - ext4 /dev/vdb rw\n"));
    assert.equal(entries[0]!.mountpoint, "/srv/odd\nHost x", "the kernel's octal escape is undone when reading");
    const stats = { blocks: 100, blocksFree: 50, blocksAvailable: 40, blockSize: 4096, files: 10, filesFree: 5 };
    const mounts: Collector = { name: "mounts", collect: async () => ({ mounts: entries.map((e) => mountInfo(e, stats)) }) };
    const repairs: string[][] = [];
    const report = buildReport({ agentId: "a1", bootId: "b1", agentVersion: "0.1.0", intervalSeconds: 10 }, "web01", 1, await collect([mounts], {} as SystemSource, {}, silent), undefined, (r) => repairs.push(r));
    assert.equal(report.mounts[0]!.mountpoint, "/srv/odd\\x0aHost x");
    assert.deepEqual(repairs, [['mounts[0].mountpoint "/srv/odd\\x0aHost x" holds a control character']]);
    assert.equal(decodeReport(encodeReport(report)).mounts[0]!.mountpoint, "/srv/odd\\x0aHost x");
  });

  it("collectors - registers the seven collectors in report order", () => {
    assert.deepEqual(collectors.map((c) => c.name), ["os", "cpu", "memory", "disks", "mounts", "listeners", "interfaces"]);
  });
});
