// Alerts that follow the topology: when a bastion, a hypervisor or a whole
// site falls, the hosts behind it go silent too, and forty HostDown pages say
// one thing forty times. Pure: HostDown observations and where each host sits
// in, the same observations (the hidden ones marked inhibited) and the
// SiteUnreachable observations out.
//
// An inhibited HostDown is kept, shown and stored like any alert, with the
// annotation `inhibited_by`; the dispatcher does not page it (../dispatch.ts).
// The alert that pages is the cause's: the parent's HostDown names how many
// hosts sit behind it, or one SiteUnreachable for a site where nothing reports.
//
// A cause that comes back does not free its hidden hosts at once: their agents reconnect after
// it (each after its own TCP retry, seconds to minutes apart), and one judged in between would
// page as if it were down on its own. A hidden host stays hidden until it has been silent for
// its own HostDown threshold counted from the cause's return; still silent then, it pages.
import type { HostObservation } from "../engine.ts";
import { settingsFor, type RuleSettings, type RulesConfig } from "../settings.ts";
import { HOST_DOWN } from "./absence.ts";

export const SITE_UNREACHABLE = "SiteUnreachable";
/** Held as long as HostDown, so the site's alert fires when its hosts' would. */
export const TOPOLOGY_RULE_DEFAULTS: Readonly<Record<string, RuleSettings>> = {
  [SITE_UNREACHABLE]: { enabled: true, forSeconds: 30 },
};

/** The annotation that marks an alert as hidden behind another: shown, not paged. */
export const INHIBITED_BY = "inhibited_by";
/** On the cause's alert: how many hosts are down behind it. */
export const HOSTS_BEHIND = "hosts_behind";

/** Where a host sits: its site, and the host SSH reaches it through (its route parent). */
export interface HostPlace {
  hostId: number;
  host: string;
  client: string;
  site: string;
  /** The route parent's host id: its via, else its hypervisor, else the site's bastion. */
  routeParent: number | null;
  /** How long it must be silent to be down (absence.ts: silentForSeconds of its interval). */
  silentForSeconds: number;
}

export interface TopologyContext {
  places: ReadonlyMap<number, HostPlace>;
  /** Hosts known down by other means than their own silence (a Proxmox node whose ProxmoxNodeDown fires). */
  downElsewhere: ReadonlySet<number>;
  /** Seconds since a host's HostDown (or ProxmoxNodeDown) stopped; 0 while it is still open. */
  hostsBack: ReadonlyMap<number, number>;
  /** Seconds since a site's SiteUnreachable stopped, by siteKey(); 0 while it is still open. */
  sitesBack: ReadonlyMap<string, number>;
}

/** The key of a site in TopologyContext.sitesBack. */
export const siteKey = (client: string, site: string) => JSON.stringify([client, site]);

const NAMES_SHOWN = 5;

function namesOf(names: string[]): string {
  const sorted = [...names].sort();
  const shown = sorted.slice(0, NAMES_SHOWN).join(", ");
  return sorted.length > NAMES_SHOWN ? `${shown} and ${sorted.length - NAMES_SHOWN} more` : shown;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/**
 * Marks the HostDown observations that a down route parent or a wholly-down
 * site explains, names on each cause how many hosts it hides, and adds one
 * SiteUnreachable per site (of at least two reporting hosts) where every host
 * is down. Observations of hosts not placed in a site pass unchanged.
 */
export function judgeTopology(hostDown: readonly HostObservation[], context: TopologyContext, config: RulesConfig): HostObservation[] {
  const downHosts = new Set(context.downElsewhere);
  for (const o of hostDown) if (o.observation.rule === HOST_DOWN && o.observation.active && o.hostId !== null) downHosts.add(o.hostId);

  // Sites: every reporting host's HostDown is active.
  const sites = new Map<string, { client: string; site: string; hosts: HostObservation[] }>();
  for (const o of hostDown) {
    const place = o.hostId === null ? undefined : context.places.get(o.hostId);
    if (!place) continue;
    const key = siteKey(place.client, place.site);
    const entry = sites.get(key) ?? { client: place.client, site: place.site, hosts: [] };
    entry.hosts.push(o);
    sites.set(key, entry);
  }
  const inhibitor = new Map<HostObservation, string>();
  const out: HostObservation[] = [];
  const placeOf = (o: HostObservation) => context.places.get(o.hostId!)!;
  /** Whether a cause back for `back` seconds still explains o's silence: o has not had its own threshold's time since. */
  const stillExplains = (back: number | undefined, o: HostObservation) => back !== undefined && back <= placeOf(o).silentForSeconds;
  for (const [key, { client, site, hosts }] of sites) {
    const settings = settingsFor(SITE_UNREACHABLE, TOPOLOGY_RULE_DEFAULTS[SITE_UNREACHABLE]!, config, { host: "", client, site });
    if (!settings.enabled || hosts.length < 2) continue;
    const allDown = hosts.every((o) => o.observation.active);
    const back = context.sitesBack.get(key);
    for (const o of hosts) if (allDown || (o.observation.active && stillExplains(back, o))) inhibitor.set(o, `site ${site}`);
    out.push({
      hostId: null,
      observation: {
        rule: SITE_UNREACHABLE,
        severity: "critical",
        labels: { client, site },
        annotations: {
          summary: `every host of ${client}/${site} is down: ${plural(hosts.length, "host")} silent (${namesOf(hosts.map((o) => o.observation.labels.host ?? ""))})`,
          [HOSTS_BEHIND]: String(hosts.length),
        },
        value: hosts.filter((o) => o.observation.active).length,
        active: allDown,
        cleared: !allDown,
        forSeconds: settings.forSeconds,
      },
    });
  }

  // Route parents: the topmost down host on the way to a down host hides it.
  const hidden = new Map<number, string[]>();
  for (const o of hostDown) {
    if (inhibitor.has(o) || !o.observation.active || o.hostId === null) continue;
    const cause = topmostCause(o.hostId, context.places, (at) => downHosts.has(at) || stillExplains(context.hostsBack.get(at), o));
    if (cause === null) continue;
    inhibitor.set(o, context.places.get(cause)!.host);
    if (downHosts.has(cause)) hidden.set(cause, [...(hidden.get(cause) ?? []), o.observation.labels.host ?? ""]);
  }

  for (const o of hostDown) {
    const by = inhibitor.get(o);
    const behind = o.hostId === null ? undefined : hidden.get(o.hostId);
    if (by === undefined && behind === undefined) {
      out.push(o);
      continue;
    }
    const annotations: Record<string, string> = { ...o.observation.annotations };
    if (by !== undefined) {
      annotations[INHIBITED_BY] = by;
      annotations.summary = `${annotations.summary} (inhibited by ${by})`;
    } else if (behind) {
      annotations[HOSTS_BEHIND] = String(behind.length);
      annotations.summary = `${annotations.summary}; ${plural(behind.length, "host")} behind it unreachable: ${namesOf(behind)}`;
    }
    out.push({ ...o, observation: { ...o.observation, annotations } });
  }
  return out;
}

/** The host furthest up the route to `hostId` that explains its silence (down, or just back), or null when none does. */
function topmostCause(hostId: number, places: ReadonlyMap<number, HostPlace>, explains: (at: number) => boolean): number | null {
  let cause: number | null = null;
  const seen = new Set([hostId]);
  for (let at = places.get(hostId)?.routeParent ?? null; at !== null && !seen.has(at); at = places.get(at)?.routeParent ?? null) {
    seen.add(at);
    if (explains(at)) cause = at;
  }
  return cause;
}
