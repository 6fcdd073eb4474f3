import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";

const LOG = new URL("../../../collector/src/log.ts", import.meta.url).href;
const logLine = (format: string) =>
  spawnSync(process.execPath, ["--input-type=module", "-e", `const { createLogger } = await import(${JSON.stringify(LOG)}); createLogger("info", ${JSON.stringify(format)}).info({ component: "http", request: { token: "s3cret" } }, "listening");`], { encoding: "utf8" }).stdout;

test("logs are JSON lines when not on a terminal, with auto as with json", () => {
  for (const format of ["auto", "json"]) {
    const line = JSON.parse(logLine(format));
    assert.equal(line.msg, "listening");
    assert.equal(line.request.token, "[Redacted]");
  }
});

test("pretty logs are one readable line: time, level, message, fields, secrets still redacted", () => {
  const text = logLine("pretty");
  assert.match(text, /^\[\d\d:\d\d:\d\d\] INFO: listening \{"component":"http","request":\{"token":"\[Redacted\]"\}\}\n$/);
  assert.doesNotMatch(text, /s3cret/);
  assert.throws(() => JSON.parse(text));
});
