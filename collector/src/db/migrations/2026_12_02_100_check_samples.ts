// Frozen: never edit a migration that has shipped; add a new one.
// The agents' synthetic check results as a time series (issue 18: charted on the host
// page): one row per check per stored report, dated by the report, partitioned and
// rolled up like the other sample tables (series/catalogue.ts; housekeeping makes the
// partitions). `up` is 1 or 0, so its mean over a bucket is the share of reports the
// check succeeded in; latency is absent when the check failed without one.
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE check_samples (
      host_id bigint NOT NULL,
      check_name text NOT NULL,
      collected_at timestamptz NOT NULL,
      up double precision NOT NULL,
      latency_seconds double precision,
      PRIMARY KEY (host_id, collected_at, check_name)
    ) PARTITION BY RANGE (collected_at)`.execute(db);
  for (const tier of ["1m", "1h"]) {
    const metrics = ["up", "latency_seconds"].flatMap((m) => [`${m} double precision`, `${m}_min double precision`, `${m}_max double precision`]).join(", ");
    await sql`
      CREATE TABLE ${sql.table(`check_samples_${tier}`)} (
        host_id bigint NOT NULL, check_name text NOT NULL, bucket timestamptz NOT NULL, samples integer NOT NULL, ${sql.raw(metrics)},
        PRIMARY KEY (host_id, bucket, check_name)
      ) PARTITION BY RANGE (bucket)`.execute(db);
  }
  await sql`
    CREATE TRIGGER check_samples_rollup_invalidate AFTER INSERT ON check_samples
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION series_rollup_invalidate()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE check_samples, check_samples_1m, check_samples_1h`.execute(db);
}
