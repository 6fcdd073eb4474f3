import type { Disk } from "../../../proto/gen/netmap/v1/report.ts";
import type { BlockDeviceSample } from "../source.ts";
import { byName, ratePerSecond, type Collector, type CounterSample } from "./types.ts";

export const disksCollector: Collector = {
  name: "disks",
  async collect(source, state) {
    const devices = await source.blockDevices();
    const { disks, sample } = diskInfo(devices, state.disks, source.monotonicSeconds());
    state.disks = sample;
    return { disks };
  },
};

// As node_exporter's diskstats device-exclude: RAM disks, zram, loop devices and
// floppies are not disks. /sys/block lists no partitions, so none to filter.
const NOT_A_DISK = /^(z?ram|loop|fd)\d+$/;

export function diskInfo(devices: BlockDeviceSample[], previous: CounterSample | undefined, nowSeconds: number): { disks: Disk[]; sample: CounterSample } {
  const kept = devices.filter((device) => !NOT_A_DISK.test(device.name)).sort((a, b) => byName(a.name, b.name));
  const elapsed = previous ? nowSeconds - previous.atSeconds : 0;
  const disks = kept.map((device): Disk => {
    const before = previous?.counters[device.name];
    const read = ratePerSecond(device.readBytes, before?.a, elapsed);
    const write = ratePerSecond(device.writeBytes, before?.b, elapsed);
    return {
      name: device.name,
      sizeBytes: device.sizeBytes,
      readBytesTotal: device.readBytes,
      writtenBytesTotal: device.writeBytes,
      ...(read !== undefined && { readBytesPerSecond: read }),
      ...(write !== undefined && { writeBytesPerSecond: write }),
    };
  });
  const counters = Object.fromEntries(kept.map((device) => [device.name, { a: device.readBytes, b: device.writeBytes }]));
  return { disks, sample: { atSeconds: nowSeconds, counters } };
}
