// A private Prometheus (Debian's package) on a free port, scraping what a test gives it every
// second, and promtool's metrics linter.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitForPort } from "./nats-server.ts";
import { runProgram } from "./run.ts";

export interface TestPrometheus {
  url: string;
  /** An instant PromQL query's vector result. */
  query(promql: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  log(): string;
  close(): Promise<void>;
}

/** `scrapeConfigs` is the YAML list under scrape_configs:, already indented by two spaces. */
export async function startPrometheus(scrapeConfigs: string, files: Record<string, string> = {}): Promise<TestPrometheus> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "netmap-prometheus-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text, { mode: 0o600 });
  writeFileSync(join(dir, "prometheus.yml"), `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n${scrapeConfigs.replaceAll("$DIR", dir)}`);
  const child = spawn(
    "prometheus",
    [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let log = "";
  child.stderr!.on("data", (d) => (log += d));
  await waitForPort(port, 20_000);
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    log: () => log,
    async query(promql) {
      const response = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: promql })}`);
      const body = (await response.json()) as { status: string; error?: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
      if (body.status !== "success") throw new Error(`PromQL ${promql}: ${body.error}`);
      return body.data.result;
    },
    close: async () => {
      if (child.exitCode === null) await new Promise<void>((resolve) => { child.once("exit", () => resolve()); child.kill("SIGTERM"); });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * promtool check metrics on an exposition: its findings, one a line, and whether it parsed.
 * A text it cannot parse is a failure whatever the findings.
 */
export async function promtoolCheckMetrics(text: string): Promise<{ parsed: boolean; problems: string[] }> {
  const run = await runProgram("promtool", ["check", "metrics"], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin" }, input: text });
  const problems = `${run.stdout}${run.stderr}`.split("\n").filter(Boolean);
  return { parsed: !problems.some((line) => /error while linting|parse/i.test(line)), problems };
}
