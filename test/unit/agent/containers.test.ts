import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { containerInfo, cpuPercent, formatPorts } from "../../../agent/src/collectors/containers.ts";

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
    const container = containerInfo(entry, inspect, { stats: stats(5e9, 100e9), cpuPercent: 12.5 }, "docker");
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
    const exited = containerInfo({ ...entry, State: "exited" }, { RestartCount: 0, State: { Status: "exited", StartedAt: "2026-12-01T13:00:33Z", ExitCode: 137 } }, { stats: stats(1, 1), cpuPercent: 3 }, "podman");
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
});
