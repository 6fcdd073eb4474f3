// The check every test collector's logs go through when it stops (test/helpers/secrets.ts)
// catches what it is there for.
import assert from "node:assert/strict";
import { test } from "node:test";
import { loadCollectorConfig } from "../../../collector/src/config.ts";
import { assertNoSecretLogged, configuredSecrets } from "../../helpers/secrets.ts";

test("secret log check - finds the token, a URL's password and a named token in any log line, and passes clean lines", () => {
  const config = loadCollectorConfig({ env: { NETMAP_TOKEN: "the-admin-token", NETMAP_NATS_URL: "nats://collector:nats-pa55word@127.0.0.1:4222" }, configFlag: "/dev/null" });
  const secrets = configuredSecrets(config);
  assert.deepEqual(secrets, ["the-admin-token", "nats-pa55word"]);
  assert.throws(() => assertNoSecretLogged([{ msg: "ok" }, { msg: "refused", header: "Bearer the-admin-token" }], secrets), /a log line holds a secret: .*Bearer <secret of 15 characters>/);
  assert.throws(() => assertNoSecretLogged(['{"url":"nats://collector:nats-pa55word@x"}'], secrets), /holds a secret/);
  assert.throws(() => assertNoSecretLogged([{ msg: `created nmt_${"A".repeat(43)}` }], secrets), /holds a secret/);
  assert.throws(() => assertNoSecretLogged([{ err: "-----BEGIN EC PRIVATE KEY-----\nMHc" }], secrets), /holds a secret/);
  assertNoSecretLogged([{ msg: "refused a call without a valid token", sentToken: true, source: "127.0.0.1" }], secrets);
});
