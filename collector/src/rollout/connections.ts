// The rollout's SSH connections, one per route and opened once: a host's own, and each hop's
// that routes behind it jump over, so a target behind two bastions costs one new handshake
// (its own), not three. A hop that cannot be reached fails every route through it, with its error.
import type { Hop } from "../topology/model.ts";
import { formatHop } from "../topology/routes.ts";
import { openSshConnection, type SshConnection } from "../topology/ssh.ts";

export class ConnectionPool {
  readonly #open = new Map<string, Promise<SshConnection>>();
  readonly #options: { knownHostsFile: string; extraOptions: string[] };

  constructor(options: { knownHostsFile: string; extraOptions: string[] }) {
    this.#options = options;
  }

  /** The connection to the route's last hop, opened on first use. */
  get(hops: Hop[]): Promise<SshConnection> {
    const key = hops.map(formatHop).join(" → ");
    let connection = this.#open.get(key);
    if (!connection) this.#open.set(key, (connection = this.#connect(hops)));
    return connection;
  }

  async #connect(hops: Hop[]): Promise<SshConnection> {
    const through = new Map<string, string>();
    for (let i = 1; i < hops.length; i++) through.set(hops[i - 1]!.alias, (await this.get(hops.slice(0, i))).controlPath);
    return openSshConnection(hops, { ...this.#options, through });
  }

  /** Ends every connection (and so every session on them); the routes' last hops first. */
  async close(): Promise<void> {
    const open = [...this.#open.entries()].sort(([a], [b]) => b.length - a.length);
    for (const [, connection] of open) await connection.then((c) => c.close(), () => undefined);
  }
}
