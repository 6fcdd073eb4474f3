// Subject parsing (proto/src/subjects.ts): whatever a subject holds, the agent id taken from it
// follows the agent-id rule or the subject is refused with SUBJECT_INVALID; building and parsing
// are inverses.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { agentIdFromReportSubject, agentInboxPrefix, alertSubject, inventorySubject, isAgentId, isInboxPrefix, reportMessageId, reportSubject } from "../../proto/src/subjects.ts";
import { fuzzParameters, parsedOrRejected } from "../helpers/fuzz.ts";

const CODES = ["SUBJECT_INVALID"];
const subjectText = fc.oneof(
  fc.string({ maxLength: 100 }),
  fc.string({ unit: fc.constantFrom("a", "Z", "0", "-", "_", ".", "*", ">", " ", "\u0000", "\n", "é"), maxLength: 70 }).map((s) => `netmap.v1.report.${s}`),
);
const agentId = fc.string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789_-"), minLength: 1, maxLength: 64 });

describe("fuzz: subjects", () => {
  test("any subject yields a valid agent id or a SUBJECT_INVALID refusal", () => {
    fc.assert(
      fc.property(subjectText, (subject) => {
        const id = parsedOrRejected(() => agentIdFromReportSubject(subject), CODES);
        if (id !== undefined) {
          assert.ok(isAgentId(id));
          assert.equal(reportSubject(id), subject);
        }
      }),
      fuzzParameters(),
    );
  });

  test("every valid agent id survives reportSubject then agentIdFromReportSubject, and its inbox is a literal prefix", () => {
    fc.assert(
      fc.property(agentId, (id) => {
        assert.equal(agentIdFromReportSubject(reportSubject(id)), id);
        assert.ok(isInboxPrefix(agentInboxPrefix(id)));
      }),
      fuzzParameters(),
    );
  });

  test("builders given any text return a subject of literal tokens, or refuse with SUBJECT_INVALID", () => {
    const text = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom("firing", "resolved", "critical", "warning", "info", "added", "changed", "removed"));
    fc.assert(
      fc.property(text, text, fc.nat(), (a, b, seq) => {
        for (const build of [() => reportSubject(a), () => alertSubject(a, b), () => inventorySubject(a), () => agentInboxPrefix(a)]) {
          const subject = parsedOrRejected(build, CODES);
          if (subject !== undefined) assert.match(subject, /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/);
        }
        // The message id is a header, not a subject: only its agent id is checked.
        const id = parsedOrRejected(() => reportMessageId(a, b, seq), CODES);
        if (id !== undefined) assert.ok(id.startsWith(`${a}.`) && isAgentId(a));
      }),
      fuzzParameters(),
    );
  });
});
