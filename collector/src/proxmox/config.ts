// The `proxmox:` section of netmap.yaml: one entry per cluster. The token
// secret is read from its file here (no network) and kept in a Secret, which
// prints as [redacted] wherever it is logged or serialised.
import { inspect } from "node:util";
import { z } from "zod";
import { readSecretFile, type SecretFileOptions } from "../../../lib/secret-file.ts";
import { parseDurationSeconds } from "../../../lib/settings.ts";
import { ConfigError } from "../errors.ts";

export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toJSON(): string {
    return "[redacted]";
  }
  toString(): string {
    return "[redacted]";
  }
  [inspect.custom](): string {
    return "[redacted]";
  }
}

export interface ProxmoxClusterConfig {
  readonly name: string;
  readonly url: string;
  readonly tokenId: string;
  readonly tokenSecret: Secret;
  /** "AB:CD:…", 32 bytes upper-case hex; null: verify with the system CAs. */
  readonly fingerprint: string | null;
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  readonly concurrency: number;
  readonly client: string;
  readonly site: string;
}

export const seconds = (setting: string, fallback: string) =>
  z
    .union([z.number(), z.string()])
    .default(fallback)
    .transform((value, ctx) => {
      const s = parseDurationSeconds(value);
      if (s === undefined || s <= 0) {
        ctx.addIssue({ code: "custom", message: `${setting}: expected a positive duration like 30s or 2m, got ${JSON.stringify(value)}` });
        return z.NEVER;
      }
      return s;
    });

export const topologyName = z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, "expected letters, digits, _ . -");

export const proxmoxClusterSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9_-]{1,64}$/, "proxmox[].name: expected 1-64 characters of [a-z0-9_-]"),
    url: z.string().refine((value) => {
      try {
        const url = new URL(value);
        return url.protocol === "https:" && (url.pathname === "/" || url.pathname === "");
      } catch {
        return false;
      }
    }, "proxmox[].url: expected https://HOST:PORT (the API is under /api2/json)"),
    token_id: z.string().regex(/^[^\s@!=]+@[^\s@!=]+![A-Za-z][A-Za-z0-9._-]*$/, "proxmox[].token_id: expected USER@REALM!TOKENID"),
    token_secret_file: z.string().min(1),
    fingerprint: z
      .string()
      .transform((value, ctx) => {
        const hex = value.replace(/[:\s]/g, "").toUpperCase();
        if (!/^[0-9A-F]{64}$/.test(hex)) {
          ctx.addIssue({ code: "custom", message: "proxmox[].fingerprint: expected the certificate's SHA-256 fingerprint, 32 hex bytes like AB:CD:…" });
          return z.NEVER;
        }
        return hex.match(/../g)!.join(":");
      })
      .optional(),
    interval: seconds("proxmox[].interval", "60s"),
    timeout: seconds("proxmox[].timeout", "10s"),
    concurrency: z.number().int().min(1).max(64).default(8),
    client: topologyName,
    site: topologyName,
  })
  .strict();

export function proxmoxClusters(given: ReadonlyArray<z.output<typeof proxmoxClusterSchema>>, secrets: SecretFileOptions = {}): ProxmoxClusterConfig[] {
  const seen = new Set<string>();
  return given.map((c, index) => {
    if (seen.has(c.name)) throw new ConfigError(`proxmox[${index}].name: ${JSON.stringify(c.name)} is used twice`);
    seen.add(c.name);
    const secret = readSecretFile(c.token_secret_file, `proxmox[${index}].token_secret_file`, secrets);
    return {
      name: c.name,
      url: c.url.replace(/\/+$/, ""),
      tokenId: c.token_id,
      tokenSecret: new Secret(secret),
      fingerprint: c.fingerprint ?? null,
      intervalSeconds: c.interval,
      timeoutSeconds: c.timeout,
      concurrency: c.concurrency,
      client: c.client,
      site: c.site,
    };
  });
}
