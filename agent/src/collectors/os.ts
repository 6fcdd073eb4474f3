import type { OsInfo } from "../../../proto/gen/netmap/v1/report.ts";
import type { OsRelease, VirtualizationEvidence } from "../source.ts";
import type { Collector } from "./types.ts";

export const osCollector: Collector = {
  name: "os",
  async collect(source) {
    const [release, evidence, uptimeSeconds, stat] = await Promise.all([
      source.osRelease(),
      source.virtualization(),
      source.uptimeSeconds(),
      source.procStat(),
    ]);
    return { os: osInfo(release, evidence, uptimeSeconds, stat.bootTime) };
  },
};

export function osInfo(release: OsRelease, evidence: VirtualizationEvidence, uptimeSeconds: number, bootTimeSeconds: number): OsInfo {
  return {
    distribution: release.distribution,
    release: release.release,
    kernel: release.kernel,
    architecture: release.architecture,
    virtualization: detectVirtualization(evidence),
    uptimeSeconds,
    // btime is whole seconds, exact, and immune to the drift of now - uptime.
    bootTime: new Date(bootTimeSeconds * 1000),
  };
}

const DMI_VENDORS: [RegExp, string][] = [
  [/^KVM|Red Hat KVM|OpenStack/i, "kvm"],
  [/^QEMU/i, "qemu"],
  [/VMware/i, "vmware"],
  [/innotek|VirtualBox|Oracle Corporation/i, "oracle"],
  [/^Xen/i, "xen"],
  [/Bochs/i, "bochs"],
  [/Parallels/i, "parallels"],
  [/BHYVE/i, "bhyve"],
  [/Amazon EC2/i, "amazon"],
  [/^Google/i, "google"],
  [/Microsoft Corporation|Virtual Machine/i, "microsoft"],
];

/**
 * The name systemd-detect-virt would print, from files rather than by running
 * it: a container if there is one (the innermost layer is what the host is to
 * its users), else the hypervisor, else "none".
 */
export function detectVirtualization(e: VirtualizationEvidence): string {
  if (e.systemdContainer) return e.systemdContainer;
  if (e.pid1ContainerEnv) return e.pid1ContainerEnv === "oci" ? "podman" : e.pid1ContainerEnv;
  if (/microsoft|wsl/i.test(e.kernelRelease)) return "wsl";
  if (e.podmanEnvFile) return "podman";
  if (e.dockerEnvFile) return "docker";
  if (/\/lxc[./]|\/lxc\.payload/.test(e.pid1Cgroup)) return "lxc";
  if (/\/docker[/-]/.test(e.pid1Cgroup)) return "docker";
  if (e.hypervisorType === "xen") return "xen";
  for (const value of [e.dmi.sysVendor, e.dmi.productName, e.dmi.boardVendor, e.dmi.biosVendor]) {
    const match = value && DMI_VENDORS.find(([pattern]) => pattern.test(value));
    if (match) return match[1] === "qemu" && e.kvmClock ? "kvm" : match[1];
  }
  if (e.cpuHypervisorFlag) return e.kvmClock ? "kvm" : "vm-other";
  return "none";
}
