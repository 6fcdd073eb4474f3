// A private prometheus-alertmanager (Debian's package) on a free port.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitForPort } from "./nats-server.ts";

export interface TestAlertmanager {
  url: string;
  close(): Promise<void>;
}

export async function startAlertmanager(): Promise<TestAlertmanager> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "netmap-alertmanager-"));
  writeFileSync(join(dir, "alertmanager.yml"), "route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n");
  const child = spawn(
    "prometheus-alertmanager",
    [`--config.file=${join(dir, "alertmanager.yml")}`, `--storage.path=${dir}`, `--web.listen-address=127.0.0.1:${port}`, "--cluster.listen-address="],
    { stdio: "ignore" },
  );
  await waitForPort(port, 15_000);
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      if (child.exitCode === null) await new Promise<void>((resolve) => { child.once("exit", () => resolve()); child.kill("SIGTERM"); });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
