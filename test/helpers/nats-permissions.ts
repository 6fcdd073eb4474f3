// The permission blocks of deploy/nats/agent-permissions.conf, taken from the
// file as shipped (never a copy that could drift), for tests' nats-servers.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const PERMISSIONS_EXAMPLE = join(new URL("../../", import.meta.url).pathname, "deploy", "nats", "agent-permissions.conf");
const EXAMPLE_AGENT_ID = "0123456789abcdef";

export const INTEGRATION_PERMISSIONS_EXAMPLE = join(new URL("../../", import.meta.url).pathname, "deploy", "nats", "integration-permissions.conf");

/** `NAME = { ... }` from a nats-server config, braces matched. */
function permissionBlock(config: string, name: string): string {
  const start = config.search(new RegExp(`^\\s*${name}\\s*=\\s*\\{`, "m"));
  assert.ok(start >= 0, `no ${name} block in ${PERMISSIONS_EXAMPLE}`);
  let depth = 0;
  for (let i = config.indexOf("{", start); i < config.length; i++) {
    if (config[i] === "{") depth++;
    else if (config[i] === "}" && --depth === 0) return config.slice(start, i + 1).trim();
  }
  assert.fail(`unbalanced ${name} block in ${PERMISSIONS_EXAMPLE}`);
}

/** The example's agent block with its agent id replaced, named AGENT_<agentId>. */
export function agentPermissions(agentId: string): string {
  return permissionBlock(readFileSync(PERMISSIONS_EXAMPLE, "utf8"), `AGENT_${EXAMPLE_AGENT_ID}`).replaceAll(EXAMPLE_AGENT_ID, agentId);
}

/** The example's COLLECTOR block. */
export function collectorPermissions(): string {
  return permissionBlock(readFileSync(PERMISSIONS_EXAMPLE, "utf8"), "COLLECTOR");
}

export interface NatsUser {
  /** `user:` or `nkey:` with its value, as a nats-server users entry wants it. */
  login: string;
  /** The permissions variable: AGENT_<id> or COLLECTOR. */
  permissions: string;
}

/** An authorization section with the example's blocks for these agents and the collector, any blocks of the test's own, and these users. */
export function authorization(agentIds: readonly string[], users: readonly NatsUser[], ownBlocks: readonly string[] = []): string {
  return [
    "authorization {",
    ...agentIds.map((id) => `  ${agentPermissions(id)}`),
    `  ${collectorPermissions()}`,
    ...ownBlocks.map((block) => `  ${block}`),
    "  users = [",
    ...users.map((user) => `    { ${user.login}, permissions: $${user.permissions} }`),
    "  ]",
    "}",
  ].join("\n");
}

/** deploy/nats/integration-permissions.conf's block for the consumer "chatops", for `consumer`, named INTEGRATION_<consumer>. */
export function integrationPermissions(consumer: string): string {
  return permissionBlock(readFileSync(INTEGRATION_PERMISSIONS_EXAMPLE, "utf8"), "INTEGRATION_chatops").replaceAll("chatops", consumer);
}
