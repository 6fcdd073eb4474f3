// The topology drawn (SVG) and as an Ansible dynamic inventory. Registered only when the
// collector has a topology to give (AppDeps.loadTopology).
import type { FastifyPluginAsync } from "fastify";
import type { MapTheme } from "../topology/graph.ts";
import type { Topology } from "../topology/model.ts";
import { drawTopology, inventoryOf } from "../topology/service.ts";

export interface MapDeps {
  loadTopology: () => Promise<Topology>;
}

// The console draws the SVG into its page after keeping only shapes, text and host links
// (web/src/map.ts cleanSvg). Opened on its own, it may be framed by the page, and
// nothing in it may run, load or submit anything, whatever a name smuggled into it.
const SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'";

// `expand`: "all", or the clients (slug) and sites (client-slug/site-slug) drawn open, comma
// separated; the others are one node each, linking to `/#toggle=<key>` for the console to open.
const EXPAND = "^(all|([a-z0-9_][a-z0-9._-]*(/[a-z0-9_][a-z0-9._-]*)?)(,[a-z0-9_][a-z0-9._-]*(/[a-z0-9_][a-z0-9._-]*)?)*)?$";

export const mapRoutes: FastifyPluginAsync<MapDeps> = async (app, { loadTopology }) => {
  app.get<{ Querystring: { theme?: MapTheme; expand?: string; containers?: "shown" | "collapsed" } }>(
    "/api/v1/topology.svg",
    {
      schema: {
        querystring: {
          type: "object",
          properties: { theme: { type: "string", enum: ["light", "dark"] }, expand: { type: "string", maxLength: 20_000, pattern: EXPAND }, containers: { type: "string", enum: ["shown", "collapsed"] } },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const { expand } = request.query;
      const svg = await drawTopology(await loadTopology(), "svg", {
        theme: request.query.theme ?? "light",
        expand: expand === undefined || expand === "all" ? "all" : new Set(expand.split(",").filter(Boolean)),
        groupHref: (key) => `/#toggle=${key}`,
        collapseContainers: request.query.containers === "collapsed",
      });
      return reply
        .type("image/svg+xml; charset=utf-8")
        .header("cache-control", "no-cache")
        .header("x-content-type-options", "nosniff")
        .header("content-security-policy", SVG_POLICY)
        .send(svg);
    },
  );

  app.get("/api/v1/inventory/ansible", async () => inventoryOf(await loadTopology()));
};
