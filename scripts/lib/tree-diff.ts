// Compares two directory trees file by file, for the generated-code drift check.
import { readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";

export interface TreeChange {
  /** Path relative to the trees' roots, with forward slashes. */
  path: string;
  /** missing: only in `expected`; extra: only in `actual`; changed: contents differ. */
  change: "missing" | "extra" | "changed";
}

/** The files where `actual` differs from `expected`; both may be absent (an absent tree is empty). */
export function diffTrees(actual: string, expected: string): TreeChange[] {
  const actualFiles = listFiles(actual);
  const expectedFiles = listFiles(expected);
  const changes: TreeChange[] = [];
  for (const path of new Set([...actualFiles, ...expectedFiles])) {
    if (!actualFiles.has(path)) changes.push({ path, change: "missing" });
    else if (!expectedFiles.has(path)) changes.push({ path, change: "extra" });
    else if (!readFileSync(join(actual, path)).equals(readFileSync(join(expected, path)))) changes.push({ path, change: "changed" });
  }
  return changes.sort((a, b) => a.path.localeCompare(b.path));
}

function listFiles(dir: string): Set<string> {
  let entries;
  try {
    entries = readdirSync(dir, { recursive: true, withFileTypes: true });
  } catch {
    return new Set();
  }
  return new Set(entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)).split("\\").join("/")));
}
