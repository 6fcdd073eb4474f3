// Types of the pure functions web/app.js exports for test/unit/web. The page itself is plain
// browser JavaScript served as is, so its types live beside it rather than in it.

export type HostStatus = 'up' | 'stale' | 'down';

export interface HostOs {
  distribution: string;
  release: string;
  kernel: string;
  architecture: string;
  virtualization: string;
}

export interface HostSummary {
  id: number;
  agentId: string;
  hostname: string;
  status: HostStatus;
  lastSeen: string | null;
  ageSeconds: number | null;
  os: HostOs | null;
  cpuPercent: number | null;
  memoryPercent: number | null;
  load1: number | null;
  logicalCores: number | null;
  memoryTotalBytes: number | null;
  fullestMount: { mountpoint: string; usedPercent: number } | null;
  addresses: string[];
}

export type Level = 'none' | 'ok' | 'warn' | 'crit';

export function formatBytes(bytes: number | null | undefined): string;
export function formatRate(bytesPerSecond: number | null | undefined): string;
export function formatPercent(percent: number | null | undefined): string;
export function formatLinkSpeed(mbps: number | null | undefined): string;
export function formatAge(seconds: number | null | undefined): string;
export function formatDuration(seconds: number | null | undefined): string;
export function formatSeconds(seconds: number | null | undefined): string;
export function formatTimestamp(value: string | number | Date | null | undefined): string;
export function usageLevel(percent: number | null | undefined): Level;
export function loadLevel(load1: number | null | undefined, cores: number | null | undefined): Level;
export function sortHosts<T extends Pick<HostSummary, 'id' | 'hostname' | 'status'>>(hosts: readonly T[]): T[];
export function countByStatus(hosts: readonly Pick<HostSummary, 'status'>[]): Record<HostStatus, number>;
export function parseHostHash(hash: string): number | null;
export function osLabel(os: HostOs | null | undefined): string;
export function hostMatches(host: HostSummary, query: string): boolean;
export function mapUrl(theme: 'light' | 'dark', n?: number): string;
export function takeTokenFromHash(hash: string): { found: boolean; token: string | null; rest: string };

export type AlertSeverity = 'info' | 'warning' | 'critical';

export interface OpenAlert {
  fingerprint: string;
  rule: string;
  severity: AlertSeverity;
  state: 'pending' | 'firing';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  value: number;
  activeSince: string;
  startsAt: string | null;
  hostId: number | null;
}

export function alertsByHost(alerts: readonly OpenAlert[] | null | undefined): Map<number, { count: number; severity: AlertSeverity; rules: string[] }>;
export function sortAlerts<T extends Pick<OpenAlert, 'state' | 'severity' | 'startsAt' | 'activeSince'>>(alerts: readonly T[]): T[];
export function parseViewHash(hash: string): 'hosts' | 'alerts' | 'map' | null;
