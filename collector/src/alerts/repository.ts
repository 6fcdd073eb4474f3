// Alert state in PostgreSQL. Plain functions over a Db (or a transaction).
import { sql, type Selectable } from "kysely";
import type { Db } from "../db/database.ts";
import type { AlertDeliveriesTable, AlertsTable } from "../db/schema.ts";
import type { Alert, AlertState, Transition } from "./engine.ts";
import type { DeliveryAttempt } from "./notifiers/delivery.ts";
import { nextHopName } from "../topology/routes.ts";
import { HOST_DOWN, silentForSeconds, type ReportingHost } from "./rules/absence.ts";
import { PROXMOX_NODE_DOWN } from "./rules/proxmox.ts";
import { SITE_UNREACHABLE, siteKey, type HostPlace, type TopologyContext } from "./rules/topology.ts";

type AlertRow = Selectable<AlertsTable>;

const toAlert = (row: AlertRow): Alert => ({
  fingerprint: row.fingerprint,
  rule: row.rule,
  severity: row.severity,
  labels: row.labels,
  annotations: row.annotations,
  state: row.state,
  value: row.value,
  activeSince: row.active_since,
  startsAt: row.starts_at,
  endsAt: row.ends_at,
});

export async function loadAlerts(db: Db, fingerprints: string[]): Promise<Map<string, Alert>> {
  if (!fingerprints.length) return new Map();
  const { rows } = await sql<AlertRow>`SELECT * FROM alerts WHERE fingerprint = ANY(${fingerprints}::text[])`.execute(db);
  return new Map(rows.map((row) => [row.fingerprint, toAlert(row)]));
}

export interface Acknowledgement {
  by: string;
  at: Date;
  comment: string;
}

export type OpenAlert = Alert & { hostId: number | null; ack: Acknowledgement | null; muted: boolean };

/** Pending and firing alerts (of the given hosts, if any), firing first, then by severity and age. */
export async function openAlerts(db: Db, hostIds?: number[]): Promise<OpenAlert[]> {
  const { rows } = await sql<AlertRow>`
    SELECT * FROM alerts WHERE state <> 'resolved' AND (${hostIds ?? null}::bigint[] IS NULL OR host_id = ANY(${hostIds ?? null}::bigint[]))
    ORDER BY state = 'firing' DESC, severity = 'critical' DESC, coalesce(starts_at, active_since)`.execute(db);
  return rows.map((row) => ({
    ...toAlert(row),
    hostId: row.host_id,
    ack: row.acknowledged_by !== null && row.acknowledged_at !== null ? { by: row.acknowledged_by, at: row.acknowledged_at, comment: row.ack_comment ?? "" } : null,
    muted: row.muted,
  }));
}

/** Stores alerts (insert or replace by fingerprint); removes those given as dropped. */
export async function saveAlerts(db: Db, alerts: Array<Alert & { hostId?: number | null }>, dropped: string[] = []): Promise<void> {
  if (dropped.length) await sql`DELETE FROM alerts WHERE fingerprint = ANY(${dropped}::text[])`.execute(db);
  if (!alerts.length) return;
  const rows = alerts.map((a) => ({
    fingerprint: a.fingerprint, rule: a.rule, severity: a.severity, labels: a.labels, annotations: a.annotations,
    state: a.state, value: a.value, active_since: a.activeSince, starts_at: a.startsAt, ends_at: a.endsAt, host_id: a.hostId ?? null,
  }));
  // A state that differs from the stored one is a transition, logged in the same statement (every
  // part of it sees the rows as they were before it), dated when the new state began.
  await sql`
    WITH r AS (
      SELECT * FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS r(
        fingerprint text, rule text, severity text, labels jsonb, annotations jsonb, state text, value float8,
        active_since timestamptz, starts_at timestamptz, ends_at timestamptz, host_id bigint)
    ), logged AS (
      INSERT INTO alert_transitions (fingerprint, at, from_state, to_state, value)
      SELECT r.fingerprint,
        coalesce(CASE r.state WHEN 'pending' THEN r.active_since WHEN 'firing' THEN r.starts_at ELSE r.ends_at END, now()),
        a.state, r.state, r.value
      FROM r LEFT JOIN alerts a ON a.fingerprint = r.fingerprint
      WHERE a.state IS DISTINCT FROM r.state
    )
    INSERT INTO alerts (fingerprint, rule, severity, labels, annotations, state, value, active_since, starts_at, ends_at, host_id)
    SELECT fingerprint, rule, severity, labels, annotations, state, value, active_since, starts_at, ends_at, host_id FROM r
    ON CONFLICT (fingerprint) DO UPDATE SET
      rule = excluded.rule, severity = excluded.severity, labels = excluded.labels, annotations = excluded.annotations,
      state = excluded.state, value = excluded.value, active_since = excluded.active_since, starts_at = excluded.starts_at,
      ends_at = excluded.ends_at, host_id = coalesce(excluded.host_id, alerts.host_id), updated_at = now()`.execute(db);
}

