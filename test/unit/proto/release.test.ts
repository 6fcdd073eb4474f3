import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { describe, test } from "node:test";
import { decodeUpgradeCommand, decodeUpgradeStatus, encodeUpgradeMessage, releaseManifest, releasePublicKeyDer, type Release } from "../../../proto/src/release.ts";
import { binaryArchitecture } from "../../../collector/src/rollout/upgrade.ts";
import { releaseMetaSubject } from "../../../proto/src/subjects.ts";

const release: Release = { version: "0.2.0", object: "netmap-agent-0.2.0-x64", sha256: "ab".repeat(32), size: 1234 };
const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe("upgrade messages", () => {
  test("a command and a status survive encoding; the manifest names every signed field", () => {
    const command = { action: "upgrade" as const, release, signature: "c2lnbmF0dXJl", trial: false };
    assert.deepEqual(decodeUpgradeCommand(encodeUpgradeMessage(command)), command);
    assert.deepEqual(decodeUpgradeCommand(bytes({ action: "upgrade", release, signature: "AA==" })), { action: "upgrade", release, signature: "AA==", trial: true }, "tried unless told otherwise");
    assert.deepEqual(decodeUpgradeCommand(encodeUpgradeMessage({ action: "rollback", from: "0.2.0" })), { action: "rollback", from: "0.2.0" });
    assert.deepEqual(decodeUpgradeStatus(encodeUpgradeMessage({ state: "failed", version: "0.2.0", reason: "no" })), { state: "failed", version: "0.2.0", reason: "no" });
    assert.equal(new TextDecoder().decode(releaseManifest(release)), `netmap-agent-release/1\nversion 0.2.0\nobject netmap-agent-0.2.0-x64\nsha256 ${"ab".repeat(32)}\nsize 1234\n`);
  });

  test("refuses what is not a command with a coded error naming the field", () => {
    const cases: [unknown, RegExp][] = [
      ["[", /not a JSON object|not JSON/],
      [{ action: "format" }, /unknown action "format"/],
      [{ action: "upgrade", release: { ...release, version: "1.0 ; rm -rf" }, signature: "AA==" }, /release\.version is not a version/],
      [{ action: "upgrade", release: { ...release, object: "../x" }, signature: "AA==" }, /release\.object/],
      [{ action: "upgrade", release: { ...release, sha256: "AB".repeat(32) }, signature: "AA==" }, /sha256 is not 64 hex/],
      [{ action: "upgrade", release: { ...release, size: 2 ** 40 }, signature: "AA==" }, /size is not/],
      [{ action: "upgrade", release, signature: "not base64!" }, /signature is not base64/],
      [{ action: "rollback" }, /from is not a version/],
    ];
    for (const [value, message] of cases) {
      assert.throws(() => decodeUpgradeCommand(typeof value === "string" ? new TextEncoder().encode(value) : bytes(value)), (e: Error & { code?: string }) => e.code === "UPGRADE_MESSAGE_INVALID" && message.test(e.message), JSON.stringify(value));
    }
    assert.throws(() => decodeUpgradeStatus(bytes({ state: "exploded", version: "1" })), /unknown state/);
  });

  test("a release key is an ed25519 SubjectPublicKeyInfo in base64, nothing else", () => {
    const ed = generateKeyPairSync("ed25519").publicKey.export({ format: "der", type: "spki" }).toString("base64");
    assert.equal(releasePublicKeyDer(ed)?.length, 44);
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ format: "der", type: "spki" }).toString("base64");
    assert.equal(releasePublicKeyDer(rsa), undefined);
    assert.equal(releasePublicKeyDer("MCowBQYDK2VwAyEA"), undefined);
  });

  test("a binary's architecture from its ELF header; a script is any; anything else is refused", () => {
    const elf = (machine: number) => {
      const b = Buffer.alloc(64);
      b.writeUInt32BE(0x7f454c46, 0);
      b.writeUInt16LE(machine, 18);
      return new Uint8Array(b);
    };
    assert.equal(binaryArchitecture(elf(0x3e)), "x64");
    assert.equal(binaryArchitecture(elf(0xb7)), "arm64");
    assert.equal(binaryArchitecture(elf(0x28)), undefined);
    assert.equal(binaryArchitecture(new TextEncoder().encode("#!/bin/sh\n")), "any");
    assert.equal(binaryArchitecture(new TextEncoder().encode("MZ")), undefined);
  });

  test("an object's metadata subject is its name in padded URL-safe base64, as the object store writes it", () => {
    assert.equal(releaseMetaSubject("netmap-agent-0.2.0-x64"), "$O.NETMAP_RELEASES.M.bmV0bWFwLWFnZW50LTAuMi4wLXg2NA==");
  });
});
