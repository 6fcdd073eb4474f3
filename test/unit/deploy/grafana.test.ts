// deploy/grafana/ as Grafana loads it: provisioning files and dashboards with the fields
// Grafana requires, every data source and variable they use defined, and every metric their
// PromQL names one that /metrics/hosts exports.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { nodeExporterText } from "../../../collector/src/hosts/exposition.ts";
import { sampleReport } from "../../helpers/reports.ts";

const dir = new URL("../../../deploy/grafana/", import.meta.url);
const read = (path: string) => readFileSync(new URL(path, dir), "utf8");
const datasources = parse(read("provisioning/datasources/netmap.yaml"));
const providers = parse(read("provisioning/dashboards/netmap.yaml"));
const dashboards = readdirSync(new URL("dashboards/", dir)).filter((f) => f.endsWith(".json")).map((file) => ({ file, json: JSON.parse(read(`dashboards/${file}`)) }));
/** Grafana's own variables and macros. */
const BUILTIN = new Set(["__rate_interval", "__interval", "__range", "__timeFilter", "__timeFrom", "__timeTo", "__name", "__auto"]);
const PANEL_TYPES = new Set(["stat", "gauge", "bargauge", "table", "timeseries", "text"]);
const exported = new Set(
  nodeExporterText([{ instance: "web01", client: "acme", site: "dc1", up: true, report: sampleReport() }])
    .split("\n").filter((line) => line.startsWith("# TYPE ")).map((line) => line.split(" ")[2]!),
);
const PROMQL_WORDS = new Set(["sum", "avg", "max", "min", "count", "rate", "by", "scalar", "vector", "or", "and", "unless", "without", "label_values", "irate", "increase"]);

describe("Grafana provisioning", () => {
  test("declares the Prometheus and the read-only PostgreSQL data source with fixed uids", () => {
    assert.equal(datasources.apiVersion, 1);
    const byUid = new Map(datasources.datasources.map((d: { uid: string }) => [d.uid, d]));
    assert.equal((byUid.get("netmap-prometheus") as { type: string }).type, "prometheus");
    const pg = byUid.get("netmap-postgres") as { type: string; user: string; jsonData: { database: string }; secureJsonData: { password: string } };
    assert.equal(pg.type, "grafana-postgresql-datasource");
    assert.equal(pg.user, "netmap_grafana", "the read-only role of docs/grafana.md");
    assert.equal(pg.jsonData.database, "netmap");
    assert.match(pg.secureJsonData.password, /^\$\{[A-Z_]+\}$/, "the password comes from the environment, never the file");
    for (const d of datasources.datasources) for (const field of ["name", "uid", "type"]) assert.ok(d[field], `${d.name}: ${field}`);
  });

  test("loads the dashboards from a file provider", () => {
    assert.equal(providers.apiVersion, 1);
    const [provider] = providers.providers;
    assert.equal(provider.type, "file");
    assert.ok(provider.name && provider.options.path);
  });
});

describe("Grafana dashboards", () => {
  const uids = new Set<string>(datasources.datasources.map((d: { uid: string }) => d.uid));

  test("fleet overview, host detail and Proxmox, each with a unique uid Grafana accepts", () => {
    assert.deepEqual(dashboards.map((d) => d.file).sort(), ["fleet-overview.json", "host-detail.json", "proxmox.json"]);
    const seen = new Set<string>();
    for (const { file, json } of dashboards) {
      assert.match(json.uid, /^[A-Za-z0-9_-]{1,40}$/, file);
      assert.ok(!seen.has(json.uid), `${file}: uid ${json.uid} used twice`);
      seen.add(json.uid);
      assert.ok(typeof json.title === "string" && json.title, file);
      assert.ok(Number.isInteger(json.schemaVersion) && json.schemaVersion >= 30, file);
      assert.ok(Array.isArray(json.panels) && json.panels.length, file);
      assert.ok(Array.isArray(json.templating.list), file);
    }
  });

  test("every panel has a unique id, a known type, a grid position inside 24 columns and targets on a provisioned data source", () => {
    for (const { file, json } of dashboards) {
      const ids = new Set<number>();
      for (const panel of json.panels) {
        const where = `${file} panel ${JSON.stringify(panel.title)}`;
        assert.ok(Number.isInteger(panel.id) && !ids.has(panel.id), `${where}: id`);
        ids.add(panel.id);
        assert.ok(PANEL_TYPES.has(panel.type), `${where}: type ${panel.type}`);
        const { x, y, w, h } = panel.gridPos;
        assert.ok([x, y, w, h].every(Number.isInteger) && w > 0 && h > 0 && x >= 0 && x + w <= 24, `${where}: gridPos`);
        assert.ok(uids.has(panel.datasource.uid), `${where}: data source ${panel.datasource.uid}`);
        const refIds = panel.targets.map((t: { refId: string }) => t.refId);
        assert.equal(new Set(refIds).size, refIds.length, `${where}: refIds`);
        for (const target of panel.targets) {
          assert.ok(uids.has(target.datasource.uid), `${where}: target data source`);
          assert.ok(panel.datasource.type === "prometheus" ? target.expr : target.rawSql, `${where}: query`);
        }
      }
    }
  });

  test("the host detail dashboard filters by client, site and host; every variable a query uses is defined", () => {
    const host = dashboards.find((d) => d.json.uid === "netmap-host")!.json;
    assert.deepEqual(host.templating.list.map((v: { name: string }) => v.name), ["client", "site", "host"]);
    for (const { file, json } of dashboards) {
      const defined = new Set(json.templating.list.map((v: { name: string }) => v.name));
      for (const v of json.templating.list) assert.ok(uids.has(v.datasource.uid) && v.type === "query", `${file} $${v.name}`);
      const queries = [...json.panels.flatMap((p: { targets: Array<{ expr?: string; rawSql?: string }> }) => p.targets.map((t) => t.expr ?? t.rawSql ?? "")),
        ...json.templating.list.map((v: { definition: string }) => v.definition)];
      for (const query of queries) {
        for (const [, name] of query.matchAll(/\$\{?(\w+)/g)) assert.ok(defined.has(name) || BUILTIN.has(name!), `${file}: $${name} in ${query}`);
      }
    }
  });

  test("every metric the PromQL names is one /metrics/hosts exports", () => {
    for (const { file, json } of dashboards) {
      const exprs = [...json.panels.flatMap((p: { targets: Array<{ expr?: string }> }) => p.targets.flatMap((t) => (t.expr ? [t.expr] : []))),
        ...json.templating.list.filter((v: { datasource: { type: string } }) => v.datasource.type === "prometheus").map((v: { definition: string }) => v.definition)];
      for (const expr of exprs) {
        // Names outside {...}, [...], quotes and by (...) lists: metrics and functions.
        const bare = expr.replace(/\{[^}]*\}/g, "").replace(/\[[^\]]*\]/g, "").replace(/"[^"]*"/g, "").replace(/\b(by|without)\s*\([^)]*\)/g, "").replace(/,\s*\w+\)/g, ")");
        for (const [word] of bare.matchAll(/[a-zA-Z_][a-zA-Z0-9_]*/g)) {
          if (PROMQL_WORDS.has(word)) continue;
          assert.ok(exported.has(word), `${file}: ${word} in ${expr} is not exported by /metrics/hosts`);
        }
      }
    }
  });
});
