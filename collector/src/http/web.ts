// The status page: a few static files from web/, read once at start.
import { readFileSync } from "node:fs";
import type { FastifyPluginAsync } from "fastify";

const WEB_DIR = new URL("../../../web/", import.meta.url);
const FILES: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/style.css": { file: "style.css", type: "text/css; charset=utf-8" },
};

export const webRoutes: FastifyPluginAsync = async (app) => {
  for (const [path, { file, type }] of Object.entries(FILES)) {
    const body = readFileSync(new URL(file, WEB_DIR));
    app.get(path, async (_request, reply) =>
      reply
        .type(type)
        .header("cache-control", "no-cache")
        .header("x-content-type-options", "nosniff")
        // frame-src blob:: the map, fetched with the token, is framed from a blob: URL (web/app.js).
        .header("content-security-policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-src blob:; frame-ancestors 'none'")
        .send(body),
    );
  }
};
