import type { FastifyPluginAsync } from "fastify";
import { openAlerts } from "../alerts/repository.ts";
import type { AppDeps } from "./app.ts";

/** Open (pending and firing) alerts, firing first, with severity, since when and the host. */
export const alertRoutes: FastifyPluginAsync<AppDeps> = async (app, { db }) => {
  app.get("/api/v1/alerts", async () => ({
    alerts: (await openAlerts(db)).map((a) => ({
      fingerprint: a.fingerprint,
      rule: a.rule,
      severity: a.severity,
      state: a.state,
      labels: a.labels,
      annotations: a.annotations,
      value: a.value,
      activeSince: a.activeSince.toISOString(),
      startsAt: a.startsAt?.toISOString() ?? null,
      hostId: a.hostId,
    })),
  }));
};
