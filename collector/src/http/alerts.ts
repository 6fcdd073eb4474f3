import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { alertTransitions, deliveryLog, openAlerts, type OpenAlert } from "../alerts/repository.ts";
import { ackAlert, addSilence, expireSilence, listSilences, unackAlert } from "../alerts/silence-repository.ts";
import type { Silence, SilenceState } from "../alerts/silences.ts";
import { jsonObject, optionalText, optionalTime, parseRequest } from "../requests.ts";
import { NotFoundError } from "../errors.ts";
import type { AckResponse, AlertHistoryResponse, AlertJson, AlertsResponse, DeliveriesResponse, SilenceJson, SilencesResponse } from "./api-types.ts";
import type { AppDeps } from "./app.ts";

export const alertToJson = (a: OpenAlert): AlertJson => ({
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

export const silenceToJson = (s: Silence & { state?: SilenceState }): SilenceJson => ({
  id: s.id,
  matchers: s.matchers,
  startsAt: s.startsAt.toISOString(),
  endsAt: s.endsAt.toISOString(),
  createdBy: s.createdBy,
  comment: s.comment,
  createdAt: s.createdAt.toISOString(),
  ...(s.state && { status: { state: s.state } }),
});

const ackBody = jsonObject({ by: optionalText(), comment: optionalText() });

const silenceBody = jsonObject({
  // Checked by addSilence, the same for every caller (HTTP, gRPC, CLI).
  matchers: z.unknown(),
  startsAt: optionalTime(),
  endsAt: optionalTime(),
  durationSeconds: z.number({ error: "expected a positive number" }).positive("expected a positive number").optional(),
  createdBy: optionalText(),
  comment: optionalText(),
});

// The query string: fastify's JSON-schema check lets limit=1e999 through as Infinity, zod does not.
const deliveriesQuery = z.strictObject({
  receiver: z.string({ error: "expected one receiver" }).optional(),
  fingerprint: z.string({ error: "expected one fingerprint" }).optional(),
  limit: z.coerce.number({ error: "expected a whole number from 1 to 1000" }).int("expected a whole number from 1 to 1000").min(1, "expected a whole number from 1 to 1000").max(1000, "expected a whole number from 1 to 1000").default(100),
});

const historyQuery = z.strictObject({
  limit: z.coerce.number({ error: "expected a whole number from 1 to 1000" }).int("expected a whole number from 1 to 1000").min(1, "expected a whole number from 1 to 1000").max(1000, "expected a whole number from 1 to 1000").default(100),
});

/** Open (pending and firing) alerts, firing first, with severity, since when, the host and any acknowledgement; silences. */
export const alertRoutes: FastifyPluginAsync<AppDeps> = async (app, { db }) => {
  app.get("/api/v1/alerts", async (): Promise<AlertsResponse> => ({ alerts: (await openAlerts(db)).map(alertToJson) }));

  // The delivery log: every attempt to every notifier, newest first.
  app.get("/api/v1/alerts/deliveries", async (request): Promise<DeliveriesResponse> => {
    const query = parseRequest(deliveriesQuery, request.query);
    return { deliveries: (await deliveryLog(db, query)).map((d) => ({ ...d, at: d.at.toISOString() })) };
  });

  // The transitions of one alert, newest first (alert_transitions, written with the alert).
  app.get<{ Params: { fingerprint: string } }>("/api/v1/alerts/:fingerprint/history", async (request): Promise<AlertHistoryResponse> => {
    const { limit } = parseRequest(historyQuery, request.query);
    const transitions = await alertTransitions(db, request.params.fingerprint, limit);
    if (!transitions.length) throw new NotFoundError(`no alert ${JSON.stringify(request.params.fingerprint)} has changed state`);
    return { fingerprint: request.params.fingerprint, transitions: transitions.map((t) => ({ ...t, at: t.at.toISOString() })) };
  });

  app.post<{ Params: { fingerprint: string } }>("/api/v1/alerts/:fingerprint/ack", async (request): Promise<AckResponse> => {
    const { by, comment } = parseRequest(ackBody, request.body);
    const ack = await ackAlert(db, request.params.fingerprint, by, comment);
    return { fingerprint: ack.fingerprint, acknowledged: { by: ack.by, at: ack.at.toISOString(), comment: ack.comment } };
  });

  // Un-ack: the alert asks for attention again (the console's "Un-acknowledge").
  app.delete<{ Params: { fingerprint: string } }>("/api/v1/alerts/:fingerprint/ack", async (request) => ({
    ...(await unackAlert(db, request.params.fingerprint)),
    acknowledged: null,
  }));

  app.get("/api/v1/silences", async (): Promise<SilencesResponse> => ({ silences: (await listSilences(db)).map(silenceToJson) }));

  app.post("/api/v1/silences", async (request, reply) => {
    const silence = await addSilence(db, parseRequest(silenceBody, request.body));
    return reply.status(201).send({ silenceID: silence.id, silence: silenceToJson(silence) });
  });

  app.delete<{ Params: { id: string } }>("/api/v1/silences/:id", async (request) => ({ silence: silenceToJson(await expireSilence(db, request.params.id)) }));
};
