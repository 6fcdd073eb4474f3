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
