// The console: the files scripts/build-web.ts bundles into web/dist, read once at start.
// Without a build, every page answers 503 saying how to make one.
import { randomBytes } from "node:crypto";
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
/** In index.html, where each response's style nonce goes (`<meta name="style-nonce" nonce="…">`). */
const NONCE_PLACEHOLDER = "NETMAP_STYLE_NONCE";

/**
 * No inline script anywhere; the map's SVG is cleaned and drawn into the page (web/src/map.ts).
 * Inline style only where xterm.js needs it (web/src/terminal.ts, docs/terminal.md): the
 * <style> elements it makes carry this response's nonce, and style attributes (its per-cell
 * colours, any of 16 million) are allowed, but never a <style> element without the nonce,
 * so injected markup cannot bring selectors (the way CSS reads a page out) nor, with
 * default-src and img-src, load anything from elsewhere.
 */
const consolePolicy = (nonce: string) =>
  `default-src 'self'; img-src 'self' data:; style-src 'self' 'nonce-${nonce}'; style-src-attr 'unsafe-inline'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`;

export const webRoutes: FastifyPluginAsync = async (app) => {
  const built = existsSync(new URL("index.html", WEB_DIST)) && existsSync(new URL("app.js", WEB_DIST));
  for (const [path, { file, type }] of Object.entries(FILES)) {
    const body = built ? readFileSync(new URL(file, WEB_DIST)) : null;
    app.get(path, async (_request, reply) => {
      if (!body) return reply.status(503).type("text/plain; charset=utf-8").send("The web console is not built: run `npm run build:web` (npm start and npm test build it), then restart netmap serve.\n");
      // A nonce of its own for each response, so one seen once is worth nothing later.
      const nonce = randomBytes(16).toString("base64");
      return reply
        .type(type)
        .header("cache-control", "no-cache")
        .header("x-content-type-options", "nosniff")
        .header("content-security-policy", consolePolicy(nonce))
        .send(file === "index.html" ? body.toString("utf8").replaceAll(NONCE_PLACEHOLDER, nonce) : body);
    });
  }
};
