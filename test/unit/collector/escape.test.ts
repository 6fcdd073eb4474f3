import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Gauge, Registry } from "prom-client";
import { formatTable } from "../../../collector/src/cli/command-line.ts";
import { formatAlertsTable } from "../../../collector/src/cli/alerts.ts";
import { formatHostsTable } from "../../../collector/src/cli/hosts.ts";
import { formatSummary } from "../../../collector/src/cli/install-report.ts";
import { chatText, csvField, terminalSafe, terminalText } from "../../../collector/src/text/escape.ts";
import { TERMINAL_HOSTILE } from "../../helpers/hostile.ts";

/** What a terminal acts on: C0 but line feed and tab, DEL, C1. */
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

describe("terminal escaping", () => {
  test("terminalSafe - every C0, DEL and C1 character shows as its \\u escape, line breaks included", () => {
    assert.equal(terminalSafe("a\x1b[2Jb\nc\td\x7fe\u009bf\0g"), "a\\u001b[2Jb\\u000ac\\u0009d\\u007fe\\u009bf\\u0000g");
    assert.equal(terminalSafe("Société Générale 東京 🚀"), "Société Générale 東京 🚀", "printable text is left alone");
  });

  test("terminalText - keeps an output's own lines and tabs, escapes the rest", () => {
    assert.equal(terminalText("HOST\tSTATUS\nweb\x1b]0;x\x07\r\n"), "HOST\tSTATUS\nweb\\u001b]0;x\\u0007\\u000d\n");
  });

  test("terminalText - JSON passes through meaning the same", () => {
    const value = { hostname: TERMINAL_HOSTILE, note: "Ω\u2028" };
    const shown = terminalText(JSON.stringify(value, null, 2));
    assert.doesNotMatch(shown, RAW_CONTROL);
    assert.deepEqual(JSON.parse(shown), value);
  });

  test("formatTable - a hostile cell stays one line and the columns stay aligned", () => {
    const text = formatTable([["NAME", "STATUS"], ["a\nb\x1b[31m", "up"], ["c", "down"]]);
    assert.equal(text, `${"NAME".padEnd(18)}  STATUS\na\\u000ab\\u001b[31m  up\n${"c".padEnd(18)}  down\n`);
  });

  test("the hosts, alerts and install summary printers escape what agents named", () => {
    const host = {
      id: 1, agentId: "a", hostname: TERMINAL_HOSTILE, status: "up" as const, lastSeen: null, ageSeconds: 1, os: null, cpuPercent: 1, memoryPercent: 1,
      load1: 0.1, logicalCores: 1, memoryTotalBytes: 1, fullestMount: { mountpoint: TERMINAL_HOSTILE, usedPercent: 50 }, addresses: [TERMINAL_HOSTILE], address: null, claims: [TERMINAL_HOSTILE],
      agentVersion: TERMINAL_HOSTILE,
    };
    const alert = {
      fingerprint: "f", rule: "MountFull", severity: "warning", state: "firing", labels: { host: TERMINAL_HOSTILE }, annotations: { summary: TERMINAL_HOSTILE },
      value: 1, activeSince: new Date().toISOString(), startsAt: null, endsAt: null, acknowledged: { by: TERMINAL_HOSTILE, at: "", comment: "" },
    };
    for (const text of [
      formatHostsTable([host]),
      formatAlertsTable([alert] as unknown as Parameters<typeof formatAlertsTable>[0]),
      formatSummary([{ label: TERMINAL_HOSTILE, status: "failed", message: "x" }]),
    ]) {
      assert.doesNotMatch(text, RAW_CONTROL, text);
      assert.match(text, /web\\u001b\[2J/);
    }
  });
});

describe("Prometheus labels", () => {
  // /metrics carries only fixed label values today (outcome="stored"…); this is the guarantee a
  // label built from a host name would rely on: prom-client escapes \, " and the line feed.
  test("prom-client writes a hostile label value inside its quotes, and no sample or comment line comes from it", async () => {
    const registry = new Registry();
    const gauge = new Gauge({ name: "netmap_test_up", help: "test", labelNames: ["host"], registers: [registry] });
    const hostile = `evil"} 1\nfake_metric{x="y"} 2\n# TYPE fake gauge\\`;
    gauge.set({ host: hostile }, 1);
    const lines = (await registry.metrics()).trimEnd().split("\n");
    assert.deepEqual(lines.filter((line) => !line.startsWith("# HELP netmap_test_up") && !line.startsWith("# TYPE netmap_test_up")), [
      'netmap_test_up{host="evil\\"} 1\\nfake_metric{x=\\"y\\"} 2\\n# TYPE fake gauge\\\\"} 1',
    ]);
  });
});

describe("chat and CSV escaping", () => {
  test("chatText - a mention, a link and formatting show as text", () => {
    assert.equal(chatText("<!channel> <https://evil|ok> & *bold*\x1b"), "&lt;!channel&gt; &lt;https://evil|ok&gt; &amp; *\u200bbold*\u200b\\u001b");
  });

  test("csvField - quoted, quotes doubled, a would-be formula made inert", () => {
    assert.equal(csvField('web "01", east\nrack'), '"web ""01"", east\nrack"');
    for (const formula of ["=cmd|' /C calc'!A0", "+1", "-1+2", "@SUM(A1)", "\t=1"]) assert.equal(csvField(formula), `"'${formula.replace(/"/g, '""')}"`);
    assert.equal(csvField("10.0.0.5"), '"10.0.0.5"');
  });
});
