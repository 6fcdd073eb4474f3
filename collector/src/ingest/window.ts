// The times a report's samples may carry: within the raw retention behind the
// collector's clock, and at most a day ahead of it. Partitions exist for that
// window and no further (series/partitions.ts), so a report dated outside it
// (a far-off agent clock, a spool older than the retention) is refused at
// decode with a reason, rather than failing its batch in PostgreSQL.
import { NetMapError } from "../errors.ts";

export const MAX_AHEAD_MS = 86_400_000;

export class ReportOutOfWindowError extends NetMapError {
  constructor(message: string) {
    super("REPORT_OUT_OF_WINDOW", message);
  }
}

export function checkReportTime(collectedAt: Date, receivedAt: Date, rawRetentionSeconds: number): void {
  const ahead = collectedAt.getTime() - receivedAt.getTime();
  if (ahead > MAX_AHEAD_MS) {
    throw new ReportOutOfWindowError(`collected_at ${collectedAt.toISOString()} is ${Math.round(ahead / 60_000)} min ahead of the collector's clock (at most a day is taken): check the agent's clock`);
  }
  if (-ahead > rawRetentionSeconds * 1000) {
    throw new ReportOutOfWindowError(`collected_at ${collectedAt.toISOString()} is older than the raw samples kept (retention.raw, ${rawRetentionSeconds / 86_400} days)`);
  }
}
