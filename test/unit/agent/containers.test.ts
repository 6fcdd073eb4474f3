import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { cgroupCpuPercent, containerInfo, cpuPercent, eventChanges, eventContainer, formatPorts, statsFigures } from "../../../agent/src/collectors/containers.ts";
import { cgroupPaths, containerCgroup, netDevTotals, readContainerUsage } from "../../../agent/src/container-usage.ts";

// Shapes as Docker 20.10's Engine API answers (/containers/json, /containers/{id}/json, /stats?one-shot=true).
const ID = "82db82937c74504210f757c5684a88454931d622be896814ab3ed63fdeb90872";
const entry = {
  Id: ID, Names: ["/web"], Image: "nginx:1.25", State: "running",
  Labels: { "com.docker.compose.project": "shop", "com.docker.compose.service": "web" },
  NetworkSettings: { Networks: {
    shop_default: { IPAddress: "172.18.0.3", GlobalIPv6Address: "", MacAddress: "02:42:AC:12:00:03" },
    backend: { IPAddress: "", GlobalIPv6Address: "fd00:dead::3", MacAddress: "02:42:ac:13:00:03" },
  } },
  Ports: [{ IP: "0.0.0.0", PrivatePort: 80, PublicPort: 8080, Type: "tcp" }, { IP: "::", PrivatePort: 80, PublicPort: 8080, Type: "tcp" }, { PrivatePort: 443, Type: "tcp" }] };
const inspect = { RestartCount: 2, State: { Status: "running", StartedAt: "2026-12-01T13:00:33.938123456Z", ExitCode: 0, Health: { Status: "healthy" } } };
const stats = (container: number, system: number) => ({
  cpu_stats: { cpu_usage: { total_usage: container }, system_cpu_usage: system, online_cpus: 2 },
  memory_stats: { usage: 50_000_000, limit: 1_073_741_824, stats: { inactive_file: 10_000_000 } },
  networks: { eth0: { rx_bytes: 1000, tx_bytes: 200 }, eth1: { rx_bytes: 24, tx_bytes: 6 } },
});

