// The fault tests' TCP proxy (test/helpers/tcp-proxy.ts). Its cut() once reset sockets whose
// shutdown was pending: libuv refuses that reset (EINVAL) and Node then never closes the
// handle, so the process spun at 100% CPU at exit, waiting for it (outages.test.ts did).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";

test("a process that cut its proxy while connections were closing exits", { timeout: 60_000 }, async () => {
  const child = spawn(process.execPath, [join(import.meta.dirname, "..", "..", "fixtures", "tcp-proxy-cut-while-closing.ts")], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const stuck = new Promise<"stuck">((resolve) => setTimeout(() => resolve("stuck"), 20_000).unref());
  const outcome = await Promise.race([exited, stuck]);
  if (outcome === "stuck") child.kill("SIGKILL");
  assert.equal(out, "done\n", "the scenario ran to its end");
  assert.equal(outcome, 0, "the process exited by itself within 20 s of starting");
});
