// The admin CLI against a real collector over gRPC: `netmap serve` (in this process, private
// NATS, fresh database) and the real `netmap` commands as child processes.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { connect as connectHttp2 } from "node:http2";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { credentials, Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { NetMapAdminClient } from "../../proto/gen/netmap/v1/admin.ts";
import { encodeReport } from "../../proto/src/codec.ts";
import { reportMessageId, reportSubject } from "../../proto/src/subjects.ts";
import { NETMAP_MAIN as MAIN, startCliTestbed, type CliTestbed } from "../helpers/cli.ts";
import type { TestCollector } from "../helpers/collector.ts";
import { sampleReport } from "../helpers/reports.ts";
import { eventually } from "../helpers/wait.ts";
import { freePort, type TestNatsServer } from "../helpers/nats-server.ts";
import type { TestDatabase } from "../helpers/postgres.ts";
import { runProgram } from "../helpers/run.ts";

const FIXTURE_PATH = new URL("../fixtures/topology/two-clients.yaml", import.meta.url).pathname;
const FIXTURE = readFileSync(FIXTURE_PATH, "utf8");


/** Runs a program without blocking this process (the collector under test lives here). */
const run = (command: string, args: string[], env: Record<string, string>, input?: string) => runProgram(command, args, { env, input });

