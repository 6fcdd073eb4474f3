// What `netmap ssh-config` writes, read by the real OpenSSH client: a name an agent chose must
// never become a directive that ssh acts on (issue 10, finding 1: `Match exec` in a comment
// that a newline ended ran a command on the operator's machine).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { renderTopologySshConfig } from "../../collector/src/topology/ssh-config.ts";
import { hostileTopology, matchExecName } from "../helpers/hostile.ts";

/** `ssh -G`: parse the config and print what ssh would use for `alias`, connecting nowhere. */
function sshG(configFile: string, alias: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync("ssh", ["-G", "-F", configFile, alias], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 });
  if (result.error) throw new Error(`cannot run ssh (install openssh-client): ${result.error.message}`);
  return result;
}

describe("netmap ssh-config read by OpenSSH (ssh -G)", () => {
  const dir = mkdtempSync(join(tmpdir(), "netmap-ssh-config-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("a hostname carrying `Match exec` runs nothing, and the other hosts resolve as written", () => {
    const touched = join(dir, "pwned");
    const configFile = join(dir, "config");
    writeFileSync(configFile, renderTopologySshConfig(hostileTopology(matchExecName(touched)), { knownHostsFile: join(dir, "known_hosts") }));

    for (const alias of ["acme.dc1.web01", "acme.dc1.behind", "zz"]) {
      const result = sshG(configFile, alias);
      assert.equal(result.status, 0, result.stderr);
      assert.equal(existsSync(touched), false, `ssh -G ${alias} ran the command an agent's hostname carried`);
    }
    const web01 = sshG(configFile, "acme.dc1.web01").stdout;
    assert.match(web01, /^hostname 10\.0\.0\.5$/m);
    assert.match(web01, /^proxyjump acme\.dc1\.gw1$/m);
    assert.match(sshG(configFile, "zz").stdout, /^hostname zz$/m, "no Host block named zz was written");
  });
});
