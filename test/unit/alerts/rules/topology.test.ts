import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { judgeAbsence, type ReportingHost } from "../../../../collector/src/alerts/rules/absence.ts";
import { judgeTopology, siteKey, type HostPlace, type TopologyContext } from "../../../../collector/src/alerts/rules/topology.ts";
import { rulesConfigSchema } from "../../../../collector/src/alerts/settings.ts";

const none = rulesConfigSchema.parse({});

// paris: gw1 (bastion) → pve1 → web01, web02; gw1 → db01. lyon: a single host. berlin: two hosts, no bastion.
const placed: Array<[number, string, string, number | null]> = [
  [1, "gw1", "paris", null],
  [2, "pve1", "paris", 1],
  [3, "web01", "paris", 2],
  [4, "web02", "paris", 2],
  [5, "db01", "paris", 1],
  [6, "solo", "lyon", null],
  [7, "b1", "berlin", null],
  [8, "b2", "berlin", null],
];
const places = new Map<number, HostPlace>(placed.map(([hostId, host, site, routeParent]) => [hostId, { hostId, host, client: "acme", site, routeParent, silentForSeconds: 30 }]));
interface Back {
  /** Seconds since each host's HostDown stopped, by host id. */
  hosts?: Array<[number, number]>;
  /** Seconds since each site's SiteUnreachable stopped, by site name (client acme). */
  sites?: Array<[string, number]>;
}
const context = (downElsewhere: number[] = [], back: Back = {}): TopologyContext => ({
  places,
  downElsewhere: new Set(downElsewhere),
  hostsBack: new Map(back.hosts ?? []),
  sitesBack: new Map((back.sites ?? []).map(([site, seconds]) => [siteKey("acme", site), seconds])),
});

/** Every host reporting, but those named silent for 60 s. */
function judged(silent: string[], options: { downElsewhere?: number[]; config?: typeof none; only?: number[]; back?: Back } = {}) {
  const hosts: ReportingHost[] = placed
    .filter(([id]) => !options.only || options.only.includes(id))
    .map(([hostId, host, site]) => ({ hostId, host, client: "acme", site, ageSeconds: silent.includes(host) ? 60 : 5, intervalSeconds: 10 }));
  const config = options.config ?? none;
  return judgeTopology(judgeAbsence(hosts, config), context(options.downElsewhere, options.back), config).map((o) => o.observation);
}
const hostDown = (observations: ReturnType<typeof judged>, host: string) => observations.find((o) => o.rule === "HostDown" && o.labels.host === host)!;
const siteUnreachable = (observations: ReturnType<typeof judged>, site: string) => observations.find((o) => o.rule === "SiteUnreachable" && o.labels.site === site);

