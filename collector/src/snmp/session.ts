// The one place NetMap talks SNMP (net-snmp, pure JS): a session to one device, gets and
// bounded walks, every failure turned into an SnmpError naming the device. What comes back
// is raw (oid, type, value) and untrusted; parse.ts makes it a device's state.
import snmp from "net-snmp";
import { SnmpError } from "../errors.ts";
import type { SnmpCredentials } from "./config.ts";

export interface RawVarbind {
  oid: string;
  type: number;
  value: unknown;
}

export interface SessionOptions {
  address: string;
  port: number;
  credentials: SnmpCredentials;
  timeoutMs: number;
  retries: number;
  maxVarbinds: number;
  /** How the device is named in errors: "<entry>/<address>". */
  label: string;
}

const AUTH = { sha: snmp.AuthProtocols.sha, sha256: snmp.AuthProtocols.sha256 } as const;
// aes256: the Blumenthal key localisation Net-SNMP's agent uses.
const PRIV = { aes: snmp.PrivProtocols.aes, aes256: snmp.PrivProtocols.aes256b } as const;

export class SnmpSession {
  readonly #session: snmp.Session;
  readonly #options: SessionOptions;
  /** Datagrams that did not decode as SNMP: a device answering garbage times out, and says so. */
  #undecodable = 0;
  #closed = false;
  /** Responses received: one per GET, one per GETBULK of a walk. */
  responses = 0;

  constructor(options: SessionOptions) {
    this.#options = options;
    const common = {
      port: options.port,
      timeout: options.timeoutMs,
      retries: options.retries,
      transport: options.address.includes(":") ? ("udp6" as const) : ("udp4" as const),
      // An agent answering an OID at or before the one asked would make a walk loop forever.
      backwardsGetNexts: false,
      reportOidMismatchErrors: true,
    };
    const c = options.credentials;
    this.#session =
      c.version === "2c"
        ? snmp.createSession(options.address, c.community.reveal(), { ...common, version: snmp.Version2c })
        : snmp.createV3Session(
            options.address,
            {
              name: c.user,
              level: snmp.SecurityLevel.authPriv,
              authProtocol: AUTH[c.authProtocol],
              authKey: c.authPassword.reveal(),
              privProtocol: PRIV[c.privProtocol],
              privKey: c.privPassword.reveal(),
            },
            { ...common, version: snmp.Version3 },
          );
    // Without a listener a datagram that fails to decode would be an uncaught 'error' event.
    this.#session.on("error", () => void this.#undecodable++);
  }

  /** The values of these scalar OIDs; one missing on the device is absent from the answer. */
  get(oids: string[]): Promise<RawVarbind[]> {
    return new Promise((resolve, reject) => {
      this.#session.get(oids, (error, varbinds) => {
        this.responses++;
        if (error) return reject(this.#failure(error, `get ${oids.join(" ")}`));
        resolve((varbinds ?? []).filter((v) => !snmp.isVarbindError(v)).map(raw));
      });
    });
  }

  /** Every varbind under `oid`, at most maxVarbinds of them (then SNMP_WALK_BOUND). */
  walk(oid: string): Promise<RawVarbind[]> {
    const out: RawVarbind[] = [];
    let bounded = false;
    return new Promise((resolve, reject) => {
      this.#session.subtree(
        oid,
        20,
        (varbinds: snmp.Varbind[]) => {
          this.responses++;
          for (const v of varbinds) {
            if (snmp.isVarbindError(v)) continue;
            if (out.length >= this.#options.maxVarbinds) {
              bounded = true;
              return true;
            }
            out.push(raw(v));
          }
          return false;
        },
        (error: Error | null) => {
          if (bounded) return reject(new SnmpError("SNMP_WALK_BOUND", `snmp ${this.#options.label}: the walk of ${oid} went past ${this.#options.maxVarbinds} values and was cut`));
          if (error) return reject(this.#failure(error, `walk ${oid}`));
          resolve(out);
        },
      );
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#session.close();
    } catch {
      // Already closed by a socket error.
    }
  }

  #failure(error: Error, what: string): SnmpError {
    const label = `snmp ${this.#options.label}`;
    if (error.name === "RequestTimedOutError") {
      const garbage = this.#undecodable ? `; it answered ${this.#undecodable} datagram(s) that are not SNMP` : "";
      const v3 = this.#options.credentials.version === "3" ? " (or a wrong v3 privacy password)" : "";
      return new SnmpError("SNMP_TIMEOUT", `${label}: no answer to ${what} within ${this.#options.timeoutMs} ms × ${this.#options.retries + 1}${garbage}${garbage ? "" : v3}`);
    }
    if (error instanceof snmp.ResponseInvalidError && error.code === snmp.ResponseInvalidCode.EAuthFailure) {
      const user = this.#options.credentials.version === "3" ? ` for user ${JSON.stringify(this.#options.credentials.user)}` : "";
      return new SnmpError("SNMP_AUTH", `${label}: authentication refused${user}: ${error.message}`);
    }
    return new SnmpError("SNMP_BAD_RESPONSE", `${label}: ${what}: ${error.message}`);
  }
}

function raw(v: snmp.Varbind): RawVarbind {
  return { oid: v.oid, type: v.type as number, value: v.value };
}
