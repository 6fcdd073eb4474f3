import assert from "node:assert/strict";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { hmacSha256, sha256 } from "../../../agent/src/sha256.ts";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const text = (value: string) => new TextEncoder().encode(value);

describe("agent sha256", () => {
  it("sha256 - matches the FIPS 180-4 examples", () => {
    assert.equal(hex(sha256(text(""))), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert.equal(hex(sha256(text("abc"))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert.equal(hex(sha256(text("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  });

  it("hmacSha256 - matches the RFC 4231 test case 2", () => {
    assert.equal(hex(hmacSha256(text("Jefe"), text("what do ya want for nothing?"))), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  });

  it("sha256 and hmacSha256 - agree with node:crypto across block boundaries and long keys", () => {
    for (let length = 0; length <= 200; length++) {
      const message = randomBytes(length);
      const key = randomBytes((length * 7) % 150); // includes keys longer than a block, which are hashed first
      assert.equal(hex(sha256(message)), createHash("sha256").update(message).digest("hex"), `sha256 of ${length} bytes`);
      assert.equal(hex(hmacSha256(key, message)), createHmac("sha256", key).update(message).digest("hex"), `hmac of ${length} bytes, key ${key.length}`);
    }
  });
});
