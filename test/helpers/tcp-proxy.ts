// A TCP proxy a test can cut and restore, to play a database or broker outage
// without stopping the machine's shared server.
import { createServer, connect, type Server, type Socket } from "node:net";
import { freePort } from "./nats-server.ts";

export interface TcpProxy {
  port: number;
  /** Refuses new connections and resets open ones (closes those already half-closed); resolves once each is closed. */
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = "127.0.0.1"): Promise<TcpProxy> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer((client) => {
        const upstream = connect(targetPort, targetHost);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on("close", () => sockets.delete(s));
          s.on("error", () => {});
        }
        client.pipe(upstream).pipe(client);
        client.on("close", () => upstream.destroy());
        upstream.on("close", () => client.destroy());
      });
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
  const cut = async () => {
    const closing = server;
    server = undefined;
    const closed = [...sockets].map((s) => new Promise<void>((resolve) => (s.closed ? resolve() : s.once("close", () => resolve()))));
    for (const s of sockets) {
      // A socket whose write side is already ended (the pipe ends it when its peer sends FIN)
      // cannot be reset: libuv refuses a reset after a shutdown (EINVAL), and Node then never
      // closes the handle, so the process spun at exit waiting for it (outages.test.ts, when
      // cut() came right after a collector's SIGKILL). Such a socket is closed instead.
      if (s.writableEnded) s.destroy();
      else s.resetAndDestroy();
    }
    if (closing) await new Promise<void>((resolve) => closing.close(() => resolve()));
    await Promise.all(closed);
  };
  await listen();
  return { port, cut, restore: listen, close: cut };
}
