// The three roles (docs/security.md): each holds every right of the one before it.
export const ROLES = ["viewer", "operator", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** Who made a call: a named token's name, or CONFIGURED_CALLER for token_file / NETMAP_TOKEN. */
export interface Caller {
  readonly name: string;
  readonly role: Role;
}

/** The name the audit trail gives the configured token; not a valid token name, so no named token can take it. */
export const CONFIGURED_CALLER: Caller = Object.freeze({ name: "@configured", role: "admin" });

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** Whether a caller holding `held` may do what needs `needed`. */
export function roleAllows(held: Role, needed: Role): boolean {
  return ROLES.indexOf(held) >= ROLES.indexOf(needed);
}
