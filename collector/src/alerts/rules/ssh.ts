// SSHBruteForce: failed SSH authentications from one address, as the agent
// counts them in the auth log over its window (`auth_log:`, docs/agent.md).
// Judged on each report and listed among the threshold rules (./thresholds.ts):
// a source that drops out of the agent's top list resolves its alert.
import type { ThresholdRule } from "./thresholds.ts";

export const SSH_RULES: readonly ThresholdRule[] = [
  {
    name: "SSHBruteForce",
    direction: "above",
    defaults: { enabled: true, warning: 20, warningClear: 10, critical: 100, criticalClear: 50, forSeconds: 0 },
    judge: ({ host, report }) => {
      const ssh = report.sshAuth;
      if (!ssh) return [];
      const window = ssh.windowSeconds >= 120 ? `${Math.round(ssh.windowSeconds / 60)} min` : `${Math.round(ssh.windowSeconds)} s`;
      return ssh.sources.map((s) => ({
        labels: { host, source: s.address },
        value: s.failures,
        summary: `${s.failures} failed SSH authentications on ${host} from ${s.address} in ${window} (last user tried: ${s.lastUser})`,
      }));
    },
  },
];
