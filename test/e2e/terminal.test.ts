// The web terminal in Chromium, under the console's strict CSP, against a real collector and
// real sshd in network namespaces (two bastions and a target reachable only through them):
// open the target's terminal from its host page, type `hostname`, read the target's name on
// the screen; close the tab and see the SSH session end on the target; replay the recording;
// a changed key on the middle hop refused with both fingerprints on the page; a viewer refused.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { TopologyResponse } from "../../collector/src/http/api-types.ts";
import { buildWeb } from "../../scripts/build-web.ts";
import { findChromium, launchChromium, type Browser, type BrowserPage } from "../helpers/chromium.ts";
import { startCliTestbed, type CliTestbed } from "../helpers/cli.ts";
import { createSshChain, netnsUnavailable, type SshChain } from "../helpers/netns.ts";
import { eventually } from "../helpers/wait.ts";

const SHOTS = new URL("../../test-output/terminal/", import.meta.url).pathname;
const ROWS = `[...document.querySelectorAll("#terminal-screen .xterm-rows > div")].map((row) => row.textContent.trimEnd())`;

describe("web terminal in the console (Chromium, real sshd chain)", () => {
  let chain: SshChain;
  let testbed: CliTestbed;
  let browser: Browser;
  let targetId: number;
  const tokens = new Map<string, string>();

  before(async () => {
    const unavailable = netnsUnavailable();
    if (unavailable) throw new Error(`cannot build the SSH test hosts: ${unavailable}`);
    const chromium = findChromium();
    if (!chromium) throw new Error("chromium is not installed (apt-get install chromium)");
    await buildWeb();
    mkdirSync(SHOTS, { recursive: true });
    chain = await createSshChain();
    testbed = await startCliTestbed({ config: () => `ssh:\n  agent: ${chain.authSocket}\n  known_hosts: ${join(chain.dir, "netmap", "known_hosts")}\n` });
    writeFileSync(join(chain.dir, "topology.yaml"), chain.topologyYaml);
    assert.equal((await testbed.netmap(["import", join(chain.dir, "topology.yaml")])).code, 0);
    for (const role of ["viewer", "operator"]) {
      const created = await testbed.netmap(["token", "create", `e2e-${role}`, "--role", role]);
      tokens.set(role, created.stdout.trim());
    }
    const { body } = (await testbed.collector.get("/api/v1/topology")) as { body: TopologyResponse };
    targetId = body.topology.clients[0]!.sites[0]!.hosts.find((host) => host.name === "target")!.id!;
    browser = await launchChromium(chromium);
  });

  after(async () => {
    await browser?.close();
    await testbed?.close();
    await chain?.close();
  });

  /** The target's host page, signed in with role's token. */
  async function hostPage(role: string): Promise<BrowserPage> {
    const page = await browser.newPage();
    await page.goto(`${testbed.collector.httpUrl}#token=${tokens.get(role)}`);
    await page.evaluate(`location.hash = "host=${targetId}"`);
    await page.waitFor(`document.querySelector("button.open-terminal")`, "the Terminal action on the host page", 20_000);
    return page;
  }

  test("each page has a style nonce of its own, in its CSP and nowhere else it was not put", async () => {
    const nonceOf = async () => {
      const response = await fetch(testbed.collector.httpUrl);
      const policy = response.headers.get("content-security-policy") ?? "";
      const nonce = /style-src 'self' 'nonce-([A-Za-z0-9+/]{22}==)'/.exec(policy)?.[1];
      assert.ok(nonce, policy);
      assert.match(policy, /script-src 'self';/, "scripts stay the page's own");
      assert.ok((await response.text()).includes(`<meta name="style-nonce" nonce="${nonce}">`));
      return nonce;
    };
    assert.notEqual(await nonceOf(), await nonceOf());
  });

  const sessionProcesses = () => {
    const host = chain.hosts.target;
    return execFileSync("ip", ["netns", "pids", host.ns], { encoding: "utf8" }).split("\n").filter(Boolean).map(Number).filter((pid) => pid !== host.sshd!.pid);
  };

  test("the target's terminal opens from its host page through both bastions; `hostname` shows the target's name; closing the tab ends the session on the target", async () => {
    const page = await hostPage("operator");
    await page.evaluate(`document.querySelector("button.open-terminal").click()`);
    await page.waitFor(`document.getElementById("terminal-dialog").dataset.state === "open"`, "the session to open", 30_000);
    const hops = await page.evaluate<string[]>(`[...document.querySelectorAll("#terminal-hops li")].map((li) => li.textContent)`);
    assert.deepEqual(hops, ["lab/ns/bastion1 connected", "lab/ns/bastion2 connected", "lab/ns/target connected"]);
    await page.type("hostname\r");
    await page.waitFor(`${ROWS}.includes(${JSON.stringify(chain.hosts.target.hostname)})`, "the target's name alone on a line", 20_000);
    // 24-bit colour: xterm gives such a cell a style attribute of its own.
    await page.type("printf '\\033[38;2;255;96;0m%s\\033[0m\\n' truecolour\r");
    await page.waitFor(`${ROWS}.includes("truecolour")`, "the coloured word alone on a line", 20_000);
    writeFileSync(join(SHOTS, "terminal.png"), await page.screenshot(1280, 900));
    // xterm's <style> elements carry the page's nonce and its per-cell style attributes are allowed
    // (collector/src/http/web.ts): the CSP refuses nothing, so the console logs no error at all.
    assert.deepEqual(page.errors, [], "no CSP violation nor script error");
    const applied = await page.evaluate<{ font: string; spans: string; colour: string; styles: number; nonceAttributes: string[] }>(`(() => {
      const row = document.querySelector("#terminal-screen .xterm-rows > div");
      const word = [...document.querySelectorAll("#terminal-screen .xterm-rows span")].find((span) => span.textContent === "truecolour");
      return {
        font: getComputedStyle(row.parentElement).fontFamily,
        spans: getComputedStyle(row.querySelector("span")).display,
        colour: word ? getComputedStyle(word).color : "no span",
        styles: document.querySelectorAll("#terminal-screen style").length,
        nonceAttributes: [...document.querySelectorAll("[nonce]")].map((element) => element.getAttribute("nonce")),
      };
    })()`);
    assert.match(applied.font, /monospace/, "xterm's theme rules apply: its font");
    assert.equal(applied.spans, "inline-block", "xterm's dimension rules apply");
    assert.equal(applied.colour, "rgb(255, 96, 0)", "the cell's own colour applies");
    assert.ok(applied.styles >= 3, `xterm's <style> elements: ${applied.styles}`);
    assert.ok(applied.nonceAttributes.every((value) => value === ""), "the browser hides the nonce from the DOM (and so from CSS selectors)");
    assert.ok(sessionProcesses().length >= 2, "the session's sshd and shell run on the target");

    await page.close();
    await eventually(() => sessionProcesses().length === 0, () => `processes left on the target: ${sessionProcesses()}`, 20_000);
  });

  test("the recording replays in the console with the same output", async () => {
    const page = await hostPage("operator");
    await page.waitFor(`document.querySelector("button.replay")`, "the recorded session listed", 20_000);
    await page.evaluate(`document.querySelector("button.replay").click()`);
    await page.waitFor(`document.getElementById("terminal-dialog").dataset.state === "replayed"`, "the replay to end", 30_000);
    const rows = await page.evaluate<string[]>(ROWS);
    assert.ok(rows.includes(chain.hosts.target.hostname), rows.join("\n"));
    assert.ok(rows.some((row) => row.endsWith("# hostname")), "the command as it was echoed");
    await page.close();
  });

  test("a changed key on the middle bastion is refused, with both fingerprints on the page; after netmap trust, Reconnect opens the session", async () => {
    const fingerprint = (publicKey: string) => /(SHA256:\S+)/.exec(execFileSync("ssh-keygen", ["-l", "-f", publicKey], { encoding: "utf8" }))![1]!;
    const pinned = fingerprint(`${chain.hosts.bastion2.hostKey}.pub`);
    await chain.replaceHostKey("bastion2");
    const offered = fingerprint(`${chain.hosts.bastion2.hostKey}.pub`);
    const page = await hostPage("operator");
    await page.evaluate(`document.querySelector("button.open-terminal").click()`);
    await page.waitFor(`document.getElementById("terminal-dialog").dataset.state === "failed"`, "the refusal", 30_000);
    const shown = await page.evaluate<{ title: string; pinned: string; offered: string; hops: string[] }>(`({
      title: document.querySelector("#terminal-error strong").textContent,
      pinned: document.querySelector("[data-fingerprint=pinned]").textContent,
      offered: document.querySelector("[data-fingerprint=offered]").textContent,
      hops: [...document.querySelectorAll("#terminal-hops li")].map((li) => li.textContent),
    })`);
    writeFileSync(join(SHOTS, "key-changed.png"), await page.screenshot(1280, 900));
    assert.deepEqual(shown, {
      title: "lab/ns/bastion2: host key changed — connection refused",
      pinned: `${pinned} (ED25519)`,
      offered: `${offered} (ED25519)`,
      hops: ["lab/ns/bastion1 connected", "lab/ns/bastion2 failed"],
    });
    // A person accepts the new key with the CLI, then Reconnect opens a new session.
    const trusted = await testbed.netmap(["trust", "bastion2"], { NETMAP_KNOWN_HOSTS: join(chain.dir, "netmap", "known_hosts"), SSH_AUTH_SOCK: chain.authSocket });
    assert.equal(trusted.code, 0, trusted.stderr);
    await page.evaluate(`document.getElementById("terminal-reconnect").click()`);
    await page.waitFor(`document.getElementById("terminal-dialog").dataset.state === "open"`, "the new session", 30_000);
    assert.equal(await page.evaluate(`document.getElementById("terminal-error").hidden`), true, "the refusal is gone");
    await page.close();
  });

  test("a viewer's token cannot open a terminal and sees no recordings", async () => {
    const page = await hostPage("viewer");
    await page.evaluate(`document.querySelector("button.open-terminal").click()`);
    await page.waitFor(`document.getElementById("terminal-dialog").dataset.state === "failed"`, "the refusal", 20_000);
    const text = await page.evaluate<string>(`document.getElementById("terminal-error").textContent`);
    assert.match(text, /this needs the operator role/);
    assert.equal(await page.evaluate(`document.querySelector("button.replay")`), null);
    await page.close();
  });
});
