// The pure parts of container control and `netmap run`: the remote command line (every
// NetMap value one literal word for the remote shell), the selection, the grouping of
// results; and what a report's container listing is (complete or not) and its digest.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, test } from "node:test";
import { HostReport } from "../../../proto/gen/netmap/v1/report.ts";
import { engineCommand } from "../../../collector/src/containers/control.ts";
import { listingDigest, listingOf } from "../../../collector/src/containers/store.ts";
import { selectHosts, type Selection } from "../../../collector/src/fleet/select.ts";
import { describeGroup, groupResults, progressLine, summarize, type HostRun } from "../../../collector/src/fleet/run.ts";
import { shellWord } from "../../../collector/src/text/escape.ts";
import type { Topology, TopologyHost } from "../../../collector/src/topology/model.ts";

/** What a POSIX shell makes of a command line: its words, as `sh -c` hands them to printf. */
function shellWords(line: string): string[] {
  const result = spawnSync("sh", ["-c", `printf '%s\\0' ${line}`], { encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.split("\0").slice(0, -1);
}

describe("container control: the remote command", () => {
  test("docker at the agent's socket, podman with --url, docker's default without a socket", () => {
    assert.deepEqual(engineCommand("restart", { engine: "docker", socket: "/run/docker.sock", name: "web" }), ["docker", "--host", "unix:///run/docker.sock", "restart", "--", "web"]);
    assert.deepEqual(engineCommand("stop", { engine: "podman", socket: "/run/podman/podman.sock", name: "db" }), ["podman", "--url", "unix:///run/podman/podman.sock", "stop", "--", "db"]);
    assert.deepEqual(engineCommand("start", { engine: "", socket: "", name: "web" }), ["docker", "start", "--", "web"]);
    assert.deepEqual(engineCommand("logs", { engine: "docker", socket: "", name: "web" }, { follow: true, lines: 20 }), ["docker", "logs", "--tail", "20", "--follow", "--", "web"]);
  });

  test("refuses a name, socket or engine that is not one, rather than quoting it into something else", () => {
    assert.throws(() => engineCommand("restart", { engine: "docker", socket: "", name: "web;reboot" }), /is not a container name/);
    assert.throws(() => engineCommand("restart", { engine: "docker", socket: "/run/$(reboot).sock", name: "web" }), /not a plain absolute path/);
    assert.throws(() => engineCommand("restart", { engine: "sh -c", socket: "", name: "web" }), /unknown container engine/);
  });

  test("shellWord: whatever a value holds, the remote shell reads it as that one word", () => {
    for (const value of ["plain", "with space", "it's", "$(reboot)", "`id`", "a\nb", "*", "'", "\\", "-rf", ""]) {
      assert.deepEqual(shellWords(shellWord(value)), [value], JSON.stringify(value));
    }
    assert.equal(shellWord("unix:///run/docker.sock"), "unix:///run/docker.sock", "plain words stay as they are");
  });
});

const host = (name: string, extra: Partial<TopologyHost> = {}): TopologyHost => ({
  name, kind: "server", address: `192.0.2.${name.length}`, ssh: { user: "root", port: 22 }, via: null, parent: null, labels: {}, source: "person", ...extra,
});
const topology: Topology = {
  clients: [
    { name: "acme", sites: [
      { name: "dc1", bastion: "bastion", hosts: [host("bastion"), host("web1", { labels: { role: "web" } }), host("db1", { labels: { role: "db" } }), host("web1c", { kind: "container", address: null, parent: "web1" })] },
      { name: "dc2", bastion: null, hosts: [host("web2", { labels: { role: "web" } }), host("lost", { via: "nowhere" })] },
    ] },
    { name: "beta", sites: [{ name: "dc1", bastion: null, hosts: [host("web9", { labels: { role: "web" } })] }] },
    { name: "unassigned", sites: [{ name: "unassigned", bastion: null, hosts: [host("stray")] }] },
  ],
};
const none: Selection = { hosts: [], client: "", site: "", labels: {}, all: false };

describe("netmap run: the selection", () => {
  test("filters take the placed hosts with an address matching every filter, sorted, each with its route", () => {
    const names = (selection: Partial<typeof none>) => selectHosts(topology, { ...none, ...selection }).map((h) => h.host);
    assert.deepEqual(names({ site: "dc1" }), ["acme/dc1/bastion", "acme/dc1/db1", "acme/dc1/web1", "beta/dc1/web9"]);
    assert.deepEqual(names({ client: "acme", site: "dc1" }), ["acme/dc1/bastion", "acme/dc1/db1", "acme/dc1/web1"]);
    assert.deepEqual(names({ labels: { role: "web" } }), ["acme/dc1/web1", "acme/dc2/web2", "beta/dc1/web9"]);
    assert.deepEqual(names({ all: true }), ["acme/dc1/bastion", "acme/dc1/db1", "acme/dc1/web1", "acme/dc2/lost", "acme/dc2/web2", "beta/dc1/web9"], "no container (no address), nothing unassigned");
    assert.deepEqual(names({ hosts: ["db1"], labels: { role: "web" }, client: "beta" }), ["acme/dc1/db1", "beta/dc1/web9"], "named hosts, and the filtered ones");
    const web1 = selectHosts(topology, { ...none, hosts: ["acme/dc1/web1"] })[0]!;
    assert.deepEqual(web1.hops.map((h) => h.name), ["bastion", "web1"]);
  });

  test("a host with no route is selected with the reason; an unknown name or an empty selection is refused", () => {
    const lost = selectHosts(topology, { ...none, site: "dc2" }).find((h) => h.host === "acme/dc2/lost")!;
    assert.deepEqual(lost.hops, []);
    assert.match(lost.error, /nowhere/);
    assert.throws(() => selectHosts(topology, { ...none, hosts: ["nosuch"] }), /no host "nosuch"/);
    assert.throws(() => selectHosts(topology, none), /name hosts, or give --client, --site, --label or --all/);
  });
});

describe("netmap run: results", () => {
  const result = (host: string, extra: Partial<HostRun>): HostRun => ({ host, status: "ok", exitCode: 0, stdout: "", stderr: "", durationMs: 1, ...extra });
  const results = [
    result("a", { stdout: "same\n" }), result("b", { status: "timeout", exitCode: null }), result("c", { stdout: "same\n" }),
    result("d", { status: "failed", exitCode: 2, stderr: "no\n" }), result("e", { status: "unreachable", exitCode: 255, stderr: "ssh: connect refused" }),
  ];

  test("identical outcomes are grouped, in the order they first appear", () => {
    assert.deepEqual(groupResults(results).map((g) => describeGroup(g, 5000)), [
      "== a, c: exit 0", "== b: timed out after 5 s", "== d: exit 2", "== e: unreachable (ssh exit 255)",
    ]);
    assert.equal(summarize(results), "2 ok, 1 failed, 1 timed out, 1 unreachable");
    assert.equal(progressLine({ done: 3, total: 5, running: 2, counts: { ok: 2, failed: 1, timeout: 0, unreachable: 0 } }), "[3/5] 2 ok, 1 failed, 0 timed out, 0 unreachable; 2 running");
  });
});

describe("a report's container listing", () => {
  const web = { id: "82db82937c74504210f757c5684a88454931d622be896814ab3ed63fdeb90872", name: "web", image: "nginx", state: "running", health: "", restartCount: 0, ports: [], engine: "docker", networks: [], labels: {} };

  test("complete when the agent names the engine it listed; else stale, saying why", () => {
    const listed = listingOf(HostReport.fromPartial({ containers: [web], containerEngine: { name: "docker", socket: "/run/docker.sock" } }));
    assert.deepEqual([listed.staleReason, listed.engine, listed.containers.map((c) => c.name)], [null, { name: "docker", socket: "/run/docker.sock" }, ["web"]]);
    const failed = listingOf(HostReport.fromPartial({ collectors: [{ name: "containers", success: false, error: "connect ENOENT /run/docker.sock" }] }));
    assert.equal(failed.staleReason, "the container engine did not answer: connect ENOENT /run/docker.sock");
    assert.equal(listingOf(HostReport.fromPartial({})).staleReason, "the agent listed no container engine");
  });

  test("the digest changes with what the map shows, not with the figures of each report", () => {
    const digest = (container: object) => listingDigest(listingOf(HostReport.fromPartial({ containers: [{ ...web, ...container }], containerEngine: { name: "docker", socket: "/s" } })));
    assert.equal(digest({ cpuPercent: 3, memoryUsedBytes: 10, restartCount: 1 }), digest({ cpuPercent: 90, memoryUsedBytes: 99, restartCount: 1 }));
    assert.notEqual(digest({ state: "running" }), digest({ state: "exited" }));
    assert.notEqual(digest({ labels: { a: "1" } }), digest({ labels: { a: "2" } }));
    assert.equal(digest({ labels: { a: "1", b: "2" } }), digest({ labels: { b: "2", a: "1" } }), "label order is no change");
  });
});
