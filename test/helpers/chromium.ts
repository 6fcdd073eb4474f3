// A headless Chromium (Debian's `chromium` package) driven over the DevTools protocol, enough
// to load a page, run an expression in it and wait for a condition. No browser library: Node's
// WebSocket speaks to the page's DevTools endpoint directly.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface BrowserPage {
  /** Loads url and waits for the load event. */
  goto(url: string): Promise<void>;
  /** The value of expression (awaited when a promise) in the page. */
  evaluate<T = unknown>(expression: string): Promise<T>;
  /** Waits until expression is truthy in the page; returns its value. */
  waitFor<T = unknown>(expression: string, what: string, timeoutMs?: number): Promise<T>;
  /** A PNG of the page at width × height CSS pixels. */
  screenshot(width: number, height: number): Promise<Buffer>;
  /** Presses a key (Enter, Tab, an arrow, or one printable character) as the keyboard does, on the focused element. */
  press(key: string): Promise<void>;
  /** Emulates `prefers-color-scheme` (what playwright calls colorScheme) from now on. */
  colorScheme(scheme: "light" | "dark"): Promise<void>;
  /** Types text into the focused element, as a keyboard would (Enter as "\r"). */
  type(text: string): Promise<void>;
  /** Closes the tab, as a person closing it does. */
  close(): Promise<void>;
  /** Console errors and uncaught exceptions seen so far. */
  errors: string[];
}

export interface Browser {
  newPage(): Promise<BrowserPage>;
  close(): Promise<void>;
}

/** The Chromium executable, or undefined when none is installed. */
export function findChromium(): string | undefined {
  for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
    const found = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
    if (found.status === 0 && found.stdout.trim()) return found.stdout.trim();
  }
  return undefined;
}

export async function launchChromium(executable: string): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), "netmap-chromium-"));
  const child: ChildProcess = spawn(
    executable,
    // --no-sandbox: the tests may run as root, where Chromium's sandbox refuses to start.
    ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check", `--user-data-dir=${profile}`, "--remote-debugging-port=0", "about:blank"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  const endpoint = await new Promise<string>((resolve, reject) => {
    let stderr = "";
    const timer = setTimeout(() => reject(new Error(`chromium did not open DevTools within 20 s: ${stderr}`)), 20_000);
    child.stderr!.on("data", (chunk) => {
      stderr += chunk;
      const match = /DevTools listening on ws:\/\/([^/\s]+)\//.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once("exit", (code) => reject(new Error(`chromium exited ${code}: ${stderr}`)));
  });
  const sockets: WebSocket[] = [];

  return {
    async newPage() {
      const target = (await (await fetch(`http://${endpoint}/json/new?about:blank`, { method: "PUT" })).json()) as { id: string; webSocketDebuggerUrl: string };
      const socket = new WebSocket(target.webSocketDebuggerUrl);
      sockets.push(socket);
      await new Promise((resolve, reject) => ((socket.onopen = resolve), (socket.onerror = reject)));
      let nextId = 0;
      const pending = new Map<number, { resolve: (value: any) => void; reject: (error: Error) => void }>();
      const listeners = new Set<(message: { method: string; params: any }) => void>();
      socket.onmessage = (event) => {
        const message = JSON.parse(String(event.data));
        if (message.id !== undefined) {
          const call = pending.get(message.id)!;
          pending.delete(message.id);
          if (message.error) call.reject(new Error(message.error.message));
          else call.resolve(message.result);
        } else {
          for (const listener of listeners) listener(message);
        }
      };
      const send = (method: string, params: object = {}): Promise<any> =>
        new Promise((resolve, reject) => {
          const id = ++nextId;
          pending.set(id, { resolve, reject });
          socket.send(JSON.stringify({ id, method, params }));
        });
      await send("Page.enable");
      await send("Runtime.enable");
      await send("Log.enable");
      const errors: string[] = [];
      listeners.add((message) => {
        if (message.method === "Runtime.exceptionThrown") errors.push(message.params.exceptionDetails?.exception?.description ?? message.params.exceptionDetails?.text);
        if (message.method === "Runtime.consoleAPICalled" && message.params.type === "error") errors.push(message.params.args.map((a: { value?: unknown; description?: string }) => a.value ?? a.description).join(" "));
        if (message.method === "Log.entryAdded" && message.params.entry.level === "error") errors.push(`${message.params.entry.text} ${message.params.entry.url ?? ""}`);
      });

      const evaluate = async <T>(expression: string): Promise<T> => {
        const { result, exceptionDetails } = await send("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true });
        if (exceptionDetails) throw new Error(`${expression}: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`);
        return result.value as T;
      };
      return {
        evaluate,
        errors,
        async press(key) {
          const named: Record<string, [number, string]> = { Enter: [13, "\r"], Tab: [9, ""], ArrowLeft: [37, ""], ArrowUp: [38, ""], ArrowRight: [39, ""], ArrowDown: [40, ""] };
          const [code, text] = named[key] ?? [key.toUpperCase().charCodeAt(0), key];
          await send("Input.dispatchKeyEvent", { type: text ? "keyDown" : "rawKeyDown", key, windowsVirtualKeyCode: code, text: text || undefined });
          await send("Input.dispatchKeyEvent", { type: "keyUp", key, windowsVirtualKeyCode: code });
        },
        async colorScheme(scheme) {
          await send("Emulation.setEmulatedMedia", { features: [{ name: "prefers-color-scheme", value: scheme }] });
        },
        async type(text) {
          for (const part of text.split(/(\r)/)) {
            if (part === "\r") {
              for (const type of ["keyDown", "keyUp"]) await send("Input.dispatchKeyEvent", { type, key: "Enter", code: "Enter", windowsVirtualKeyCode: 13, ...(type === "keyDown" && { text: "\r" }) });
            } else if (part) {
              await send("Input.insertText", { text: part });
            }
          }
        },
        async close() {
          await fetch(`http://${endpoint}/json/close/${target.id}`);
        },
        async screenshot(width, height) {
          await send("Emulation.setDeviceMetricsOverride", { width, height, deviceScaleFactor: 1, mobile: width < 600 });
          await new Promise((resolve) => setTimeout(resolve, 300));
          const { data } = await send("Page.captureScreenshot", { format: "png" });
          return Buffer.from(data, "base64");
        },
        async goto(url) {
          const loaded = new Promise<void>((resolve) => {
            const listener = (message: { method: string }) => {
              if (message.method === "Page.loadEventFired") {
                listeners.delete(listener);
                resolve();
              }
            };
            listeners.add(listener);
          });
          await send("Page.navigate", { url });
          await loaded;
        },
        async waitFor<T>(expression: string, what: string, timeoutMs = 15_000): Promise<T> {
          const deadline = Date.now() + timeoutMs;
          for (;;) {
            const value = await evaluate<T>(expression).catch(() => undefined);
            if (value) return value;
            if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${expression})`);
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        },
      };
    },
    async close() {
      for (const socket of sockets) socket.close();
      if (child.exitCode === null) {
        await new Promise((resolve) => {
          child.once("exit", resolve);
          child.kill("SIGTERM");
        });
      }
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
