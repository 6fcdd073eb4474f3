import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { parseTopologyFile } from "../../../collector/src/topology/file.ts";
import { isValidAddress } from "../../../collector/src/topology/names.ts";
import { routeTo } from "../../../collector/src/topology/routes.ts";
import { parseJump, parseSshConfig, renderRouteConfig, renderTopologySshConfig } from "../../../collector/src/topology/ssh-config.ts";
import { hostileTopology, matchExecName } from "../../helpers/hostile.ts";

const CONFIG = `# a team's config
Host bastion
  HostName 203.0.113.10
  User admin

Host inner
  HostName=10.0.0.1
  Port 2222
  ProxyJump bastion

Host web01 web02
  HostName %h.internal.example
  ProxyJump bastion,inner

Host db
  HostName 10.0.2.9
  ProxyJump ops@198.51.100.3:2200,[2001:db8::1]:22

Host *.example
  User nobody

Match host foo
  User bar

Host *
  User deploy
  ServerAliveInterval 30
`;

describe("ssh config import", () => {
  const { topology, ignored } = parseSshConfig(CONFIG, { client: "team", site: "default", fileName: "config" });
  const hosts = topology.clients[0]!.sites[0]!.hosts;
  const host = (name: string) => hosts.find((h) => h.name === name)!;

  test("reads Host, HostName (with %h), User (first value wins, * supplies defaults), Port", () => {
    assert.deepEqual(host("bastion"), {
      name: "bastion", kind: "server", address: "203.0.113.10", ssh: { user: "admin", port: 22 }, via: null, parent: null, labels: {}, source: "person",
    });
    assert.deepEqual(host("inner").ssh, { user: "deploy", port: 2222 });
    assert.equal(host("web02").address, "web02.internal.example");
    assert.ok(!hosts.some((h) => h.name.includes("*")), "patterns are not hosts");
    assert.match(ignored.join("\n"), /config:22: Match blocks are not read/);
  });

  test("turns ProxyJump chains, comma lists and user@host:port forms into vias", () => {
    assert.equal(host("inner").via, "bastion");
    assert.equal(host("web01").via, "inner");
    assert.deepEqual(routeTo(topology, "web01").map((h) => h.name), ["bastion", "inner", "web01"]);
    assert.deepEqual(
      routeTo(topology, "db").map((h) => [h.name, h.user, h.address, h.port]),
      [
        ["198.51.100.3-2200", "ops", "198.51.100.3", 2200],
        ["2001-db8--1", null, "2001:db8::1", 22],
        ["db", "deploy", "10.0.2.9", 22],
      ],
    );
  });

  test("parses jump specs", () => {
    assert.deepEqual(parseJump("ops@gw.example:2222"), { user: "ops", host: "gw.example", port: 2222 });
    assert.deepEqual(parseJump("[2001:db8::1]:22"), { user: null, host: "2001:db8::1", port: 22 });
    assert.deepEqual(parseJump("gw"), { user: null, host: "gw", port: null });
    assert.equal(parseJump("a b"), undefined);
  });

  test("refuses a ProxyJump cycle, naming the hosts", () => {
    assert.throws(() => parseSshConfig("Host a\n  ProxyJump b\nHost b\n  ProxyJump a\n", { client: "c", site: "s" }), {
      code: "TOPOLOGY_INVALID",
      message: /cycle: (a → b → a|b → a → b)/,
    });
  });
});

