// Pieces every program's config loader uses.
import { parse as parseYaml } from "yaml";
import { ConfigError } from "./errors.ts";

/** Seconds in a duration written as Prometheus writes them: 500ms, 30s, 2m, 1h. */
export function parseDurationSeconds(value: number | string): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value.trim());
  if (!match) return undefined;
  return Number(match[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[match[2] as "ms" | "s" | "m" | "h"];
}

const SIZE_UNITS: Record<string, number> = { "": 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** Bytes in a size written like 100MB, 512MiB, 1GB or a plain number of bytes. */
export function parseSizeBytes(value: number | string): number | undefined {
  if (typeof value === "number") return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  const match = /^(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?$/i.exec(value.trim());
  if (!match) return undefined;
  return Math.floor(Number(match[1]) * SIZE_UNITS[(match[2] ?? "").toLowerCase()]!);
}

/** Freezes a config object and everything in it. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/**
 * The YAML document of a config file, null for an empty one. Errors name the
 * file; `path` is as the user wrote it.
 */
export function parseYamlConfig(text: string, path: string): unknown {
  try {
    return parseYaml(text) ?? null;
  } catch (error) {
    throw new ConfigError(`config file ${path}: not valid YAML: ${(error as Error).message}`);
  }
}
