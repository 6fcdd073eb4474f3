// The programs the tests run as real peers, and the Debian package of each: the one list
// `npm test` checks and, as root, installs from (scripts/test.ts). .ci/run only starts services.
import { findExecutable } from "./commands.ts";

export interface TestProgram {
  program: string;
  pkg: string;
  /** What needs it, for the message a non-root user reads. */
  why: string;
}

export const TEST_PROGRAMS: readonly TestProgram[] = [
  { program: "nats-server", pkg: "nats-server", why: "the tests start their own NATS" },
  { program: "prometheus", pkg: "prometheus", why: "a real Prometheus scrapes /metrics/hosts" },
  { program: "promtool", pkg: "prometheus", why: "promtool check metrics" },
  { program: "prometheus-alertmanager", pkg: "prometheus-alertmanager", why: "alerts are sent to a real Alertmanager" },
  { program: "dot", pkg: "graphviz", why: "the map's DOT is rendered by Graphviz" },
  { program: "ansible-inventory", pkg: "ansible-core", why: "the dynamic inventory and the rollout role" },
  { program: "ansible-lint", pkg: "ansible-lint", why: "deploy/ansible passes its production profile" },
  { program: "systemd-analyze", pkg: "systemd", why: "the agent unit passes systemd-analyze verify" },
  { program: "chromium", pkg: "chromium", why: "the status page is driven in Chromium" },
  { program: "sshd", pkg: "openssh-server", why: "SSH through bastions runs real sshd" },
  { program: "ssh", pkg: "openssh-client", why: "netmap ssh execs OpenSSH" },
  { program: "ip", pkg: "iproute2", why: "network namespaces for isolation tests" },
  { program: "snmpd", pkg: "snmpd", why: "the SNMP poller polls real snmpd in network namespaces" },
  { program: "lldpd", pkg: "lldpd", why: "LLDP neighbours come from lldpd as snmpd's AgentX sub-agent" },
  { program: "openssl", pkg: "openssl", why: "certificates that expire in 5 days for the agent's https checks" },
  { program: "dockerd", pkg: "docker.io", why: "the agent reads containers from a real Docker daemon" },
  { program: "busybox", pkg: "busybox-static", why: "the image the test Docker daemon runs, imported from its rootfs" },
  { program: "faketime", pkg: "faketime", why: "an agent's clock set an hour off (test/faults)" },
  { program: "podman", pkg: "podman", why: "the agent reads containers through Podman's Docker-compatible API socket" },
  { program: "fail2ban-server", pkg: "fail2ban", why: "the agent reports fail2ban's jails and bans" },
  { program: "docker", pkg: "docker.io", why: "netmap container runs the docker CLI on the container's host" },
  { program: "xz", pkg: "xz-utils", why: "netmap agent install sends the agent xz-compressed (the rollout tests)" },
  { program: "journalctl", pkg: "systemd", why: "the agent follows sshd's entries in a real systemd-journald" },
];

/** The programs not found, on PATH or in the sbin directories Debian puts daemons in. */
export function missingTestPrograms(find: (program: string) => string | undefined = (p) => findExecutable(p, ["/usr/sbin", "/usr/local/sbin", "/sbin"])): TestProgram[] {
  return TEST_PROGRAMS.filter(({ program }) => !find(program));
}

/** Each package once, in the list's order. */
export function packagesOf(programs: readonly TestProgram[]): string[] {
  return [...new Set(programs.map((p) => p.pkg))];
}
