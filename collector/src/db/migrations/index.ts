// Every migration, in order. Listed by hand (not read from the directory) so
// the set is explicit and survives bundling.
import type { Migration } from "kysely";
import * as hosts from "./2026_11_23_001_hosts.ts";
import * as topology from "./2026_11_23_002_topology.ts";
import * as alerts from "./2026_11_23_003_alerts.ts";
import * as proxmox from "./2026_11_23_004_proxmox.ts";
import * as silences from "./2026_11_23_005_silences.ts";
import * as series from "./2026_11_23_006_series.ts";
import * as partitionedSeries from "./2026_12_01_015_partitioned_series.ts";
import * as security from "./2026_12_01_017_security.ts";
import * as snmp from "./2026_12_01_021_snmp.ts";
import * as proxmoxTasks from "./2026_12_02_050_proxmox_tasks.ts";
import * as slugs from "./2026_12_02_090_slugs.ts";
import * as alertTransitions from "./2026_12_02_091_alert_transitions.ts";
import * as terminalSessions from "./2026_12_02_030_terminal_sessions.ts";
import * as terminalTickets from "./2026_12_03_120_terminal_tickets.ts";
import * as checkSamples from "./2026_12_02_100_check_samples.ts";
import * as alertOutbox from "./2026_12_02_100_alert_outbox.ts";
import * as containers from "./2026_12_02_040_containers.ts";
import * as narrowLatest from "./2026_12_02_080_narrow_latest.ts";

export const migrations: Record<string, Migration> = {
  "2026_11_23_001_hosts": hosts,
  "2026_11_23_002_topology": topology,
  "2026_11_23_003_alerts": alerts,
  "2026_11_23_004_proxmox": proxmox,
  "2026_11_23_005_silences": silences,
  "2026_11_23_006_series": series,
  "2026_12_01_015_partitioned_series": partitionedSeries,
  "2026_12_01_017_security": security,
  "2026_12_01_021_snmp": snmp,
  "2026_12_02_050_proxmox_tasks": proxmoxTasks,
  "2026_12_02_090_slugs": slugs,
  "2026_12_02_091_alert_transitions": alertTransitions,
  "2026_12_02_030_terminal_sessions": terminalSessions,
  "2026_12_02_100_check_samples": checkSamples,
  "2026_12_02_100_alert_outbox": alertOutbox,
  "2026_12_02_040_containers": containers,
  "2026_12_02_080_narrow_latest": narrowLatest,
  "2026_12_03_120_terminal_tickets": terminalTickets,
};
