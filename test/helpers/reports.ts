// HostReports for tests, complete enough for every column the collector stores.
import { HostReport, Protocol } from "../../proto/gen/netmap/v1/report.ts";
import type { DeepPartial } from "../../proto/gen/netmap/v1/report.ts";

export function sampleReport(overrides: DeepPartial<HostReport> = {}): HostReport {
  const GiB = 1024 ** 3;
  return HostReport.fromPartial({
    agentId: "test-agent",
    hostname: "web01",
    bootId: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
    seq: 1,
    collectedAt: new Date(),
    agentVersion: "0.1.0",
    intervalSeconds: 10,
    os: { distribution: "Debian GNU/Linux", release: "12", kernel: "6.1.0-18-amd64", architecture: "x64", virtualization: "kvm", uptimeSeconds: 3600, bootTime: new Date(Date.now() - 3600_000) },
    cpu: { logicalCores: 4, physicalCores: 2, model: "Test CPU", usagePercent: 12.5, userPercent: 8, systemPercent: 4, iowaitPercent: 0.5, stealPercent: 0, load1: 0.5, load5: 0.4, load15: 0.3,
      times: [0, 1, 2, 3].map((cpu) => ({ cpu, user: 100 + cpu, nice: 1, system: 50, idle: 3000, iowait: 2, irq: 0, softirq: 1, steal: 0 })) },
    memory: { totalBytes: 8 * GiB, usedBytes: 2 * GiB, availableBytes: 6 * GiB, buffersCacheBytes: 1 * GiB, swapTotalBytes: 1 * GiB, swapUsedBytes: 0,
      freeBytes: 4 * GiB, buffersBytes: 0.25 * GiB, cachedBytes: 0.75 * GiB },
    disks: [{ name: "vda", sizeBytes: 100 * GiB, readBytesPerSecond: 1000, writeBytesPerSecond: 2000, readBytesTotal: 5 * GiB, writtenBytesTotal: 7 * GiB }],
    mounts: [
      { mountpoint: "/", device: "/dev/vda1", fsType: "ext4", sizeBytes: 100 * GiB, usedBytes: 60 * GiB, availableBytes: 35 * GiB, inodesTotal: 6_000_000, inodesUsed: 300_000 },
      { mountpoint: "/boot", device: "/dev/vda2", fsType: "ext4", sizeBytes: 1 * GiB, usedBytes: 200 * 1024 ** 2, availableBytes: 750 * 1024 ** 2, inodesTotal: 65_536, inodesUsed: 400 },
    ],
    listeners: [
      { protocol: Protocol.PROTOCOL_TCP, address: "0.0.0.0", port: 22, pid: 500, process: "sshd" },
      { protocol: Protocol.PROTOCOL_UDP, address: "127.0.0.1", port: 323, process: "" },
    ],
    interfaces: [
      { name: "lo", mac: "00:00:00:00:00:00", addresses: [{ address: "127.0.0.1", prefixLength: 8 }], up: true, virtual: true },
      { name: "eth0", mac: "52:54:00:12:34:56", addresses: [{ address: "192.0.2.10", prefixLength: 24 }, { address: "fe80::5054:ff:fe12:3456", prefixLength: 64 }], up: true, speedMbps: 1000, rxBytesPerSecond: 100, txBytesPerSecond: 50, virtual: false, rxBytesTotal: 123_456, txBytesTotal: 65_432 },
    ],
    collectors: [{ name: "memory", success: true, durationSeconds: 0.001, error: "" }],
    ...overrides,
  });
}
