// The collector's netmap.yaml section for the PVE stand-in (test/fakes/proxmox): one cluster
// "lab" of client acme, site paris-dc1, its API token secret in a file beside the config.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { FakeProxmox } from "../fakes/proxmox/server.ts";

/** Writes dir/pve.secret (mode 0600) and returns the `proxmox:` section that points at it. */
export function fakeProxmoxConfig(pve: FakeProxmox, dir: string): string {
  const secretFile = join(dir, "pve.secret");
  writeFileSync(secretFile, pve.secret, { mode: 0o600 });
  return [
    "proxmox:",
    "  - name: lab",
    `    url: ${pve.url}`,
    `    token_id: "${pve.tokenId}"`,
    `    token_secret_file: ${secretFile}`,
    `    fingerprint: "${pve.fingerprint}"`,
    "    client: acme",
    "    site: paris-dc1",
    "",
  ].join("\n");
}
