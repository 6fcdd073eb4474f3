import type { FastifyPluginAsync } from "fastify";
import { deliveryLog, openAlerts, type OpenAlert } from "../alerts/repository.ts";
import { ackAlert, addSilence, expireSilence, listSilences } from "../alerts/silence-repository.ts";
import type { Silence, SilenceState } from "../alerts/silences.ts";
import { BadRequestError } from "../errors.ts";
import type { AppDeps } from "./app.ts";

export const alertToJson = (a: OpenAlert) => ({
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
  acknowledged: a.ack ? { by: a.ack.by, at: a.ack.at.toISOString(), comment: a.ack.comment } : null,
});

export const silenceToJson = (s: Silence & { state?: SilenceState }) => ({
  id: s.id,
  matchers: s.matchers,
  startsAt: s.startsAt.toISOString(),
  endsAt: s.endsAt.toISOString(),
  createdBy: s.createdBy,
  comment: s.comment,
  createdAt: s.createdAt.toISOString(),
  ...(s.state && { status: { state: s.state } }),
});

const date = (value: unknown, what: string): Date | null => {
  if (value === undefined || value === null) return null;
  const d = typeof value === "string" ? new Date(value) : new Date(NaN);
  if (Number.isNaN(d.getTime())) throw new BadRequestError(`${what}: expected an ISO 8601 time`);
  return d;
};

const body = (request: { body: unknown }): Record<string, unknown> => {
  if (request.body === undefined || request.body === null) return {};
  if (typeof request.body !== "object" || Array.isArray(request.body)) throw new BadRequestError("expected a JSON object");
  return request.body as Record<string, unknown>;
};

const optionalString = (value: unknown, what: string): string | null => {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") throw new BadRequestError(`${what}: expected a string`);
  return value;
};

/** Open (pending and firing) alerts, firing first, with severity, since when, the host and any acknowledgement; silences. */
export const alertRoutes: FastifyPluginAsync<AppDeps> = async (app, { db }) => {
  app.get("/api/v1/alerts", async () => ({ alerts: (await openAlerts(db)).map(alertToJson) }));

  // The delivery log: every attempt to every notifier, newest first.
  app.get<{ Querystring: { receiver?: string; fingerprint?: string; limit?: number } }>(
    "/api/v1/alerts/deliveries",
    {
      schema: {
        querystring: {
          type: "object",
          properties: { receiver: { type: "string" }, fingerprint: { type: "string" }, limit: { type: "integer", minimum: 1, maximum: 1000 } },
          additionalProperties: false,
        },
      },
    },
    async (request) => ({
      deliveries: (await deliveryLog(db, { ...request.query, limit: request.query.limit ?? 100 })).map((d) => ({ ...d, at: d.at.toISOString() })),
    }),
  );

  app.post<{ Params: { fingerprint: string } }>("/api/v1/alerts/:fingerprint/ack", async (request) => {
    const b = body(request);
    const ack = await ackAlert(db, request.params.fingerprint, optionalString(b.by, "by"), optionalString(b.comment, "comment"));
    return { fingerprint: ack.fingerprint, acknowledged: { by: ack.by, at: ack.at.toISOString(), comment: ack.comment } };
  });

  app.get("/api/v1/silences", async () => ({ silences: (await listSilences(db)).map(silenceToJson) }));

  app.post("/api/v1/silences", async (request, reply) => {
    const b = body(request);
    const duration = b.durationSeconds;
    if (duration !== undefined && (typeof duration !== "number" || !(duration > 0))) throw new BadRequestError("durationSeconds: expected a positive number");
    const silence = await addSilence(db, {
      matchers: b.matchers,
      startsAt: date(b.startsAt, "startsAt"),
      endsAt: date(b.endsAt, "endsAt"),
      durationSeconds: duration as number | undefined,
      createdBy: optionalString(b.createdBy, "createdBy"),
      comment: optionalString(b.comment, "comment"),
    });
    return reply.status(201).send({ silenceID: silence.id, silence: silenceToJson(silence) });
  });

  app.delete<{ Params: { id: string } }>("/api/v1/silences/:id", async (request) => ({ silence: silenceToJson(await expireSilence(db, request.params.id)) }));
};
