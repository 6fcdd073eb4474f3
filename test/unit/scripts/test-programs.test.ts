import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { missingTestPrograms, packagesOf, TEST_PROGRAMS } from "../../../scripts/lib/test-programs.ts";

test("npm test names each missing program's Debian package once, prometheus for promtool too", () => {
  const installed = new Set(["nats-server", "ssh", "ip", "chromium"]);
  const missing = missingTestPrograms((program) => (installed.has(program) ? `/usr/bin/${program}` : undefined));
  assert.deepEqual(missing.map((p) => p.program), TEST_PROGRAMS.map((p) => p.program).filter((p) => !installed.has(p)));
  assert.deepEqual(packagesOf(missing), ["prometheus", "prometheus-alertmanager", "graphviz", "ansible-core", "ansible-lint", "systemd", "openssh-server", "snmpd", "lldpd", "openssl", "docker.io", "busybox-static", "faketime", "podman", "fail2ban", "xz-utils"]);
});

test("every program the tests run is found on this machine, where npm test installed them", () => {
  assert.deepEqual(missingTestPrograms().map((p) => p.program), []);
});

test(".ci/run leaves the test programs to npm test and only starts services", () => {
  const ci = readFileSync(new URL("../../../.ci/run", import.meta.url), "utf8");
  for (const { pkg } of TEST_PROGRAMS.filter((p) => p.pkg !== "nats-server")) assert.doesNotMatch(ci, new RegExp(`missing\\+=\\(${pkg}\\)`), pkg);
  assert.match(ci, /^npm test$/m);
});
