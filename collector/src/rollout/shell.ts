// Quoting for the POSIX shell scripts the rollout runs on targets and hops.

/** Single-quotes for a POSIX shell. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
