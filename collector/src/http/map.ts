// The topology drawn (SVG) and as an Ansible dynamic inventory. Registered only when the
// collector has a topology to give (AppDeps.loadTopology).
import type { FastifyPluginAsync } from "fastify";
import type { Topology } from "../topology/model.ts";

export interface MapDeps {
  loadTopology: () => Promise<Topology>;
}

export const mapRoutes: FastifyPluginAsync<MapDeps> = async () => {};
