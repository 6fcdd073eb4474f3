// The `snmp:` section of netmap.yaml: one entry per group of devices sharing credentials.
// Community and v3 passwords are read from their files here (no network) and kept in
// Secrets, which print as [redacted] wherever they are logged or serialised.
import { readSecretFile, type SecretFileOptions } from "../../../lib/secret-file.ts";
import { z } from "zod";
import { ConfigError } from "../errors.ts";
import { Secret, seconds, topologyName } from "../proxmox/config.ts";
import { targetProblem } from "./targets.ts";

export type SnmpCredentials =
  | { readonly version: "2c"; readonly community: Secret }
  | {
      readonly version: "3";
      readonly user: string;
      readonly authProtocol: "sha" | "sha256";
      readonly authPassword: Secret;
      readonly privProtocol: "aes" | "aes256";
      readonly privPassword: Secret;
    };

export interface SnmpTargetConfig {
  readonly name: string;
  readonly targets: readonly string[];
  readonly port: number;
  readonly credentials: SnmpCredentials;
  readonly intervalSeconds: number;
  /** One request's wait before a retry. */
  readonly timeoutSeconds: number;
  readonly retries: number;
  /** The most devices polled at once. */
  readonly concurrency: number;
  /** The most varbinds one table walk takes before it is cut (a walk that never ends). */
  readonly maxVarbinds: number;
  /** The longest one device's whole poll may take. */
  readonly deviceDeadlineSeconds: number;
  readonly client: string;
  readonly site: string;
}

export const snmpTargetSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9_-]{1,64}$/, "snmp[].name: expected 1-64 characters of [a-z0-9_-]"),
    targets: z
      .array(z.string())
      .min(1, "snmp[].targets: list at least one address or CIDR range")
      .superRefine((targets, ctx) => {
        for (const target of targets) {
          const problem = targetProblem(target);
          if (problem) ctx.addIssue({ code: "custom", message: `snmp[].targets: ${problem}` });
        }
      }),
    port: z.number().int().min(1).max(65535).default(161),
    version: z.union([z.literal("2c"), z.literal("3"), z.literal(3)]).transform((v) => String(v) as "2c" | "3"),
    community_file: z.string().min(1).optional(),
    user: z.string().regex(/^[\x21-\x7e]{1,32}$/, "snmp[].user: expected 1-32 printable characters").optional(),
    auth_protocol: z.enum(["sha", "sha256"]).optional(),
    auth_password_file: z.string().min(1).optional(),
    priv_protocol: z.enum(["aes", "aes256"]).optional(),
    priv_password_file: z.string().min(1).optional(),
    interval: seconds("snmp[].interval", "60s"),
    timeout: seconds("snmp[].timeout", "2s"),
    retries: z.number().int().min(0).max(5).default(1),
    concurrency: z.number().int().min(1).max(256).default(16),
    max_varbinds: z.number().int().min(100).max(1_000_000).default(20_000),
    device_deadline: seconds("snmp[].device_deadline", "30s"),
    client: topologyName,
    site: topologyName,
  })
  .strict();

function readSecret(index: number, setting: string, file: string | undefined, secrets: SecretFileOptions): Secret {
  if (file === undefined) throw new ConfigError(`snmp[${index}].${setting}: required`);
  return new Secret(readSecretFile(file, `snmp[${index}].${setting}`, secrets));
}

export function snmpTargets(given: ReadonlyArray<z.output<typeof snmpTargetSchema>>, secrets: SecretFileOptions = {}): SnmpTargetConfig[] {
  const seen = new Set<string>();
  return given.map((c, index) => {
    if (seen.has(c.name)) throw new ConfigError(`snmp[${index}].name: ${JSON.stringify(c.name)} is used twice`);
    seen.add(c.name);
    const v3Settings = ["user", "auth_protocol", "auth_password_file", "priv_protocol", "priv_password_file"] as const;
    let credentials: SnmpCredentials;
    if (c.version === "2c") {
      const stray = v3Settings.find((s) => c[s] !== undefined);
      if (stray) throw new ConfigError(`snmp[${index}].${stray}: only for version 3`);
      credentials = { version: "2c", community: readSecret(index, "community_file", c.community_file, secrets) };
    } else {
      if (c.community_file !== undefined) throw new ConfigError(`snmp[${index}].community_file: only for version 2c`);
      const missing = v3Settings.find((s) => c[s] === undefined);
      // authPriv only: a v3 device polled without privacy would send its tables in clear.
      if (missing) throw new ConfigError(`snmp[${index}].${missing}: required for version 3 (NetMap uses authPriv)`);
      const authPassword = readSecret(index, "auth_password_file", c.auth_password_file, secrets);
      const privPassword = readSecret(index, "priv_password_file", c.priv_password_file, secrets);
      for (const [setting, secret] of [["auth_password_file", authPassword], ["priv_password_file", privPassword]] as const) {
        if (secret.reveal().length < 8) throw new ConfigError(`snmp[${index}].${setting}: SNMPv3 passwords are at least 8 characters`);
      }
      credentials = { version: "3", user: c.user!, authProtocol: c.auth_protocol!, authPassword, privProtocol: c.priv_protocol!, privPassword };
    }
    return {
      name: c.name,
      targets: c.targets,
      port: c.port,
      credentials,
      intervalSeconds: c.interval,
      timeoutSeconds: c.timeout,
      retries: c.retries,
      concurrency: c.concurrency,
      maxVarbinds: c.max_varbinds,
      deviceDeadlineSeconds: c.device_deadline,
      client: c.client,
      site: c.site,
    };
  });
}
