// GET /api/v1/hosts/sparklines: every host's CPU and memory over the last hour, a point a
// minute, in one statement, for the hosts list's sparklines (one request, not one a host).
// Read from the minute rollups (agent reports, else Proxmox samples), each host's range by its
// (host_id, bucket) key: a LATERAL per host, never a scan of the tier. The newest minute or two
// are missing until housekeeping rolls them up (every minute): a sparkline is a trend.
import { sql } from "kysely";
import type { Db } from "../db/database.ts";
import type { SparklinesResponse } from "../http/api-types.ts";

const STEP_SECONDS = 60;
const POINTS = 60;

export async function hostSparklines(db: Db, now = new Date()): Promise<SparklinesResponse> {
  const to = Math.floor(now.getTime() / 1000 / STEP_SECONDS) * STEP_SECONDS;
  const from = to - POINTS * STEP_SECONDS;
  const { rows } = await sql<{ host_id: number; t: number; cpu: number | null; memory: number | null }>`
    SELECT DISTINCT ON (h.id, s.bucket) h.id AS host_id, extract(epoch FROM s.bucket)::float8 AS t, s.cpu, s.memory
    FROM hosts h
    CROSS JOIN LATERAL (
      SELECT r.bucket, 0 AS source, r.cpu_percent AS cpu,
        100.0 * r.memory_used_bytes / nullif(r.memory_used_bytes + r.memory_available_bytes, 0) AS memory
      FROM report_samples_1m r
      WHERE r.host_id = h.id AND r.bucket >= to_timestamp(${from}) AND r.bucket < to_timestamp(${to})
      UNION ALL
      SELECT p.bucket, 1, p.cpu_percent, 100.0 * p.memory_used_bytes / nullif(p.memory_total_bytes, 0)
      FROM proxmox_samples_1m p
      WHERE p.host_id = h.id AND p.bucket >= to_timestamp(${from}) AND p.bucket < to_timestamp(${to})
    ) s
    ORDER BY h.id, s.bucket, s.source`.execute(db);
  const hosts: SparklinesResponse["hosts"] = {};
  for (const row of rows) {
    const line = (hosts[row.host_id] ??= { cpu: Array(POINTS).fill(null), memory: Array(POINTS).fill(null) });
    const i = Math.round((row.t - from) / STEP_SECONDS);
    if (i < 0 || i >= POINTS) continue;
    line.cpu[i] = row.cpu === null ? null : round(row.cpu);
    line.memory[i] = row.memory === null ? null : round(row.memory);
  }
  return { from, to, step: STEP_SECONDS, hosts };
}

const round = (value: number) => Math.round(value * 10) / 10;
