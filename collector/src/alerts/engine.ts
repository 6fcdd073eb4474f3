// The alert state machine, pure: inactive → pending → firing → resolved, with
// `for` durations and hysteresis. One alert per fingerprint (rule + labels).
//
// A rule observes a value against two thresholds: `active` when past the
// firing threshold, `cleared` when back past the (separate) clear threshold.
// Between the two a firing alert stays firing, so a value hovering around the
// threshold does not flap. A pending alert whose condition goes away is
// dropped silently: nothing was sent for it.
import { hash } from "node:crypto";

export type AlertState = "pending" | "firing" | "resolved";
export type Severity = "info" | "warning" | "critical";

export type Labels = Readonly<Record<string, string>>;

export interface Observation {
  rule: string;
  severity: Severity;
  labels: Labels;
  annotations: Readonly<Record<string, string>>;
  value: number;
  /** Past the firing threshold. */
  active: boolean;
  /** Past the clear threshold (for a plain condition: simply !active). */
  cleared: boolean;
  /** How long the condition must hold before the alert fires; 0 fires at once. */
  forSeconds: number;
}

export interface Alert {
  fingerprint: string;
  rule: string;
  severity: Severity;
  labels: Labels;
  annotations: Readonly<Record<string, string>>;
  state: AlertState;
  value: number;
  /** When the condition became true (start of pending). */
  activeSince: Date;
  /** When it fired: Alertmanager's startsAt. */
  startsAt: Date | null;
  /** When it resolved: Alertmanager's endsAt. */
  endsAt: Date | null;
}

export interface Transition {
  alert: Alert;
  /** The state entered: only firing and resolved are sent to notifiers. */
  to: "firing" | "resolved";
}

/** An observation and the host its alert belongs to (the alert's host_id). */
export interface HostObservation {
  /** Null for an alert of no one host (SiteUnreachable). */
  hostId: number | null;
  observation: Observation;
}

/**
 * A stable id for rule + labels, as Alertmanager fingerprints label sets:
 * sorted label names and values, hashed; 16 hex digits. Given a severity, it
 * counts as a label (severity is a label to Alertmanager: warning and
 * critical are two alerts); every alert's fingerprint is taken so.
 */
export function fingerprint(rule: string, labels: Labels, severity?: Severity): string {
  const all = severity === undefined ? labels : { ...labels, severity };
  // One string hashed at once (taken on every observation of every report: the hash's per-call cost showed in ingest's profile).
  let text = rule;
  for (const name of Object.keys(all).sort()) text += `\u0000${name}\u0000${all[name]}`;
  return hash("sha256", text, "hex").slice(0, 16);
}

/**
 * Advances one alert by one observation. `current` is the stored alert for
 * this fingerprint, if any. Returns the alert to store (undefined: none) and
 * the transition to notify, if the state changed to firing or resolved.
 */
export function step(current: Alert | undefined, observation: Observation, now: Date): { alert?: Alert; transition?: Transition } {
  const live = current && current.state !== "resolved" ? current : undefined;
  if (!live) {
    if (!observation.active) return current ? { alert: current } : {};
    const pending: Alert = {
      fingerprint: fingerprint(observation.rule, observation.labels, observation.severity),
      rule: observation.rule,
      severity: observation.severity,
      labels: observation.labels,
      annotations: observation.annotations,
      state: "pending",
      value: observation.value,
      activeSince: now,
      startsAt: null,
      endsAt: null,
    };
    return observation.forSeconds <= 0 ? fire(pending, now) : { alert: pending };
  }

  const updated: Alert = { ...live, value: observation.value, annotations: observation.annotations };
  if (live.state === "pending") {
    if (!observation.active) return {}; // never fired: dropped without a word
    const heldSeconds = (now.getTime() - live.activeSince.getTime()) / 1000;
    return heldSeconds >= observation.forSeconds ? fire(updated, now) : { alert: updated };
  }
  // firing
  if (observation.cleared) {
    const resolved: Alert = { ...updated, state: "resolved", endsAt: now };
    return { alert: resolved, transition: { alert: resolved, to: "resolved" } };
  }
  return { alert: updated };
}

function fire(alert: Alert, now: Date): { alert: Alert; transition: Transition } {
  const firing: Alert = { ...alert, state: "firing", startsAt: now, endsAt: null };
  return { alert: firing, transition: { alert: firing, to: "firing" } };
}

/**
 * An observation from a value and a pair of thresholds. `above`: fires when
 * value ≥ threshold, clears when value < clear. `below`: the mirror image.
 */
export function thresholdObservation(
  base: Omit<Observation, "active" | "cleared">,
  threshold: { direction: "above" | "below"; fire: number; clear: number },
): Observation {
  const { direction, fire: at, clear } = threshold;
  const v = base.value;
  return {
    ...base,
    active: direction === "above" ? v >= at : v <= at,
    cleared: direction === "above" ? v < clear : v > clear,
  };
}
