import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { z } from "zod";
import { jsonObject, optionalText, optionalTime, parseRequest } from "../../../collector/src/requests.ts";

const body = jsonObject({ by: optionalText(), at: optionalTime(), count: z.number({ error: "expected a positive number" }).positive("expected a positive number").optional() });
const strictBody = jsonObject({ agentId: optionalText(64) }, { strict: true });

describe("parseRequest", () => {
  test("reads an absent or null body as one with no fields given", () => {
    assert.deepEqual(parseRequest(body, undefined), { by: null, at: null });
    assert.deepEqual(parseRequest(body, null), { by: null, at: null });
    assert.deepEqual(parseRequest(body, { by: "alice", at: "2026-11-23T10:00:00Z", count: 2 }), { by: "alice", at: new Date("2026-11-23T10:00:00Z"), count: 2 });
  });

  test("refuses a body that is no JSON object, as BAD_REQUEST", () => {
    for (const bad of [[], "text", 3]) assert.throws(() => parseRequest(body, bad), { code: "BAD_REQUEST", message: "expected a JSON object" });
  });

  test("names every field that is wrong and why", () => {
    assert.throws(() => parseRequest(body, { by: 7, at: "yesterday", count: 0 }), {
      code: "BAD_REQUEST",
      message: "by: expected a string; at: expected an ISO 8601 time; count: expected a positive number",
    });
  });

  test("a strict body refuses unknown fields and over-long text", () => {
    assert.throws(() => parseRequest(strictBody, { agentId: "a", extra: 1 }), { message: "unknown field extra" });
    assert.throws(() => parseRequest(strictBody, { agentId: "a".repeat(65) }), { message: "agentId: expected at most 64 characters" });
  });

  test("keeps a message that names its subject itself", () => {
    assert.throws(() => parseRequest(z.object({ host: z.string().min(1, "route: no host given") }), { host: "" }), { message: "route: no host given" });
  });
});
