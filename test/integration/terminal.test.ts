// The web terminal's collector side against real sshd in network namespaces (two bastions and a
// target reachable only through them), real PostgreSQL and NATS: the WebSocket a browser opens
// (Node's WebSocket, which like a browser cannot send Authorization, so with a ticket), hop
// progress, a changed middle key refused with both fingerprints, the recording, the audit
// trail, roles, the per-user limit, no sshd session left on the target once the socket goes, and
// the key coming from the ssh_config of the user the collector runs as, and a ticket redeemed
// by another collector than the one that issued it.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { TerminalServerMessage } from "../../collector/src/http/api-types.ts";
import { NETMAP_MAIN, startCliTestbed, type CliTestbed } from "../helpers/cli.ts";
import { startTestCollector } from "../helpers/collector.ts";
import { freePort } from "../helpers/nats-server.ts";
import { createSshChain, netnsUnavailable, type SshChain } from "../helpers/netns.ts";
import { rootHome } from "../helpers/sshd.ts";
import { eventually } from "../helpers/wait.ts";

/** A terminal socket as the console uses it: text frames are messages, binary frames the screen. */
interface Terminal {
  socket: WebSocket;
  messages: TerminalServerMessage[];
  screen(): string;
  closed: Promise<void>;
  type(text: string): void;
}