describe("alerts that follow the topology", () => {
  test("hides the HostDown of hosts behind a down bastion and names them on the bastion's own alert", () => {
    const o = judged(["gw1", "pve1", "web01", "web02"]);
    for (const child of ["pve1", "web01", "web02"]) {
      assert.equal(hostDown(o, child).annotations.inhibited_by, "gw1", `${child} is hidden behind gw1, the topmost down host`);
      assert.match(hostDown(o, child).annotations.summary!, /\(inhibited by gw1\)$/);
      assert.equal(hostDown(o, child).active, true, "an inhibited alert still fires: it is shown, not paged");
    }
    const gw1 = hostDown(o, "gw1");
    assert.equal(gw1.annotations.inhibited_by, undefined);
    assert.equal(gw1.annotations.hosts_behind, "3");
    assert.equal(gw1.annotations.summary, "gw1 has sent no report for 60 s; 3 hosts behind it unreachable: pve1, web01, web02");
    assert.equal(hostDown(o, "db01").annotations.inhibited_by, undefined, "db01 still reports");
    assert.equal(siteUnreachable(o, "paris")!.active, false, "db01 reports, so the site is reachable");
  });

  test("hides guests behind a down hypervisor whose bastion is up", () => {
    const o = judged(["pve1", "web01"]);
    assert.equal(hostDown(o, "web01").annotations.inhibited_by, "pve1");
    assert.equal(hostDown(o, "pve1").annotations.hosts_behind, "1");
    assert.equal(hostDown(o, "pve1").annotations.summary, "pve1 has sent no report for 60 s; 1 host behind it unreachable: web01");
  });

  test("hides guests behind a Proxmox node known down by its own rule, though the node has no agent", () => {
    const o = judged(["web01", "web02"], { downElsewhere: [2], only: [1, 3, 4, 5] });
    assert.equal(hostDown(o, "web01").annotations.inhibited_by, "pve1");
    assert.equal(hostDown(o, "web02").annotations.inhibited_by, "pve1");
  });

  test("leaves a down host alone when nothing on its route is down", () => {
    const o = judged(["web01"]);
    assert.deepEqual(hostDown(o, "web01").annotations, { summary: "web01 has sent no report for 60 s" });
  });

  test("raises one SiteUnreachable naming the hosts when every host of a site is down, and inhibits each HostDown by the site", () => {
    const o = judged(["gw1", "pve1", "web01", "web02", "db01"]);
    const site = siteUnreachable(o, "paris")!;
    assert.deepEqual({ labels: site.labels, severity: site.severity, active: site.active, value: site.value, forSeconds: site.forSeconds },
      { labels: { client: "acme", site: "paris" }, severity: "critical", active: true, value: 5, forSeconds: 30 });
    assert.equal(site.annotations.summary, "every host of acme/paris is down: 5 hosts silent (db01, gw1, pve1, web01, web02)");
    for (const host of ["gw1", "pve1", "web01", "web02", "db01"]) assert.equal(hostDown(o, host).annotations.inhibited_by, "site paris");
    assert.equal(o.filter((x) => x.rule === "SiteUnreachable" && x.active).length, 1);
  });

  test("clears SiteUnreachable once one host of the site reports, and never judges a site of one host", () => {
    const o = judged(["b1", "solo"]);
    assert.equal(siteUnreachable(o, "berlin")!.cleared, true);
    assert.equal(siteUnreachable(o, "lyon"), undefined, "a site of one host is that host's HostDown");
    assert.equal(hostDown(o, "solo").annotations.inhibited_by, undefined);
  });

  test("SiteUnreachable can be disabled per site, and the site's hosts then page as before", () => {
    const config = rulesConfigSchema.parse({ SiteUnreachable: { overrides: [{ match: { site: "berlin" }, enabled: false }] } });
    const o = judged(["b1", "b2"], { config });
    assert.equal(siteUnreachable(o, "berlin"), undefined);
    assert.equal(hostDown(o, "b1").annotations.inhibited_by, undefined);
  });

  test("keeps a host hidden behind a cause that just came back until it has been silent its own threshold since", () => {
    // gw1 reported again 8 s ago; web01's agent is still reconnecting through it.
    let o = judged(["pve1", "web01"], { back: { hosts: [[1, 8]] } });
    assert.equal(hostDown(o, "pve1").annotations.inhibited_by, "gw1", "pve1 is given 30 s from gw1's return");
    assert.equal(hostDown(o, "web01").annotations.inhibited_by, "gw1", "the topmost cause, back or down, is named");
    assert.equal(hostDown(o, "gw1").active, false);
    assert.equal(hostDown(o, "gw1").annotations.hosts_behind, undefined, "a cause that is back hides no one down behind it");
    // 31 s after gw1's return, pve1 still silent is down on its own, and hides web01.
    o = judged(["pve1", "web01"], { back: { hosts: [[1, 31]] } });
    assert.equal(hostDown(o, "pve1").annotations.inhibited_by, undefined);
    assert.equal(hostDown(o, "pve1").annotations.hosts_behind, "1");
    assert.equal(hostDown(o, "web01").annotations.inhibited_by, "pve1");
  });

  test("keeps the rest of a site hidden by the site while it comes back, then lets a host still silent page", () => {
    // berlin's SiteUnreachable is still firing (0) or ended 20 s ago: b1 reports again, b2 is still on its way.
    for (const seconds of [0, 20]) {
      const o = judged(["b2"], { back: { sites: [["berlin", seconds]] } });
      assert.equal(siteUnreachable(o, "berlin")!.cleared, true);
      assert.equal(hostDown(o, "b2").annotations.inhibited_by, "site berlin");
    }
    assert.equal(hostDown(judged(["b2"], { back: { sites: [["berlin", 31]] } }), "b2").annotations.inhibited_by, undefined);
    assert.equal(hostDown(judged(["b1"], { back: { sites: [["berlin", 0]] } }), "b2").annotations.inhibited_by, undefined, "a host that reports is hidden by nothing");
  });

  test("passes hosts outside any site through unchanged, and survives a route that loops", () => {
    const loop = new Map<number, HostPlace>([[1, { hostId: 1, host: "a", client: "c", site: "s", routeParent: 2, silentForSeconds: 30 }], [2, { hostId: 2, host: "b", client: "c", site: "s", routeParent: 1, silentForSeconds: 30 }]]);
    const hosts: ReportingHost[] = [{ hostId: 1, host: "a", ageSeconds: 60, intervalSeconds: 10 }, { hostId: 9, host: "loose", ageSeconds: 60, intervalSeconds: 10 }];
    const o = judgeTopology(judgeAbsence(hosts, none), { places: loop, downElsewhere: new Set([2]), hostsBack: new Map(), sitesBack: new Map() }, none).map((x) => x.observation);
    assert.equal(hostDown(o, "a").annotations.inhibited_by, "b");
    assert.deepEqual(hostDown(o, "loose").annotations, { summary: "loose has sent no report for 60 s" });
  });
});
