// The console: the files scripts/build-web.ts bundles into web/dist, read once at start.
// Without a build, every page answers 503 saying how to make one.
import { existsSync, readFileSync } from "node:fs";
import type { FastifyPluginAsync } from "fastify";

const WEB_DIST = new URL("../../../web/dist/", import.meta.url);
const FILES: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/app.js.map": { file: "app.js.map", type: "application/json; charset=utf-8" },
  "/app.css": { file: "app.css", type: "text/css; charset=utf-8" },
  "/style.css": { file: "style.css", type: "text/css; charset=utf-8" },
};
// No inline script or style anywhere; the map's SVG is cleaned and drawn into the page (web/src/map.ts).
const POLICY = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export const webRoutes: FastifyPluginAsync = async (app) => {
  const built = existsSync(new URL("index.html", WEB_DIST)) && existsSync(new URL("app.js", WEB_DIST));
  for (const [path, { file, type }] of Object.entries(FILES)) {
    const body = built ? readFileSync(new URL(file, WEB_DIST)) : null;
    app.get(path, async (_request, reply) => {
      if (!body) return reply.status(503).type("text/plain; charset=utf-8").send("The web console is not built: run `npm run build:web` (npm start and npm test build it), then restart netmap serve.\n");
      return reply
        .type(type)
        .header("cache-control", "no-cache")
        .header("x-content-type-options", "nosniff")
        .header("content-security-policy", POLICY)
        .send(body);
    });
  }
};