describe("web terminal through a bastion chain (network namespaces, real sshd)", () => {
  let chain: SshChain;
  let testbed: CliTestbed;
  let knownHosts: string;
  const tokens = new Map<string, string>();

  before(async () => {
    const unavailable = netnsUnavailable();
    if (unavailable) throw new Error(`cannot build the SSH test hosts: ${unavailable}`);
    chain = await createSshChain();
    knownHosts = join(chain.dir, "netmap", "known_hosts");
    testbed = await startCliTestbed({
      config: () => `ssh:\n  agent: ${chain.authSocket}\n  known_hosts: ${knownHosts}\nterminal:\n  sessions_per_user: 2\n`,
    });
    const topologyFile = join(chain.dir, "topology.yaml");
    writeFileSync(topologyFile, chain.topologyYaml);
    const imported = await testbed.netmap(["import", topologyFile]);
    assert.equal(imported.code, 0, imported.stderr);
    for (const role of ["viewer", "operator", "admin"]) {
      const created = await testbed.netmap(["token", "create", `t-${role}`, "--role", role]);
      assert.equal(created.code, 0, created.stderr);
      tokens.set(role, created.stdout.trim().split(/\s+/).at(-1)!);
    }
  });

  after(async () => {
    await testbed?.close();
    await chain?.close();
  });

  const post = (path: string, token: string | undefined, base = testbed.collector.httpUrl) =>
    fetch(new URL(path, base), { method: "POST", headers: token ? { authorization: `Bearer ${token}` } : {} });

  async function ticketFor(host: string, token: string, base?: string): Promise<string> {
    const response = await post(`/api/v1/terminal/${host}/ticket`, token, base);
    assert.equal(response.status, 200, await response.clone().text());
    return ((await response.json()) as { ticket: string }).ticket;
  }

  function connect(host: string, protocols: string[], base = testbed.collector.httpUrl): Terminal {
    const url = new URL(`/api/v1/terminal/${host}?cols=100&rows=30`, base.replace(/^http/, "ws"));
    const socket = new WebSocket(url, protocols);
    socket.binaryType = "arraybuffer";
    const messages: TerminalServerMessage[] = [];
    const decoder = new TextDecoder();
    let screen = "";
    socket.onmessage = (event) => {
      if (typeof event.data === "string") messages.push(JSON.parse(event.data));
      else screen += decoder.decode(event.data as ArrayBuffer, { stream: true });
    };
    const closed = new Promise<void>((resolve) => socket.addEventListener("close", () => resolve()));
    return { socket, messages, screen: () => screen, closed, type: (text) => socket.send(new TextEncoder().encode(text)) };
  }

  async function open(host: string, role = "operator", base?: string): Promise<Terminal> {
    const terminal = connect(host, ["netmap.terminal.v1", `ticket.${await ticketFor(host, tokens.get(role)!, base)}`], base);
    await eventually(() => terminal.messages.find((m) => m.type === "ready" || m.type === "error"), "the session to open or fail", 30_000);
    return terminal;
  }

  /** Processes in a namespace other than its listening sshd: the session's sshd and shell while one is open. */
  const sessionProcesses = (name: keyof SshChain["hosts"]) => {
    const host = chain.hosts[name];
    const pids = execFileSync("ip", ["netns", "pids", host.ns], { encoding: "utf8" }).split("\n").filter(Boolean).map(Number);
    return pids.filter((pid) => pid !== host.sshd!.pid);
  };

  test("an operator's terminal reaches the target through both bastions, hop by hop, and runs what is typed there", async () => {
    const terminal = await open("target");
    const hops = terminal.messages.filter((m) => m.type === "hop");
    assert.deepEqual(
      hops.map((m) => `${m.index} ${m.hop} ${m.state}`),
      ["0 lab/ns/bastion1 connecting", "0 lab/ns/bastion1 connected", "1 lab/ns/bastion2 connecting", "1 lab/ns/bastion2 connected", "2 lab/ns/target connecting", "2 lab/ns/target connected"],
    );
    const ready = terminal.messages.find((m) => m.type === "ready")!;
    assert.equal(ready.type === "ready" && ready.host, "lab/ns/target");
    terminal.type("hostname\n");
    // The name alone on a line (the prompt shows it too, followed by ":~#").
    await eventually(() => terminal.screen().includes(`${chain.hosts.target.hostname}\r\n`), () => `the target's name on the screen: ${JSON.stringify(terminal.screen())}`, 20_000);
    assert.ok(!terminal.screen().includes(chain.hosts.bastion2.hostname), "it ran on the target, not a bastion");
    // Every hop's key is pinned in NetMap's known_hosts, under its alias, as `netmap ssh` pins them.
    const pinned = readFileSync(knownHosts, "utf8");
    for (const name of ["bastion1", "bastion2", "target"]) assert.match(pinned, new RegExp(`^lab\\.ns\\.${name} ssh-ed25519 `, "m"));

    // A resize reaches the target's pty.
    terminal.socket.send(JSON.stringify({ type: "resize", cols: 123, rows: 45 }));
    terminal.type("stty size\n");
    await eventually(() => terminal.screen().includes("45 123\r\n"), () => `the new size on the target: ${JSON.stringify(terminal.screen().slice(-200))}`, 20_000);

    terminal.type("exit 3\n");
    await terminal.closed;
    const exit = terminal.messages.find((m) => m.type === "exit");
    assert.deepEqual(exit, { type: "exit", status: 3, reason: "exit" });

    // The recording: who, where, through which hops, how it ended, and the same output.
    const sessionId = ready.type === "ready" ? ready.session : 0;
    const listed = await eventually(async () => {
      const { body } = await testbed.collector.get("/api/v1/sessions");
      return body.sessions.find((s: { id: number; endedAt: string | null }) => s.id === sessionId && s.endedAt);
    }, "the session listed as ended");
    assert.equal(listed.actor, "t-operator");
    assert.equal(listed.host, "lab/ns/target");
    assert.equal(listed.exitStatus, 3);
    assert.equal(listed.endReason, "exit");
    assert.deepEqual(listed.chain, [`lab/ns/bastion1 root@${chain.hosts.bastion1.address}`, `lab/ns/bastion2 root@${chain.hosts.bastion2.address}`, `lab/ns/target root@${chain.hosts.target.address}`]);
    const cast = await fetch(new URL(`/api/v1/sessions/${sessionId}`, testbed.collector.httpUrl), { headers: { authorization: `Bearer ${tokens.get("operator")}` } });
    assert.equal(cast.status, 200);
    assert.match(cast.headers.get("content-type")!, /^application\/x-asciicast/);
    const [header, ...events] = (await cast.text()).trimEnd().split("\n").map((line) => JSON.parse(line));
    assert.equal(header.version, 2);
    assert.deepEqual([header.width, header.height], [100, 30]);
    assert.ok(events.some((e) => e[1] === "r" && e[2] === "123x45"), "the resize is in the cast");
    const output = events.filter((e) => e[1] === "o").map((e) => e[2]).join("");
    assert.equal(output, terminal.screen(), "the recording holds exactly what the browser was sent");
    assert.ok(!events.some((e) => e[1] === "i"), "keystrokes are not recorded unless terminal.record_input says so");
    for (let i = 1; i < events.length; i++) assert.ok(events[i][0] >= events[i - 1][0], "event times only grow");

    // Another operator does not see it; an admin does.
    const other = await testbed.netmap(["token", "create", "t-operator2", "--role", "operator"]);
    const otherToken = other.stdout.trim().split(/\s+/).at(-1)!;
    const hidden = await fetch(new URL(`/api/v1/sessions/${sessionId}`, testbed.collector.httpUrl), { headers: { authorization: `Bearer ${otherToken}` } });
    assert.equal(hidden.status, 404);
    const byAdmin = await fetch(new URL(`/api/v1/sessions/${sessionId}`, testbed.collector.httpUrl), { headers: { authorization: `Bearer ${tokens.get("admin")}` } });
    assert.equal(byAdmin.status, 200);

    // Opening and closing are in the audit trail.
    const { body: audit } = await testbed.collector.get("/api/v1/audit");
    const entries = audit.events.filter((e: { action: string }) => e.action.startsWith("terminal_")).map((e: { action: string; actor: string; target: string; outcome: string }) => `${e.action} ${e.actor} ${e.target} ${e.outcome}`);
    assert.ok(entries.includes(`terminal_open t-operator lab/ns/target session ${sessionId} ok`), entries.join("\n"));
    assert.ok(entries.includes(`terminal_close t-operator lab/ns/target session ${sessionId} exit 3`), entries.join("\n"));
  });

  test("no token, a viewer's token, a used ticket or one for another host cannot open a terminal", async () => {
    assert.equal((await post("/api/v1/terminal/target/ticket", undefined)).status, 401);
    const viewer = await post("/api/v1/terminal/target/ticket", tokens.get("viewer"));
    assert.equal(viewer.status, 403);
    assert.equal(((await viewer.json()) as { error: { code: string } }).error.code, "FORBIDDEN");

    const refusedHandshake = async (protocols: string[]) => {
      const terminal = connect("target", protocols);
      const error = new Promise<boolean>((resolve) => terminal.socket.addEventListener("error", () => resolve(true)));
      await terminal.closed;
      assert.ok(await error, "the handshake failed");
      assert.equal(terminal.messages.length, 0);
    };
    await refusedHandshake(["netmap.terminal.v1"]);
    await refusedHandshake(["netmap.terminal.v1", "ticket.not-a-ticket"]);
    const forBastion = await ticketFor("bastion1", tokens.get("operator")!);
    await refusedHandshake(["netmap.terminal.v1", `ticket.${forBastion}`]);
    const ticket = await ticketFor("target", tokens.get("operator")!);
    const first = connect("target", ["netmap.terminal.v1", `ticket.${ticket}`]);
    await eventually(() => first.messages.find((m) => m.type === "ready"), "the first use of the ticket to open", 30_000);
    await refusedHandshake(["netmap.terminal.v1", `ticket.${ticket}`]);
    first.socket.close();
    await first.closed;
  });

  test("behind a load balancer: a ticket one collector issued opens the terminal on another (one database), and only once", async () => {
    const second = await startTestCollector({ natsUrl: testbed.nats.url, databaseUrl: testbed.database.url, env: { NETMAP_CONFIG: join(testbed.dir, "netmap.yaml") } });
    try {
      const ticket = await ticketFor("target", tokens.get("operator")!);
      const there = connect("target", ["netmap.terminal.v1", `ticket.${ticket}`], second.httpUrl);
      await eventually(() => there.messages.find((m) => m.type === "ready"), () => `the session to open on the second collector: ${JSON.stringify(there.messages)}`, 30_000);
      there.type("hostname\n");
      await eventually(() => there.screen().includes(`${chain.hosts.target.hostname}\r\n`), "the target's name on the screen", 20_000);
      // Spent, on whichever collector it is tried next.
      const again = connect("target", ["netmap.terminal.v1", `ticket.${ticket}`]);
      await again.closed;
      assert.equal(again.messages.length, 0, "refused at the handshake");
      there.socket.close();
      await there.closed;
    } finally {
      await second.stop();
    }
  });

  test("a host without a route is answered before any socket; the per-user limit refuses a third session", async () => {
    const unknown = await post("/api/v1/terminal/nowhere/ticket", tokens.get("operator"));
    assert.equal(unknown.status, 404);
    const sessions = [await open("target"), await open("bastion2")];
    for (const s of sessions) assert.ok(s.messages.some((m) => m.type === "ready"));
    const third = await open("bastion1");
    const error = third.messages.find((m) => m.type === "error");
    assert.equal(error?.type === "error" && error.code, "TERMINAL_LIMIT");
    await third.closed;
    for (const s of sessions) s.socket.close();
    await Promise.all(sessions.map((s) => s.closed));
    // Another person's sessions are theirs to count.
    const admins = await open("bastion1", "admin");
    assert.ok(admins.messages.some((m) => m.type === "ready"));
    admins.socket.close();
  });

  test("when the browser goes away the SSH session on the target ends: no sshd session child remains", async () => {
    await eventually(() => sessionProcesses("target").length === 0, () => `no session left on the target from earlier tests: ${sessionProcesses("target")}`, 20_000);
    const terminal = await open("target");
    terminal.type("sleep 600\n");
    await eventually(() => sessionProcesses("target").length >= 2, "the session's sshd and shell on the target");
    terminal.socket.close();
    await terminal.closed;
    await eventually(() => sessionProcesses("target").length === 0, () => `processes left on the target: ${sessionProcesses("target").map((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8"))}`, 20_000);
  });

  test("a failing hop is named with its reason: a port nobody listens on behind bastion2 (refused), a login sshd refuses (auth)", async () => {
    const more = join(chain.dir, "more-topology.yaml");
    writeFileSync(more, `${chain.topologyYaml}          - name: closed\n            address: ${chain.hosts.target.address}\n            ssh: { user: root, port: 2222 }\n            via: bastion2\n          - name: ghost\n            address: ${chain.hosts.target.address}\n            ssh: { user: ghost }\n            via: bastion2\n`);
    const imported = await testbed.netmap(["import", more]);
    assert.equal(imported.code, 0, imported.stderr);
    const failure = async (host: string) => {
      const terminal = await open(host);
      await terminal.closed;
      const error = terminal.messages.find((m) => m.type === "error");
      assert.ok(error?.type === "error", JSON.stringify(terminal.messages));
      return error;
    };
    const refused = await failure("closed");
    assert.deepEqual([refused.code, refused.hop, refused.reason], ["TERMINAL_HOP_REFUSED", "lab/ns/closed", "refused"]);
    assert.match(refused.message, new RegExp(`^lab/ns/closed: the previous hop could not connect to ${chain.hosts.target.address.replace(/\./g, "\\.")}:2222`));
    const auth = await failure("ghost");
    assert.deepEqual([auth.code, auth.hop, auth.reason], ["TERMINAL_HOP_AUTH", "lab/ns/ghost", "auth"]);
    assert.match(auth.message, /ghost@.* refused the collector's keys \(tried the agent's keys\)/);
  });

  test("a large output reaches the browser whole and in order", async () => {
    const terminal = await open("target");
    terminal.type("seq 1 200000\n");
    await eventually(() => terminal.screen().includes("\r\n200000\r\n"), "the last number", 60_000);
    // bash ends bracketed paste mode ("\u001b[?2004l\r") before the first line of output.
    const numbers = terminal.screen().split("\r\n").map((line) => line.split("\r").at(-1)!).filter((line) => /^\d+$/.test(line)).map(Number);
    assert.equal(numbers.length, 200000);
    assert.ok(numbers.every((n, i) => n === i + 1), "every number once, in order");
    terminal.socket.close();
    await terminal.closed;
  });

  test("a session with no keystroke and no output for terminal.idle_timeout is closed", async () => {
    const idle = await startCliTestbed({ config: () => `ssh:\n  agent: ${chain.authSocket}\n  known_hosts: ${knownHosts}\nterminal:\n  idle_timeout: 3s\n` });
    try {
      writeFileSync(join(chain.dir, "idle-topology.yaml"), chain.topologyYaml);
      assert.equal((await idle.netmap(["import", join(chain.dir, "idle-topology.yaml")])).code, 0);
      const response = await fetch(new URL("/api/v1/terminal/target/ticket", idle.collector.httpUrl), { method: "POST", headers: { authorization: `Bearer ${idle.collector.token}` } });
      const { ticket } = (await response.json()) as { ticket: string };
      const socket = new WebSocket(new URL("/api/v1/terminal/target", idle.collector.httpUrl.replace(/^http/, "ws")), ["netmap.terminal.v1", `ticket.${ticket}`]);
      const messages: TerminalServerMessage[] = [];
      socket.onmessage = (event) => typeof event.data === "string" && messages.push(JSON.parse(event.data));
      const started = Date.now();
      await new Promise((resolve) => socket.addEventListener("close", resolve));
      assert.ok(messages.some((m) => m.type === "ready"), JSON.stringify(messages));
      assert.deepEqual(messages.at(-1), { type: "exit", status: null, reason: "idle" });
      assert.ok(Date.now() - started >= 3000, "not before the idle timeout");
    } finally {
      await idle.close();
    }
  });

  test("with no key in netmap.yaml, the key the collector's user names in ~/.ssh/config (Host * IdentityFile) logs in at every hop", async () => {
    // ssh expands the ~ of `Include ~/.ssh/config` from the password database, not $HOME, and the collector
    // runs `ssh -G` as the user it runs as: so this collector is a `netmap serve` process of its own, in a mount
    // namespace where a directory of the test's is bind-mounted over root's home (as topology-ssh.test.ts does
    // for the CLI). The generated config and OpenSSH are the product's own, untouched.
    const home = join(chain.dir, "collector-home");
    mkdirSync(join(home, ".ssh"), { recursive: true, mode: 0o700 });
    const config = join(chain.dir, "no-keys.yaml");
    // No identity, no agent: the key can only come from the user's ssh_config.
    writeFileSync(config, `ssh:\n  agent: false\n  known_hosts: ${join(chain.dir, "ssh-config-known_hosts")}\n`);
    const [httpPort, grpcPort] = [await freePort(), await freePort()];
    const serve = [process.execPath, NETMAP_MAIN, "serve", "--config", config];
    const child = spawn("unshare", ["--mount", "--", "sh", "-c", 'mount --bind "$1" "$2" && shift 2 && exec "$@"', "sh", home, rootHome(), ...serve], {
      env: { PATH: process.env.PATH!, HOME: home, XDG_STATE_HOME: home, NETMAP_NATS_URL: testbed.nats.url, NETMAP_DATABASE_URL: testbed.database.url,
        NETMAP_HTTP_ADDR: `127.0.0.1:${httpPort}`, NETMAP_GRPC_ADDR: `127.0.0.1:${grpcPort}` },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let log = "";
    child.stdout.on("data", (d) => (log += d));
    child.stderr.on("data", (d) => (log += d));
    const base = `http://127.0.0.1:${httpPort}/`;
    try {
      await eventually(() => log.includes("status page and API listening"), () => `the collector to listen (log: ${log})`, 30_000);

      // Without an IdentityFile the first hop already refuses: nothing else gives a key.
      writeFileSync(join(home, ".ssh", "config"), "Host *\n  IdentitiesOnly yes\n");
      const refused = await open("target", "operator", base);
      await refused.closed;
      const error = refused.messages.find((m) => m.type === "error");
      assert.ok(error?.type === "error", JSON.stringify(refused.messages));
      assert.deepEqual([error.code, error.hop], ["TERMINAL_HOP_AUTH", "lab/ns/bastion1"]);
      assert.match(error.message, /tried no key/);

      // Read at each session: the person's key, named once under Host *, reaches both bastions and the target.
      writeFileSync(join(home, ".ssh", "config"), `Host *\n  IdentityFile ${chain.clientKey}\n  IdentitiesOnly yes\n`);
      const terminal = await open("target", "operator", base);
      assert.deepEqual(
        terminal.messages.flatMap((m) => (m.type === "hop" && m.state === "connected" ? [m.hop] : [])),
        ["lab/ns/bastion1", "lab/ns/bastion2", "lab/ns/target"],
        JSON.stringify(terminal.messages),
      );
      terminal.type("hostname\n");
      await eventually(() => terminal.screen().includes(`${chain.hosts.target.hostname}\r\n`), () => `the target's name on the screen: ${JSON.stringify(terminal.screen())}`, 20_000);
      terminal.socket.close();
      await terminal.closed;
      // The key stayed in the collector: nothing of it in its log.
      const keyText = readFileSync(chain.clientKey, "utf8").split("\n").filter((line) => line && !line.startsWith("-----")).join("");
      assert.ok(!log.replaceAll("\n", "").includes(keyText.slice(0, 40)), "no private key in the collector's log");
    } finally {
      child.kill("SIGTERM");
      await new Promise((resolve) => (child.exitCode === null ? child.once("exit", resolve) : resolve(null)));
    }
  });

  test("a changed key on the middle bastion refuses the session, naming the hop with both fingerprints; netmap trust re-learns it", async () => {
    const fingerprint = (publicKey: string) => /(SHA256:\S+)/.exec(execFileSync("ssh-keygen", ["-l", "-f", publicKey], { encoding: "utf8" }))![1]!;
    const pinned = fingerprint(`${chain.hosts.bastion2.hostKey}.pub`);
    await chain.replaceHostKey("bastion2");
    const offered = fingerprint(`${chain.hosts.bastion2.hostKey}.pub`);
    const terminal = await open("target");
    const error = terminal.messages.find((m) => m.type === "error");
    assert.ok(error?.type === "error");
    assert.deepEqual(
      { code: error.code, hop: error.hop, reason: error.reason, pinned: error.pinned, offered: error.offered },
      { code: "HOST_KEY_CHANGED", hop: "lab/ns/bastion2", reason: "key_changed", pinned: [`${pinned} (ED25519)`], offered: `${offered} (ED25519)` },
    );
    assert.match(error.message, /netmap trust lab\/ns\/bastion2/);
    assert.deepEqual(terminal.messages.filter((m) => m.type === "hop").map((m) => `${m.hop} ${m.state}`).slice(-2), ["lab/ns/bastion2 connecting", "lab/ns/bastion2 failed"]);
    await terminal.closed;
    const { body: audit } = await testbed.collector.get("/api/v1/audit");
    assert.ok(audit.events.some((e: { action: string; outcome: string }) => e.action === "terminal_open" && e.outcome === "HOST_KEY_CHANGED"));

    // The CLI's `trust`, on the same known_hosts, is how a person accepts the new key.
    const trusted = await testbed.netmap(["trust", "bastion2"], { NETMAP_KNOWN_HOSTS: knownHosts, SSH_AUTH_SOCK: chain.authSocket });
    assert.equal(trusted.code, 0, trusted.stderr);
    const again = await open("target");
    assert.ok(again.messages.some((m) => m.type === "ready"), JSON.stringify(again.messages));
    again.socket.close();
    await again.closed;
  });
});