describe("containers", () => {
  test("reads a running container's identity, health, restarts, ports, memory and network", () => {
    const container = containerInfo(entry, inspect, statsFigures(stats(5e9, 100e9), 12.5), "docker");
    assert.deepEqual(container, {
      id: ID, name: "web", image: "nginx:1.25", state: "running", health: "healthy", restartCount: 2, startedAt: new Date("2026-12-01T13:00:33.938Z"), exitCode: undefined,
      ports: ["0.0.0.0:8080->80/tcp", "443/tcp", "[::]:8080->80/tcp"], cpuPercent: 12.5, memoryUsedBytes: 40_000_000, memoryLimitBytes: 1_073_741_824,
      networkRxBytes: 1024, networkTxBytes: 206, engine: "docker",
      networks: [{ name: "backend", address: "fd00:dead::3", mac: "02:42:ac:13:00:03" }, { name: "shop_default", address: "172.18.0.3", mac: "02:42:ac:12:00:03" }],
      labels: { "com.docker.compose.project": "shop", "com.docker.compose.service": "web" },
    });
  });

  test("computes CPU as docker stats does, from the sample before", () => {
    assert.deepEqual(cpuPercent(stats(5e9, 100e9), undefined), { sample: { container: 5e9, system: 100e9 } });
    assert.equal(cpuPercent(stats(6e9, 110e9), { container: 5e9, system: 100e9 }).percent, 20, "1 s of the container's CPU in 10 s of the host's 2 CPUs' time: 20 % of a core");
    assert.equal(cpuPercent(stats(1e9, 110e9), { container: 5e9, system: 100e9 }).percent, undefined, "a restarted container's counter went back");
    assert.deepEqual(cpuPercent({}, undefined), {});
  });

  test("an exited container has its exit code and no figures; one never started has no start time", () => {
    const exited = containerInfo({ ...entry, State: "exited" }, { RestartCount: 0, State: { Status: "exited", StartedAt: "2026-12-01T13:00:33Z", ExitCode: 137 } }, statsFigures(stats(1, 1), 3), "podman");
    assert.deepEqual([exited.state, exited.exitCode, exited.health, exited.memoryUsedBytes, exited.cpuPercent, exited.engine], ["exited", 137, "", undefined, undefined, "podman"], "figures of its last run are not shown");
    const created = containerInfo({ Id: ID }, { State: { Status: "created", StartedAt: "0001-01-01T00:00:00Z" } }, undefined, "docker");
    assert.deepEqual([created.name, created.startedAt, created.exitCode], ["82db82937c74", undefined, undefined]);
  });

  test("a container on no network (host or none mode, an engine without the field) has none", () => {
    assert.deepEqual(containerInfo({ Id: ID, NetworkSettings: { Networks: null } }, inspect, undefined, "docker").networks, []);
    assert.deepEqual(containerInfo({ Id: ID, Labels: null }, inspect, undefined, "docker").labels, {});
  });

  test("lists each published port once, in order", () => {
    assert.deepEqual(formatPorts([{ IP: "127.0.0.1", PrivatePort: 5432, PublicPort: 5432, Type: "tcp" }, { IP: "127.0.0.1", PrivatePort: 5432, PublicPort: 5432, Type: "tcp" }, { PrivatePort: 53, Type: "udp" }]), ["127.0.0.1:5432->5432/tcp", "53/udp"]);
    assert.deepEqual(formatPorts(undefined), []);
  });

  // As read on a Debian 12 host with cgroup v1 (hybrid) under Podman 4.3's cgroupfs manager, and as systemd's v2 writes them.
  const PODMAN_V1_CGROUP = [
    "9:name=systemd:/libpod_parent/libpod-de6427", "8:pids:/libpod_parent/libpod-de6427", "4:memory:/libpod_parent/libpod-de6427",
    "2:cpuacct:/libpod_parent/libpod-de6427", "1:cpu:/libpod_parent/libpod-de6427", "0::/libpod_parent/libpod-de6427", "",
  ].join("\n");
  const NET_DEV = [
    "Inter-|   Receive                                                |  Transmit",
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed",
    "    lo:     500       5    0    0    0     0          0         0      500       5    0    0    0     0       0          0",
    "  eth0:    1000      10    0    0    0     0          0         0      200       2    0    0    0     0       0          0",
    "  eth1:      24       1    0    0    0     0          0         0        6       1    0    0    0     0       0          0", "",
  ].join("\n");
  const reader = (files: Record<string, string>) => (path: string) => files[path];

  test("finds a container's cgroup per controller (v1) or unified (v2) from its main process", () => {
    assert.deepEqual(cgroupPaths(PODMAN_V1_CGROUP), { unified: "/libpod_parent/libpod-de6427", memory: "/libpod_parent/libpod-de6427", cpuacct: "/libpod_parent/libpod-de6427" });
    assert.deepEqual(cgroupPaths("0::/system.slice/docker-82db.scope\n"), { unified: "/system.slice/docker-82db.scope" });
    assert.deepEqual(cgroupPaths("4:cpu,cpuacct:/docker/82db\n"), { cpuacct: "/docker/82db" });
    assert.deepEqual(netDevTotals(NET_DEV), { rx: 1024, tx: 206 }, "every interface but lo");
    assert.equal(netDevTotals(NET_DEV.split("\n").slice(0, 3).join("\n")), undefined, "lo only: no network figures, as the Engine API gives none");
  });

  const roots = { proc: "/p", sys: "/s" };

  test("reads CPU time, working set and network from cgroup v1; no limit there, none given", () => {
    const dir = "/libpod_parent/libpod-de6427";
    const read = reader({
      "/p/4242/cgroup": PODMAN_V1_CGROUP, "/p/4242/net/dev": NET_DEV,
      [`/s/fs/cgroup/memory${dir}/memory.usage_in_bytes`]: "348160\n", [`/s/fs/cgroup/memory${dir}/memory.limit_in_bytes`]: "9223372036854771712\n",
      [`/s/fs/cgroup/memory${dir}/memory.stat`]: "cache 8192\ninactive_file 4096\ntotal_inactive_file 8192\n", [`/s/fs/cgroup/cpuacct${dir}/cpuacct.usage`]: "23942723\n",
    });
    const cgroup = containerCgroup(4242, read, roots)!;
    assert.deepEqual(cgroup, { version: 1, memoryDir: `/s/fs/cgroup/memory${dir}`, cpuFile: `/s/fs/cgroup/cpuacct${dir}/cpuacct.usage` });
    assert.deepEqual(readContainerUsage(4242, cgroup, read, "/p"), { cpuSeconds: 0.023942723, memoryUsedBytes: 339_968, memoryLimitBytes: undefined, networkRxBytes: 1024, networkTxBytes: 206 }, "the hierarchy's total_inactive_file");
  });

  test("reads cgroup v2 with its limit, and gives nothing where the agent cannot see the cgroup", () => {
    const dir = "/s/fs/cgroup/system.slice/docker-82db.scope";
    const files = {
      "/p/7/cgroup": "0::/system.slice/docker-82db.scope\n", [`${dir}/memory.current`]: "50000000\n", [`${dir}/memory.max`]: "1073741824\n",
      [`${dir}/memory.stat`]: "anon 1\ninactive_file 10000000\n", [`${dir}/cpu.stat`]: "usage_usec 5000000\nuser_usec 1\n",
    };
    const cgroup = containerCgroup(7, reader(files), roots)!;
    assert.deepEqual(cgroup, { version: 2, memoryDir: dir, cpuFile: `${dir}/cpu.stat` });
    assert.deepEqual(readContainerUsage(7, cgroup, reader(files), "/p"), { cpuSeconds: 5, memoryUsedBytes: 40_000_000, memoryLimitBytes: 1_073_741_824, networkRxBytes: undefined, networkTxBytes: undefined });
    assert.equal(containerCgroup(8, reader(files), roots), undefined, "no such process");
    assert.equal(containerCgroup(0, reader(files), roots), undefined, "no main process (Pid 0)");
    assert.equal(readContainerUsage(7, cgroup, reader({ "/p/7/cgroup": files["/p/7/cgroup"] }), "/p"), undefined, "another cgroup namespace's path, or the container stopped");
  });

  test("an engine event about a container names it; a healthcheck's exec changes nothing reported", () => {
    // As Docker 20.10 writes them on /events (Podman's compatible service: the same fields).
    const die = { Type: "container", Action: "die", Actor: { ID: ID, Attributes: { exitCode: "137", name: "web" } } };
    const connect = { Type: "network", Action: "connect", Actor: { ID: "5f3a", Attributes: { container: ID, name: "shop_default", type: "bridge" } } };
    const health = { Type: "container", Action: "health_status: unhealthy", Actor: { ID: ID, Attributes: {} } };
    assert.deepEqual([die, connect, health].map(eventContainer), [ID, ID, ID]);
    assert.deepEqual([die, connect, health].map(eventChanges), [true, true, true]);
    assert.deepEqual(["exec_create: /bin/false", "exec_start: /bin/false", "exec_die"].map((Action) => eventChanges({ ...health, Action })), [false, false, false]);
    assert.equal(eventContainer({ Type: "network", Action: "create", Actor: { ID: "5f3a", Attributes: { name: "n" } } }), undefined, "a network created: no container");
  });

  test("CPU from cgroup time: per cent of one core over the time between two readings", () => {
    assert.equal(cgroupCpuPercent({ cpuSeconds: 6, atSeconds: 110 }, { cpuSeconds: 5, atSeconds: 100 }), 10);
    assert.equal(cgroupCpuPercent({ cpuSeconds: 1, atSeconds: 110 }, { cpuSeconds: 5, atSeconds: 100 }), undefined, "restarted: its counter went back");
    assert.equal(cgroupCpuPercent({ cpuSeconds: 1, atSeconds: 110 }, undefined), undefined);
  });
});