export interface AlertTransitionRow {
  at: Date;
  from: AlertState | null;
  to: AlertState;
  value: number;
}

/** An alert's transitions, newest first, at most `limit`. */
export async function alertTransitions(db: Db, fingerprint: string, limit: number): Promise<AlertTransitionRow[]> {
  const rows = await db
    .selectFrom("alert_transitions")
    .select(["at", "from_state", "to_state", "value"])
    .where("fingerprint", "=", fingerprint)
    .orderBy("at", "desc")
    .orderBy("id", "desc")
    .limit(limit)
    .execute();
  return rows.map((row) => ({ at: row.at, from: row.from_state, to: row.to_state, value: row.value }));
}

export async function recordDeliveryAttempt(db: Db, attempt: DeliveryAttempt, fingerprints: string[]): Promise<void> {
  await db
    .insertInto("alert_deliveries")
    .values({
      delivery_id: attempt.deliveryId, receiver: attempt.receiver, fingerprints, attempt: attempt.attempt, at: attempt.at,
      status: attempt.status, error: attempt.error, delivered: attempt.delivered, final: attempt.final,
    })
    .execute();
}

export interface DeliveryLogEntry {
  deliveryId: string;
  receiver: string;
  fingerprints: string[];
  attempt: number;
  at: Date;
  status: number | null;
  error: string | null;
  delivered: boolean;
  final: boolean;
}

/** The newest delivery attempts first, optionally of one receiver or one alert. */
export async function deliveryLog(db: Db, filter: { receiver?: string; fingerprint?: string; limit: number }): Promise<DeliveryLogEntry[]> {
  const { rows } = await sql<Selectable<AlertDeliveriesTable>>`
    SELECT delivery_id, receiver, fingerprints, attempt, at, status, error, delivered, final FROM alert_deliveries
    WHERE (${filter.receiver ?? null}::text IS NULL OR receiver = ${filter.receiver ?? null})
      AND (${filter.fingerprint ?? null}::text IS NULL OR ${filter.fingerprint ?? null} = ANY(fingerprints))
    ORDER BY id DESC LIMIT ${filter.limit}`.execute(db);
  return rows.map((r) => ({
    deliveryId: r.delivery_id, receiver: r.receiver, fingerprints: r.fingerprints, attempt: r.attempt, at: r.at,
    status: r.status, error: r.error, delivered: r.delivered, final: r.final,
  }));
}

/**
 * Hosts that have reported (those given, or all), as the rules see them: the
 * name alerts are labelled with, where they are placed, their labels, and
 * how old their last report is.
 */
export async function reportingHosts(db: Db, hostIds?: number[]): Promise<ReportingHost[]> {
  const { rows } = await sql<{ id: number; host: string; client: string | null; site: string | null; labels: Record<string, string>; age_seconds: number | null; interval_seconds: number | null; shared_name: boolean }>`
    WITH named AS (
      -- Over every reporting host, whichever are asked for: whether another has the same name.
      SELECT id, count(*) OVER (PARTITION BY coalesce(name, hostname)) > 1 AS shared_name FROM hosts WHERE received_at IS NOT NULL)
    SELECT h.id, coalesce(h.name, h.hostname) AS host, c.name AS client, s.name AS site, h.labels,
           extract(epoch FROM now() - h.received_at)::float8 AS age_seconds, h.interval_seconds, n.shared_name
    FROM hosts h JOIN named n ON n.id = h.id LEFT JOIN sites s ON s.id = h.site_id LEFT JOIN clients c ON c.id = s.client_id
    WHERE ${hostIds ?? null}::bigint[] IS NULL OR h.id = ANY(${hostIds ?? null}::bigint[])`.execute(db);
  return rows.map((h) => ({
    hostId: h.id, host: h.host, labels: h.labels, ...(h.client && { client: h.client }), ...(h.site && { site: h.site }),
    ageSeconds: h.age_seconds ?? 0, intervalSeconds: h.interval_seconds, ...(h.shared_name && { sharedName: true }),
  }));
}

