import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formatPhase, formatSummary, formatSummaryJson, progressPrinter } from "../../../collector/src/cli/install-report.ts";
import type { InstallOutcome } from "../../../collector/src/rollout/install.ts";

const MiB = 1024 * 1024;
const OUTCOMES: InstallOutcome[] = [
  { label: "web01", status: "started", version: "netmap-agent 0.1.0 (commit abc)", binary: "installed", sent: "xz", bytes: 26 * MiB },
  { label: "db01", status: "not-started", reason: "no systemd", version: "netmap-agent 0.1.0 (commit abc)", binary: "already there", bytes: 0 },
  { label: "gw", status: "failed", message: "host key of a/b/gw has changed; connection refused.\n  pinned: …" },
];

describe("netmap agent install's report", () => {
  test("a phase line shows its bar by bytes when bytes are known, else by hosts", () => {
    assert.equal(
      formatPhase({ phase: "upload", done: 8, total: 20, bytes: 52 * MiB, totalBytes: 104 * MiB, finished: false }, 6.34),
      "upload     [############............]  8/20 hosts  52.0/104.0 MiB  6.3 s",
    );
    assert.equal(formatPhase({ phase: "connect", done: 11, total: 22, bytes: 0, totalBytes: 0, finished: false }, 1), "connect    [############............]  11/22 hosts  1.0 s");
    assert.equal(formatPhase({ phase: "stage", done: 1, total: 1, bytes: MiB, totalBytes: MiB, finished: true }, 1), "stage      [########################]  1/1 site  1.0/1.0 MiB  1.0 s");
  });

  test("on a terminal the line is redrawn in place and host lines go above it; elsewhere only each phase's last line is written", () => {
    let clock = 0;
    const tty: string[] = [];
    const onTty = progressPrinter((t) => tty.push(t), true, () => clock);
    onTty.phase({ phase: "upload", done: 0, total: 2, bytes: 0, totalBytes: 0, finished: false });
    clock = 50;
    onTty.phase({ phase: "upload", done: 1, total: 2, bytes: 0, totalBytes: 0, finished: false }); // within 100 ms: not drawn
    onTty.above(() => tty.push("web01: uploading\n"));
    clock = 500;
    onTty.phase({ phase: "upload", done: 2, total: 2, bytes: 0, totalBytes: 0, finished: true });
    assert.deepEqual(tty, [
      "\r\x1b[Kupload     [........................]  0/2 hosts  0.0 s",
      "\r\x1b[K",
      "web01: uploading\n",
      "upload     [############............]  1/2 hosts  0.1 s",
      "\r\x1b[Kupload     [########################]  2/2 hosts  0.5 s\n",
    ]);

    const plain: string[] = [];
    const elsewhere = progressPrinter((t) => plain.push(t), false, () => clock);
    elsewhere.phase({ phase: "connect", done: 0, total: 1, bytes: 0, totalBytes: 0, finished: false });
    elsewhere.phase({ phase: "connect", done: 1, total: 1, bytes: 0, totalBytes: 0, finished: false });
    elsewhere.above(() => plain.push("web01: connecting\n"));
    elsewhere.phase({ phase: "connect", done: 1, total: 1, bytes: 0, totalBytes: 0, finished: true });
    assert.deepEqual(plain, ["web01: connecting\n", "connect    [########################]  1/1 host  0.0 s\n"]);
  });

  test("the table has a row per host: installed, already there, or failed with the first line of its reason", () => {
    const text = formatSummary(OUTCOMES);
    assert.equal(
      text,
      [
        "HOST   BINARY         SERVICE                   VERSION OR REASON",
        "web01  installed      started                   netmap-agent 0.1.0 (commit abc)",
        "db01   already there  not started (no systemd)  netmap-agent 0.1.0 (commit abc)",
        "gw     failed                                   host key of a/b/gw has changed; connection refused.",
        "summary: agent installed on 2 of 3 hosts (1 sent, 1 already there), 1 failed",
        "",
      ].join("\n"),
    );
  });

  test("--json has every host with its result and the counts", () => {
    assert.deepEqual(JSON.parse(formatSummaryJson(OUTCOMES, false)), {
      hosts: [
        { host: "web01", result: "installed", sent_as: "xz", service: "started", version: "netmap-agent 0.1.0 (commit abc)", bytes_sent: 26 * MiB },
        { host: "db01", result: "already there", service: "not-started", reason: "no systemd", version: "netmap-agent 0.1.0 (commit abc)", bytes_sent: 0 },
        { host: "gw", result: "failed", error: "host key of a/b/gw has changed; connection refused.\n  pinned: …" },
      ],
      installed: 1,
      already_there: 1,
      failed: 1,
      interrupted: false,
    });
  });

  test("a host whose agent.yaml was kept, given a release key, is named under the table and marked in --json", () => {
    const outcomes: InstallOutcome[] = [
      { ...(OUTCOMES[0] as InstallOutcome & { status: "started" }), releaseKey: "written" },
      { ...(OUTCOMES[1] as InstallOutcome & { status: "not-started" }), label: "db\u001b01", releaseKey: "kept" },
    ];
    const lines = formatSummary(outcomes).split("\n");
    assert.deepEqual(lines.slice(-3), ["summary: agent installed on 2 of 2 hosts (1 sent, 1 already there), 0 failed", "db\\u001b01: release key not written: agent.yaml kept, use --force-config", ""]);
    assert.deepEqual(JSON.parse(formatSummaryJson(outcomes, false)).hosts.map((h: { release_key?: string }) => h.release_key), ["written", "kept"]);
  });
});
