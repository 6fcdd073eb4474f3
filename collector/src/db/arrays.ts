// PostgreSQL array literals, built in one pass, for the set-based statements of ingest
// (`unnest(${pgNumbers(...)}::float8[], ...)`). The driver would build the same text from a
// JavaScript array, but quoting and escaping element by element through a chain of calls
// (pg's arrayString), which was a measurable share of the collector's work per report.

/** `{1,2.5,NULL}`: numbers as JavaScript prints them (NaN and ±Infinity as PostgreSQL spells them), null as NULL. */
export function pgNumbers(values: ReadonlyArray<number | null | undefined>): string {
  let text = "{";
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    text += (i ? "," : "") + (v === null || v === undefined ? "NULL" : String(v));
  }
  return `${text}}`;
}

/** `{"a","b \"c\""}`: every element quoted, its backslashes and double quotes escaped. */
export function pgTexts(values: ReadonlyArray<string>): string {
  let text = "{";
  for (let i = 0; i < values.length; i++) text += `${i ? "," : ""}"${values[i]!.replace(/[\\"]/g, "\\$&")}"`;
  return `${text}}`;
}

/** Instants as `{"2026-12-01T10:00:00.000Z",...}`. */
export function pgTimes(values: ReadonlyArray<Date>): string {
  return pgTexts(values.map((d) => d.toISOString()));
}
