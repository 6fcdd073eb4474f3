import type { NetworkInterface } from "../../../proto/gen/netmap/v1/report.ts";
import type { InterfaceSample } from "../source.ts";
import { byName, ratePerSecond, type Collector, type CounterSample } from "./types.ts";

export const interfacesCollector: Collector = {
  name: "interfaces",
  async collect(source, state) {
    const samples = await source.networkInterfaces();
    const { interfaces, sample } = interfacesInfo(samples, state.interfaces, source.monotonicSeconds());
    state.interfaces = sample;
    return { interfaces };
  },
};

const IFF_UP = 0x1;
const NO_MAC = /^(00:)*00$/;

export function interfacesInfo(samples: InterfaceSample[], previous: CounterSample | undefined, nowSeconds: number): { interfaces: NetworkInterface[]; sample: CounterSample } {
  const sorted = [...samples].sort((a, b) => byName(a.name, b.name));
  const elapsed = previous ? nowSeconds - previous.atSeconds : 0;
  const interfaces = sorted.map((sample): NetworkInterface => {
    const before = previous?.counters[sample.name];
    const rx = ratePerSecond(sample.rxBytes, before?.a, elapsed);
    const tx = ratePerSecond(sample.txBytes, before?.b, elapsed);
    return {
      name: sample.name,
      mac: NO_MAC.test(sample.mac) ? "" : sample.mac,
      addresses: sample.addresses.map(({ address, prefixLength }) => ({ address, prefixLength })),
      up: isUp(sample),
      ...(sample.speedMbps !== undefined && { speedMbps: sample.speedMbps }),
      ...(rx !== undefined && { rxBytesPerSecond: rx }),
      ...(tx !== undefined && { txBytesPerSecond: tx }),
      virtual: isVirtual(sample),
      rxBytesTotal: sample.rxBytes,
      txBytesTotal: sample.txBytes,
    };
  });
  const counters = Object.fromEntries(sorted.map((s) => [s.name, { a: s.rxBytes, b: s.txBytes }]));
  return { interfaces, sample: { atSeconds: nowSeconds, counters } };
}

/** Administratively up and not known to be down: loopback and many virtual links say "unknown". */
export function isUp(sample: InterfaceSample): boolean {
  return (sample.flags & IFF_UP) !== 0 && (sample.operstate === "up" || sample.operstate === "unknown");
}

/**
 * A NIC has a bus device behind /sys/class/net/<if>/device; loopback, bridges,
 * veth, docker0, virbr*, ifb and most tun/tap do not. Bridges and tun/tap are
 * checked by their own markers too, for drivers that attach a device anyway.
 */
export function isVirtual(sample: InterfaceSample): boolean {
  return !sample.hasDevice || sample.isBridge || sample.isTun;
}
