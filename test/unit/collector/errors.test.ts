import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { status } from "@grpc/grpc-js";
import { AmbiguousHostError, answerFor, BadRequestError, HostKeyChangedError, RouteError } from "../../../collector/src/errors.ts";

describe("answerFor", () => {
  test("answers an error the caller can fix with its code, message, HTTP status and gRPC code", () => {
    assert.deepEqual(answerFor(new RouteError("ROUTE_CYCLE", "route to a: the hops form a cycle")), {
      code: "ROUTE_CYCLE", message: "route to a: the hops form a cycle", http: 422, grpc: status.INVALID_ARGUMENT,
    });
    assert.equal(answerFor(new AmbiguousHostError("x"))?.http, 409);
    assert.deepEqual([answerFor(new BadRequestError("x"))?.http, answerFor(new BadRequestError("x"))?.grpc], [400, status.INVALID_ARGUMENT]);
  });

  test("keeps the collector's own failures, and codes no caller is told about, to itself", () => {
    assert.equal(answerFor(new Error("connection refused")), undefined);
    assert.equal(answerFor(new HostKeyChangedError("keys differ")), undefined);
    assert.equal(answerFor(Object.assign(new Error("look-alike"), { code: "NOT_FOUND" })), undefined);
  });
});
