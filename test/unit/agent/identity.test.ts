import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import pino from "pino";
import { isAgentId } from "../../../proto/src/subjects.ts";
import { agentIdFromMachineId, openSeqCounter, readBootId, readMachineId } from "../../../agent/src/identity.ts";

const silent = pino({ level: "silent" });
const root = mkdtempSync(join(tmpdir(), "netmap-agent-identity-"));
after(() => rmSync(root, { recursive: true, force: true }));

describe("agent identity", () => {
  it("agentIdFromMachineId - is a stable 16-hex-digit id fit for a subject, not the machine id itself", () => {
    const machineId = "3d1219c7c4c5404aaa1f6d2a48adfda4";
    const id = agentIdFromMachineId(machineId);
    assert.match(id, /^[0-9a-f]{16}$/);
    assert.ok(isAgentId(id));
    assert.equal(agentIdFromMachineId(`${machineId.toUpperCase()}\n`), id);
    assert.notEqual(agentIdFromMachineId("0".repeat(32)), id);
    assert.ok(!machineId.includes(id));
    assert.throws(() => agentIdFromMachineId("not-a-machine-id"), /32 hex digits/);
  });

  it("readMachineId and readBootId - read this machine's files", () => {
    assert.equal(readMachineId(), readFileSync("/etc/machine-id", "utf8").trim());
    assert.equal(readBootId(), readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim());
    assert.throws(() => readMachineId(() => { throw new Error("ENOENT"); }), /--agent-id/);
  });

  it("openSeqCounter - continues after a restart in the same boot and starts at 1 in a new boot", () => {
    const dir = join(root, "state");
    const first = openSeqCounter({ dirs: [dir], bootId: "boot-a", uptimeSeconds: 100, log: silent });
    assert.deepEqual([first.next(), first.next(), first.next()], [1, 2, 3]);
    assert.equal(first.storage, join(dir, "seq.json"));
    const restarted = openSeqCounter({ dirs: [dir], bootId: "boot-a", uptimeSeconds: 200, log: silent });
    assert.equal(restarted.next(), 4);
    const rebooted = openSeqCounter({ dirs: [dir], bootId: "boot-b", uptimeSeconds: 5, log: silent });
    assert.equal(rebooted.next(), 1);
  });

  it("openSeqCounter - falls back to the next directory, then to milliseconds since boot, never repeating a seq", () => {
    const blocked = join(root, "not-a-dir");
    writeFileSync(blocked, "a file where a directory should be");
    const fallback = join(root, "fallback");
    const counter = openSeqCounter({ dirs: [blocked, fallback], bootId: "boot-a", uptimeSeconds: 1, log: silent });
    assert.equal(counter.storage, join(fallback, "seq.json"));
    assert.equal(counter.next(), 1);

    const inMemory = openSeqCounter({ dirs: [blocked], bootId: "boot-a", uptimeSeconds: 12.34, log: silent });
    assert.equal(inMemory.storage, "memory");
    assert.deepEqual([inMemory.next(), inMemory.next()], [12341, 12342]);
    const later = openSeqCounter({ dirs: [blocked], bootId: "boot-a", uptimeSeconds: 12.5, log: silent });
    assert.ok(later.next() > 12342);
    chmodSync(blocked, 0o644);
  });
});
