import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { diffTrees } from "../../../scripts/lib/tree-diff.ts";

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "netmap-tree-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

test("diffTrees - names files that changed, are missing or are extra, and nothing for equal trees", () => {
  const committed = tree({ "netmap/v1/report.ts": "a", "google/protobuf/timestamp.ts": "t", "old.ts": "x" });
  const generated = tree({ "netmap/v1/report.ts": "b", "google/protobuf/timestamp.ts": "t", "netmap/v1/alert.ts": "n" });
  const same = tree({ "netmap/v1/report.ts": "b", "google/protobuf/timestamp.ts": "t", "netmap/v1/alert.ts": "n" });
  try {
    assert.deepEqual(diffTrees(committed, generated), [
      { path: "netmap/v1/alert.ts", change: "missing" },
      { path: "netmap/v1/report.ts", change: "changed" },
      { path: "old.ts", change: "extra" },
    ]);
    assert.deepEqual(diffTrees(same, generated), []);
    assert.deepEqual(diffTrees(join(committed, "absent"), generated).length, 3);
  } finally {
    for (const dir of [committed, generated, same]) rmSync(dir, { recursive: true, force: true });
  }
});
