import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { isAgentId } from "../../../proto/src/subjects.ts";
import { agentIdFromMachineId, readBootId, readMachineId, sequenceFrom } from "../../../agent/src/identity.ts";


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

  it("sequenceFrom - counts up by one from the milliseconds since boot, so a restart never repeats a seq", () => {
    const first = sequenceFrom(100);
    assert.deepEqual([first(), first(), first()], [100_001, 100_002, 100_003]);
    // A process started later in the same boot, even 50 ms after the previous one began.
    const restarted = sequenceFrom(100.05);
    assert.ok(restarted() > 100_003);
  });
});
