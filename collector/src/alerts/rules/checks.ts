// The synthetic check rules (the agent's `checks:`), judged on each report as
// the threshold rules are, and listed among them (./thresholds.ts): a check
// gone from the reports resolves its alerts like a mount gone.
import { CheckType } from "../../../../proto/gen/netmap/v1/report.ts";
import type { ThresholdRule } from "./thresholds.ts";

const kind = (type: CheckType) => (type === CheckType.CHECK_TYPE_TCP ? "tcp" : "http");

export const CHECK_RULES: readonly ThresholdRule[] = [
  {
    // 1 while the check fails, 0 while it succeeds: fires past 1, clears under 0.5.
    name: "CheckFailed",
    direction: "above",
    defaults: { enabled: true, critical: 1, criticalClear: 0.5, forSeconds: 60 },
    judge: ({ host, report }) =>
      report.checks.map((c) => ({
        labels: { host, check: c.name },
        value: c.success ? 0 : 1,
        summary: c.success ? `${kind(c.type)} check ${c.name} on ${host} succeeds (${c.target})` : `${kind(c.type)} check ${c.name} on ${host} fails: ${c.error} (${c.target})`,
      })),
  },
  {
    name: "CertificateExpiring",
    direction: "below",
    defaults: { enabled: true, warning: 14, warningClear: 15, critical: 3, criticalClear: 4, forSeconds: 0 },
    judge: ({ host, report }) =>
      report.checks.flatMap((c) =>
        c.certificateDaysLeft === undefined ? [] : [{
          labels: { host, check: c.name },
          value: c.certificateDaysLeft,
          summary: c.certificateDaysLeft < 0
            ? `the certificate of ${c.target} (check ${c.name} on ${host}) expired ${(-c.certificateDaysLeft).toFixed(1)} days ago`
            : `the certificate of ${c.target} (check ${c.name} on ${host}) expires in ${c.certificateDaysLeft.toFixed(1)} days`,
        }]),
  },
];