describe("netmap admin commands over gRPC", () => {
  let testbed: CliTestbed;
  let nats: TestNatsServer;
  let database: TestDatabase;
  let collector: TestCollector;
  let dir: string;
  let env: Record<string, string>;

  before(async () => {
    testbed = await startCliTestbed();
    ({ nats, database, collector, dir, env } = testbed);
  });

  after(() => testbed?.close());

  const netmap = (args: string[], extraEnv: Record<string, string> = {}) => testbed.netmap(args, extraEnv);

  test("import merges the two-client topology and says what it did", async () => {
    const first = await netmap(["import", FIXTURE_PATH]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, "imported: 8 created, 0 updated, 0 adopted from agents\n");
    const again = await netmap(["import", FIXTURE_PATH]);
    assert.equal(again.stdout, "imported: 0 created, 8 updated, 0 adopted from agents\n");
  });

  test("export gives back the imported file byte for byte, to stdout or a file", async () => {
    const exported = await netmap(["export"]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.equal(exported.stdout, FIXTURE);
    const file = join(dir, "exported.yaml");
    assert.equal((await netmap(["export", file])).code, 0);
    assert.equal(readFileSync(file, "utf8"), FIXTURE);
  });

  test("an invalid topology file is refused with the host named, and nothing is imported", async () => {
    const bad = join(dir, "bad.yaml");
    await run("sh", ["-c", `cat > ${bad}`], env, "clients:\n  - name: acme\n    sites:\n      - name: dc1\n        hosts:\n          - name: c\n            via: gw9\n");
    const result = await netmap(["import", bad]);
    assert.equal(result.code, 1);
    assert.equal(result.stderr, `netmap: ${bad}: host acme/dc1/c: via "gw9" is not a host of acme/dc1\n`);
    assert.equal((await netmap(["export"])).stdout, FIXTURE);
  });

  test("route prints the hop chain; an ambiguous or unknown host is an error naming it", async () => {
    const route = await netmap(["route", "acme/paris-dc1/db01"]);
    assert.equal(route.code, 0, route.stderr);
    assert.equal(
      route.stdout,
      "acme/paris-dc1/gw1\tadmin@203.0.113.10\nacme/paris-dc1/gw2\t10.0.0.1:2222\nacme/paris-dc1/pve1\t10.0.0.2\nacme/paris-dc1/db01\tpostgres@10.0.1.6\n",
    );
    const ambiguous = await netmap(["route", "gw1"]);
    assert.equal(ambiguous.code, 1);
    assert.match(ambiguous.stderr, /^netmap: host name "gw1" is ambiguous: acme\/paris-dc1\/gw1, acme\/lyon\/gw1\n$/);
    const unknown = await netmap(["route", "nowhere"]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^netmap: .*nowhere/);
  });

  test("ssh --dry-run takes its route from the collector", async () => {
    const result = await netmap(["ssh", "--dry-run", "web01", "--", "uptime"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Host acme\.paris-dc1\.pve1\n {2}HostName 10\.0\.0\.2\n/m);
    assert.match(result.stdout, /# ssh .* -- acme\.paris-dc1\.web01 uptime\n$/);
  });

  test("ssh-config pins keys in the caller's known_hosts", async () => {
    const result = await netmap(["ssh-config"], { NETMAP_KNOWN_HOSTS: join(dir, "kh") });
    assert.equal(result.code, 0, result.stderr);
    assert.ok(result.stdout.includes(`Host acme.paris-dc1.gw2 gw2\n  HostName 10.0.0.1\n  Port 2222\n  ProxyJump acme.paris-dc1.gw1\n  HostKeyAlias acme.paris-dc1.gw2\n  UserKnownHostsFile "${join(dir, "kh")}"\n`), result.stdout);
  });

  test("graph --format dot is DOT that Graphviz's dot accepts; --format svg is an SVG document", async () => {
    const dot = await netmap(["graph"]);
    assert.equal(dot.code, 0, dot.stderr);
    assert.match(dot.stdout, /^digraph /);
    const rendered = await run("dot", ["-Tsvg"], env, dot.stdout);
    assert.equal(rendered.code, 0, rendered.stderr);
    assert.match(rendered.stdout, /<svg /);
    const svg = await netmap(["graph", "--format", "svg"]);
    assert.equal(svg.code, 0, svg.stderr);
    assert.match(svg.stdout, /<svg /);
    assert.ok(svg.stdout.includes(">web01<"), "hosts are drawn");
    const bad = await netmap(["graph", "--format", "png"]);
    assert.equal(bad.code, 2);
  });

  test("inventory and hosts --json are what the HTTP API gives", async () => {
    const inventory = await netmap(["inventory"]);
    assert.equal(inventory.code, 0, inventory.stderr);
    const parsed = JSON.parse(inventory.stdout);
    assert.deepEqual(parsed, (await collector.get("/api/v1/inventory/ansible")).body);
    assert.equal(parsed._meta.hostvars.db01.ansible_ssh_common_args, "-o ProxyJump=admin@203.0.113.10:22,10.0.0.1:2222,10.0.0.2:22");
    assert.deepEqual(parsed.site_acme_paris_dc1.hosts, ["acme/paris-dc1/gw1", "gw2", "pve1", "web01", "db01"]);

    const hosts = await netmap(["hosts", "--json"]);
    assert.equal(hosts.code, 0, hosts.stderr);
    const list = JSON.parse(hosts.stdout);
    assert.equal(list.length, 8);
    assert.deepEqual(list, (await collector.get("/api/v1/hosts")).body.hosts);
    const table = await netmap(["hosts"]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^HOST +STATUS +LAST REPORT/);
    assert.equal(table.stdout.trimEnd().split("\n").length, 9);
  });

  test("an agent naming a placed host only claims it: hosts shows the claim, route refuses its address, adopt attaches it", async () => {
    const nc = await connect({ servers: nats.url });
    try {
      // The report names web01 (address 10.0.1.5, written by a person) and says it is at 192.0.2.10.
      const report = sampleReport({ agentId: "agent-cli", hostname: "web01", seq: 1 });
      await jetstream(nc).publish(reportSubject(report.agentId), encodeReport(report), { msgID: reportMessageId(report.agentId, report.bootId, report.seq) });
    } finally {
      await nc.close();
    }
    await eventually(async () => (await collector.get("/api/v1/hosts")).body.hosts.some((h: { agentId: string }) => h.agentId === "agent-cli"), "agent-cli's report stored");
    const table = (await netmap(["hosts"])).stdout;
    assert.match(table, /^web01 +up .* 192\.0\.2\.10 \(unconfirmed\); claims acme\/paris-dc1\/web01, unconfirmed$/m);
    const route = await netmap(["route", "unassigned/unassigned/web01"]);
    assert.equal(route.code, 1);
    assert.equal(route.stderr, "netmap: route to unassigned/unassigned/web01: the target web01 has no address\n");

    const adopted = await netmap(["adopt", "acme/paris-dc1/web01"]);
    assert.equal(adopted.code, 0, adopted.stderr);
    assert.equal(adopted.stdout, "adopted acme/paris-dc1/web01: agent agent-cli (attached now), SSH address 10.0.1.5\n");
    assert.equal((await netmap(["route", "web01"])).stdout.trimEnd().split("\n").at(-1), "acme/paris-dc1/web01\t10.0.1.5");
    assert.equal((await netmap(["adopt", "web01", "other-agent"])).stderr, "netmap: host web01 already has agent agent-cli\n");
    assert.equal((await netmap(["adopt"])).code, 2);
  });

  test("a wrong token is refused: exit 1, unauthenticated, and the collector logs it", async () => {
    const result = await netmap(["hosts"], { NETMAP_TOKEN: "not-the-token" });
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /^netmap: the collector at 127\.0\.0\.1:\d+ refused the call: unauthenticated \(the token in NETMAP_TOKEN is not the collector's\)\n$/);
    const none = await netmap(["export"], { NETMAP_TOKEN: "" });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /unauthenticated \(no token: set NETMAP_TOKEN; a collector without a configured token writes one to .*\/netmap\/token-127\.0\.0\.1_\d+\)/);
    const watch = await netmap(["alerts", "--watch"], { NETMAP_TOKEN: "not-the-token" });
    assert.equal(watch.code, 1, "a stream is refused as a call is");
    assert.match(watch.stderr, /refused the call: unauthenticated/);
    assert.ok(collector.logs.some((l) => l.msg === "refused a call without a valid token" && l.transport === "grpc" && l.what === "/netmap.v1.NetMapAdmin/ListHosts"));
    assert.ok(!JSON.stringify(collector.logs).includes(collector.token), "the token is never logged");
  });

  test("a call without the token is refused on its headers: a body that never ends still gets UNAUTHENTICATED at once", async () => {
    // Raw HTTP/2, as a hostile client would: a message declared as 8 MiB, 64 KiB of it sent,
    // the rest never. A server that read the message before the token would wait for it.
    const session = connectHttp2(`http://${collector.grpcAddress}`);
    try {
      const stream = session.request({ ":method": "POST", ":path": "/netmap.v1.NetMapAdmin/Import", "content-type": "application/grpc", te: "trailers" });
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(8 * 1024 * 1024, 1);
      stream.write(Buffer.concat([prefix, Buffer.alloc(64 * 1024, 0x41)]));
      const grpcStatus = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no answer within 5 s: the server waits for the body")), 5000);
        // A refusal before any message is a trailers-only response: grpc-status is in the headers.
        stream.once("response", (headers) => (clearTimeout(timer), resolve(String(headers["grpc-status"]))));
        stream.once("error", (error) => (clearTimeout(timer), reject(error)));
      });
      assert.equal(grpcStatus, String(status.UNAUTHENTICATED));
      stream.close();
    } finally {
      session.destroy();
    }
  });

  test("a call without the token and with a body over the 16 MiB limit is UNAUTHENTICATED, not RESOURCE_EXHAUSTED", async () => {
    const client = new NetMapAdminClient(collector.grpcAddress, credentials.createInsecure());
    try {
      const error = await new Promise<ServiceError | null>((resolve) =>
        client.import({ topologyYaml: "x".repeat(17 * 1024 * 1024), fileName: "big.yaml" }, new Metadata(), { deadline: Date.now() + 30_000 }, (e) => resolve(e)),
      );
      assert.equal(error?.code, status.UNAUTHENTICATED, error?.details);
    } finally {
      client.close();
    }
  });

  test("with no collector listening, the CLI says where it looked", async () => {
    const port = await freePort();
    const result = await netmap(["hosts"], { NETMAP_URL: `127.0.0.1:${port}` });
    assert.equal(result.code, 1);
    assert.equal(result.stderr, `netmap: cannot reach the collector at 127.0.0.1:${port} (is \`netmap serve\` running?)\n`);
    const bad = await netmap(["hosts"], { NETMAP_URL: "http://x" });
    assert.equal(bad.code, 2);
  });

  test("two collectors on one machine without configured tokens each write their own token file, and the CLI finds each by NETMAP_GRPC_ADDR", async () => {
    const state = join(dir, "state");
    const instances = [];
    const children: ReturnType<typeof spawn>[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const [httpPort, grpcPort] = [await freePort(), await freePort()];
        const serveEnv = { PATH: env.PATH!, HOME: dir, XDG_STATE_HOME: state, NETMAP_NATS_URL: nats.url, NETMAP_DATABASE_URL: database.url,
          NETMAP_HTTP_ADDR: `127.0.0.1:${httpPort}`, NETMAP_GRPC_ADDR: `127.0.0.1:${grpcPort}` };
        const child = spawn(process.execPath, [MAIN, "serve"], { env: serveEnv, stdio: ["ignore", "pipe", "pipe"] });
        children.push(child);
        const output = { log: "" };
        child.stdout!.on("data", (d) => (output.log += d));
        child.stderr!.on("data", (d) => (output.log += d));
        await eventually(async () => output.log.includes("admin service (gRPC) listening"), () => `the collector to listen (log so far: ${output.log})`, 30_000);
        instances.push({ httpPort, grpcPort, output });
      }
      const tokens = [];
      for (const { httpPort, grpcPort, output } of instances) {
        const tokenFile = join(state, "netmap", `token-127.0.0.1_${grpcPort}`);
        assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
        const token = readFileSync(tokenFile, "utf8").trim();
        tokens.push(token);
        assert.ok(output.log.includes(tokenFile), "the log names the token file");
        assert.ok(!output.log.includes(token), "the log never shows the token");
        // The same generated token opens the HTTP API: one token, not one per API.
        const api = `http://127.0.0.1:${httpPort}/api/v1/hosts`;
        assert.equal((await fetch(api)).status, 401);
        assert.equal((await fetch(api, { headers: { authorization: `Bearer ${token}` } })).status, 200);
        // NETMAP_URL unset: the CLI goes where NETMAP_GRPC_ADDR says, with that instance's token.
        const result = await run(process.execPath, [MAIN, "route", "web01"], { PATH: env.PATH!, HOME: dir, XDG_STATE_HOME: state, NETMAP_GRPC_ADDR: `127.0.0.1:${grpcPort}` });
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stdout, /acme\/paris-dc1\/web01\t/);
      }
      assert.notEqual(tokens[0], tokens[1]);
    } finally {
      for (const child of children) {
        child.kill("SIGTERM");
        await new Promise((resolve) => (child.exitCode === null ? child.once("exit", resolve) : resolve(null)));
      }
    }
    // Not on a terminal: JSON lines, the last one saying the collector stopped.
    for (const { output } of instances) assert.equal(JSON.parse(output.log.trim().split("\n").at(-1)!).msg, "stopped", output.log.split("\n").slice(-8).join("\n"));
  });

  test("serve refuses a non-loopback gRPC or HTTP address without a configured token", async () => {
    const result = await run(process.execPath, [MAIN, "serve"], { PATH: env.PATH!, HOME: dir, NETMAP_GRPC_ADDR: "0.0.0.0:0" });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /grpc\.addr: 0\.0\.0\.0 is not a loopback address; the admin service needs a token there/);
    const http = await run(process.execPath, [MAIN, "serve"], { PATH: env.PATH!, HOME: dir, NETMAP_HTTP_ADDR: "0.0.0.0:0" });
    assert.equal(http.code, 2);
    assert.equal(http.stderr, "netmap: http.addr: 0.0.0.0 is not a loopback address; the HTTP API needs a token there (token_file or NETMAP_TOKEN)\n");
  });
});