/**
 * Where every placed host sits, as the topology rules see it (rules/topology.ts): its
 * site and route parent, and the hosts down by another rule's judgement (a Proxmox node
 * whose ProxmoxNodeDown fires), so guests of a fallen node are hidden behind it, and
 * how long ago each cause (a host's HostDown or ProxmoxNodeDown, a site's SiteUnreachable)
 * stopped, so the hosts it hid get their time to report again.
 */
export async function topologyContext(db: Db, now = new Date()): Promise<TopologyContext> {
  const { rows } = await sql<{ id: number; name: string | null; host: string; via: string | null; parent: string | null; site_id: number; site: string; client: string; bastion: string | null; interval_seconds: number | null }>`
    SELECT h.id, h.name, coalesce(h.name, h.hostname) AS host, h.via, h.parent, h.site_id, s.name AS site, c.name AS client, s.bastion, h.interval_seconds
    FROM hosts h JOIN sites s ON s.id = h.site_id JOIN clients c ON c.id = s.client_id`.execute(db);
  const byName = new Map(rows.filter((r) => r.name !== null).map((r) => [`${r.site_id}\u0000${r.name}`, r.id]));
  const places = new Map<number, HostPlace>();
  for (const r of rows) {
    const next = r.name === null ? null : nextHopName({ bastion: r.bastion }, { name: r.name, via: r.via, parent: r.parent });
    const routeParent = next === null ? null : (byName.get(`${r.site_id}\u0000${next}`) ?? null);
    places.set(r.id, { hostId: r.id, host: r.host, client: r.client, site: r.site, routeParent, silentForSeconds: silentForSeconds(r.interval_seconds) });
  }
  const { rows: down } = await sql<{ host_id: number }>`
    SELECT host_id FROM alerts WHERE rule = ${PROXMOX_NODE_DOWN} AND state = 'firing' AND host_id IS NOT NULL`.execute(db);
  const { rows: causes } = await sql<{ rule: string; host_id: number | null; client: string | null; site: string | null; ends_at: Date | null }>`
    SELECT rule, host_id, labels->>'client' AS client, labels->>'site' AS site, ends_at
    FROM alerts WHERE rule IN (${HOST_DOWN}, ${PROXMOX_NODE_DOWN}, ${SITE_UNREACHABLE}) AND state <> 'pending'`.execute(db);
  const hostsBack = new Map<number, number>();
  const sitesBack = new Map<string, number>();
  for (const c of causes) {
    // Still firing counts as back 0 s ago: the judgement at hand may be the one that sees it end.
    const back = c.ends_at === null ? 0 : Math.max(0, (now.getTime() - c.ends_at.getTime()) / 1000);
    if (c.rule === SITE_UNREACHABLE && c.client !== null && c.site !== null) sitesBack.set(siteKey(c.client, c.site), back);
    else if (c.rule !== SITE_UNREACHABLE && c.host_id !== null) hostsBack.set(c.host_id, Math.min(back, hostsBack.get(c.host_id) ?? Infinity));
  }
  return { places, downElsewhere: new Set(down.map((d) => d.host_id)), hostsBack, sitesBack };
}

/** Stores transitions in the outbox, in the caller's transaction: the one that moves their alerts. */
export async function enqueueTransitions(db: Db, transitions: readonly Transition[]): Promise<void> {
  if (!transitions.length) return;
  await sql`INSERT INTO alert_outbox (transition) SELECT * FROM jsonb_array_elements(${JSON.stringify(transitions)}::jsonb)`.execute(db);
}

/** The oldest transitions waiting in the outbox, in the order they were made. */
export async function pendingTransitions(db: Db, limit: number): Promise<Array<{ id: number; transition: Transition }>> {
  const { rows } = await sql<{ id: string; transition: { alert: Alert & { activeSince: string; startsAt: string | null; endsAt: string | null }; to: Transition["to"] } }>`
    SELECT id, transition FROM alert_outbox ORDER BY id LIMIT ${limit}`.execute(db);
  const date = (value: string | null) => (value === null ? null : new Date(value));
  return rows.map(({ id, transition: { alert, to } }) => ({
    id: Number(id),
    transition: { to, alert: { ...alert, activeSince: new Date(alert.activeSince), startsAt: date(alert.startsAt), endsAt: date(alert.endsAt) } },
  }));
}

/** Removes transitions once handed to the notifiers. */
export async function removeSentTransitions(db: Db, ids: readonly number[]): Promise<void> {
  if (ids.length) await sql`DELETE FROM alert_outbox WHERE id = ANY(${ids}::bigint[])`.execute(db);
}
