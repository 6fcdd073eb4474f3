import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { nodeExporterText, type ExportedHost } from "../../../collector/src/hosts/exposition.ts";
import { promLabelValue } from "../../../collector/src/text/escape.ts";
import { promtoolCheckMetrics } from "../../helpers/prometheus.ts";
import { sampleReport } from "../../helpers/reports.ts";

const host = (overrides: Partial<ExportedHost> = {}): ExportedHost => ({ instance: "web01", client: "acme", site: "paris-dc1", up: true, report: sampleReport(), ...overrides });
const samples = (text: string, name: string) => text.split("\n").filter((line) => line.startsWith(`${name}{`));

describe("/metrics/hosts exposition", () => {
  test("promLabelValue - escapes backslash, double quote and line feed, the format's three escapes", () => {
    assert.equal(promLabelValue('a\\b"c\nd'), '"a\\\\b\\"c\\nd"');
    assert.equal(promLabelValue("Société Générale 東京"), '"Société Générale 東京"');
  });

  test("labels every sample with instance, netmap_client and netmap_site, and node_exporter's own labels", () => {
    const text = nodeExporterText([host()]);
    assert.deepEqual(samples(text, "node_memory_MemTotal_bytes"), [`node_memory_MemTotal_bytes{instance="web01",netmap_client="acme",netmap_site="paris-dc1"} ${8 * 1024 ** 3}`]);
    assert.ok(samples(text, "node_cpu_seconds_total").includes('node_cpu_seconds_total{instance="web01",netmap_client="acme",netmap_site="paris-dc1",cpu="2",mode="user"} 102'));
    assert.equal(samples(text, "node_cpu_seconds_total").length, 4 * 8);
    assert.ok(samples(text, "node_filesystem_avail_bytes").some((line) => line.includes('device="/dev/vda1",fstype="ext4",mountpoint="/"')));
    assert.ok(samples(text, "node_network_receive_bytes_total").includes('node_network_receive_bytes_total{instance="web01",netmap_client="acme",netmap_site="paris-dc1",device="eth0"} 123456'));
    assert.match(text, /^# TYPE node_disk_written_bytes_total counter$/m);
  });

  test("leaves out a counter an older agent does not send instead of exporting 0", () => {
    const report = sampleReport();
    report.interfaces.forEach((nic) => delete nic.rxBytesTotal);
    report.cpu!.times = [];
    const text = nodeExporterText([host({ report })]);
    assert.doesNotMatch(text, /node_network_receive_bytes_total|node_cpu_seconds_total/);
    assert.match(text, /^node_network_transmit_bytes_total\{/m);
  });

  test("a host without a site has no client or site label; two hosts sharing every label are told apart by id", () => {
    const text = nodeExporterText([host({ client: null, site: null, id: 7 })]);
    assert.deepEqual(samples(text, "netmap_host_up"), ['netmap_host_up{instance="web01",netmap_host_id="7"} 1']);
  });

  test("hostile names from an agent stay inside their label and the text still parses", async () => {
    const report = sampleReport({ mounts: [{ ...sampleReport().mounts[0]!, mountpoint: '/mnt/a"} 1\nevil_total 1 #\\' }] });
    const text = nodeExporterText([host({ instance: 'x",evil="1', report })]);
    assert.doesNotMatch(text, /^evil_total/m);
    const { parsed, problems } = await promtoolCheckMetrics(text);
    assert.ok(parsed, problems.join("\n"));
  });

  test("a host that is down says netmap_host_up 0 and exports nothing else; families stay grouped", () => {
    const text = nodeExporterText([host(), host({ instance: "db01", up: false })]);
    assert.deepEqual(samples(text, "netmap_host_up"), [
      'netmap_host_up{instance="web01",netmap_client="acme",netmap_site="paris-dc1"} 1',
      'netmap_host_up{instance="db01",netmap_client="acme",netmap_site="paris-dc1"} 0',
    ]);
    assert.doesNotMatch(text, /^node_[a-z_A-Z]+\{instance="db01"/m);
    const names = text.split("\n").filter((line) => line && !line.startsWith("#")).map((line) => line.slice(0, line.indexOf("{")));
    const runs = names.filter((name, i) => name !== names[i - 1]);
    assert.equal(new Set(runs).size, runs.length, "each family's samples are together");
  });
});