describe("ssh config output", () => {
  const topology = parseTopologyFile(readFileSync(new URL("../../fixtures/topology/two-clients.yaml", import.meta.url), "utf8"));

  test("a route's blocks each jump through the previous hop and pin keys in NetMap's known_hosts", () => {
    const text = renderRouteConfig(routeTo(topology, "web01").slice(-2), { knownHostsFile: "/tmp/k h%" });
    assert.equal(
      text,
      `# acme/paris-dc1/pve1
Host acme.paris-dc1.pve1
  HostName 10.0.0.2
  Port 22
  ProxyJump none
  HostKeyAlias acme.paris-dc1.pve1
  UserKnownHostsFile "/tmp/k h%%"
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking accept-new
  CheckHostIP no

# acme/paris-dc1/web01
Host acme.paris-dc1.web01
  HostName 10.0.1.5
  Port 22
  ProxyJump acme.paris-dc1.pve1
  HostKeyAlias acme.paris-dc1.web01
  UserKnownHostsFile "/tmp/k h%%"
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking accept-new
  CheckHostIP no
`,
    );
  });

  test("netmap ssh-config gives every host a block, with its bare name when unique", () => {
    const text = renderTopologySshConfig(topology);
    assert.match(text, /Host acme\.paris-dc1\.web01 web01\n  HostName 10\.0\.1\.5\n  Port 22\n  ProxyJump acme\.paris-dc1\.pve1\n/);
    assert.match(text, /Host acme\.paris-dc1\.gw1\n  HostName 203\.0\.113\.10\n  Port 22\n  User admin\n  ProxyJump none\n/);
    assert.match(text, /Host globex\.fra\.app app\n  HostName app\.fra\.globex\.example\n  Port 22\n  ProxyJump globex\.fra\.jump\n/);
  });

  test("refuses hostile values that came from the database", () => {
    const hop = { client: "acme", site: "dc1", name: "x", address: "-oProxyCommand=sh", port: 22, user: null, alias: "acme.dc1.x" };
    assert.throws(() => renderRouteConfig([hop]), { code: "ROUTE_UNSAFE", message: /address "-oProxyCommand=sh" is not safe/ });
    assert.throws(() => renderRouteConfig([{ ...hop, address: "10.0.0.1", alias: "acme.dc1.x\n  ProxyCommand sh" }]), { code: "ROUTE_UNSAFE", message: /alias/ });
    assert.throws(() => renderRouteConfig([{ ...hop, address: "10.0.0.1", alias: "acme.-oProxyCommand=sh.x" }]), { code: "ROUTE_UNSAFE", message: /alias/ });
  });
});

describe("ssh config writing with hostile names", () => {
  // What `netmap ssh-config` writes itself; anything else on a line of its own is an injected directive.
  const OWN_LINE = /^(|#.*|Host [A-Za-z0-9._ -]+|  (HostName|Port|User|ProxyJump|HostKeyAlias|UserKnownHostsFile|GlobalKnownHostsFile|StrictHostKeyChecking|CheckHostIP) \S+)$/;

  test("a name carrying directives stays inside one comment, escaped; its block is named by its slug; the other hosts keep their blocks", () => {
    const text = renderTopologySshConfig(hostileTopology(matchExecName("/tmp/netmap-pwned")), { knownHostsFile: "/tmp/k" });
    for (const line of text.split("\n")) assert.match(line, OWN_LINE);
    assert.match(text, /^# acme\/dc1\/evil\\u000aMatch exec "touch \/tmp\/netmap-pwned"\\u000aHost zz\nHost acme\.dc1\.evil-match-exec-touch-tmp-netmap-pwned-host-zz /m);
    assert.match(text, /^Host acme\.dc1\.web01 web01\n  HostName 10\.0\.0\.5\n  Port 22\n  ProxyJump acme\.dc1\.gw1\n/m);
  });

  test("a host that goes through a hop with a hostile name jumps through the hop's slug alias, never its name", () => {
    const text = renderTopologySshConfig(hostileTopology("x\n  ProxyCommand sh -c id"));
    for (const line of text.split("\n")) assert.match(line, OWN_LINE);
    assert.match(text, /^Host acme\.dc1\.behind behind\n  HostName 10\.0\.0\.7\n  Port 22\n  ProxyJump acme\.dc1\.x-proxycommand-sh-c-id\n/m);
    assert.match(text, /^# acme\/dc1\/x\\u000a  ProxyCommand sh -c id$/m);
  });

  test("every control character of a comment is written as an escape, none raw", () => {
    const text = renderTopologySshConfig(hostileTopology("a\rb\0c\u0085d\x1b"));
    assert.doesNotMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    assert.match(text, /^# acme\/dc1\/a\\u000db\\u0000c\\u0085d\\u001b$/m);
  });

  test("an IPv6 address with a zone id is refused: ssh would read its % as a token", () => {
    const hop = { client: "acme", site: "dc1", name: "x", address: "fe80::1%eth0", port: 22, user: null, alias: "acme.dc1.x" };
    assert.throws(() => renderRouteConfig([hop]), { code: "ROUTE_UNSAFE", message: /address "fe80::1%eth0" is not safe/ });
    assert.equal(isValidAddress("fe80::1%eth0"), false);
    assert.equal(isValidAddress("fe80::1"), true);
  });
});
