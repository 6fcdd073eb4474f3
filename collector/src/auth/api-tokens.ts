// Named API tokens in PostgreSQL: created with a role, listed, revoked. Only each token's
// SHA-256 is stored; the token itself is returned once, by createApiToken.
import { randomBytes } from "node:crypto";
import { sql, type Selectable } from "kysely";
import type { Db } from "../db/database.ts";
import type { ApiTokensTable } from "../db/schema.ts";
import { BadRequestError, NotFoundError } from "../errors.ts";
import { isRole, type Caller, type Role } from "./roles.ts";
import { tokenDigest } from "./token.ts";

export interface ApiToken {
  name: string;
  role: Role;
  createdBy: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

// Named tokens start with this, so a leaked one is recognisable (secret scanners, logs).
const TOKEN_PREFIX = "nmt_";
const TOKEN_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

const toApiToken = (row: Omit<Selectable<ApiTokensTable>, "token_sha256">): ApiToken => ({
  name: row.name, role: row.role, createdBy: row.created_by, createdAt: row.created_at, lastUsedAt: row.last_used_at,
});

export async function createApiToken(db: Db, name: string, role: string, createdBy: string): Promise<{ token: ApiToken; secret: string }> {
  if (!TOKEN_NAME.test(name)) throw new BadRequestError(`token name: expected 1-64 characters of letters, digits, _ . -, got ${JSON.stringify(name)}`);
  if (!isRole(role)) throw new BadRequestError(`token role: expected viewer, operator or admin, got ${JSON.stringify(role)}`);
  const secret = `${TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`;
  const row = await db
    .insertInto("api_tokens")
    .values({ name, role, token_sha256: tokenDigest(secret), created_by: createdBy })
    .onConflict((c) => c.column("name").doNothing())
    .returning(["name", "role", "created_by", "created_at", "last_used_at"])
    .executeTakeFirst();
  if (!row) throw new BadRequestError(`a token named ${JSON.stringify(name)} exists; revoke it first or pick another name`);
  return { token: toApiToken(row), secret };
}

export async function listApiTokens(db: Db): Promise<ApiToken[]> {
  const rows = await db.selectFrom("api_tokens").select(["name", "role", "created_by", "created_at", "last_used_at"]).orderBy("name").execute();
  return rows.map(toApiToken);
}

export async function revokeApiToken(db: Db, name: string): Promise<ApiToken> {
  const row = await db.deleteFrom("api_tokens").where("name", "=", name).returning(["name", "role", "created_by", "created_at", "last_used_at"]).executeTakeFirst();
  if (!row) throw new NotFoundError(`no token named ${JSON.stringify(name)}`);
  return toApiToken(row);
}

/** The caller a presented token belongs to, if it is a named token; marks it used (at most once a minute). */
export async function callerOfToken(db: Db, token: string): Promise<Caller | undefined> {
  if (!token.startsWith(TOKEN_PREFIX)) return undefined;
  const row = await db.selectFrom("api_tokens").select(["name", "role", "last_used_at"]).where("token_sha256", "=", tokenDigest(token)).executeTakeFirst();
  if (!row) return undefined;
  if (!row.last_used_at || Date.now() - row.last_used_at.getTime() > 60_000) {
    await db.updateTable("api_tokens").set({ last_used_at: sql<Date>`now()` }).where("name", "=", row.name).execute();
  }
  return { name: row.name, role: row.role };
}
