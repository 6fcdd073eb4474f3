import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  countByStatus,
  formatAge,
  formatBytes,
  formatDuration,
  formatLinkSpeed,
  formatPercent,
  formatRate,
  formatSeconds,
  formatTimestamp,
  hostMatches,
  loadLevel,
  parseHostHash,
  sortHosts,
  usageLevel,
} from '../../../web/src/format.ts';
import type { HostSummary } from '../../../collector/src/http/api-types.ts';

test('formatBytes - uses IEC units and keeps about three significant digits', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1536), '1.50 KiB');
  assert.equal(formatBytes(25_000_000_000), '23.3 GiB');
  assert.equal(formatBytes(128 * 1024 ** 3), '128 GiB');
  assert.equal(formatBytes(2 * 1024 ** 4), '2.00 TiB');
});

test('formatRate - uses SI units per second and shows an unmeasured rate as a dash, not 0', () => {
  assert.equal(formatRate(undefined), '—');
  assert.equal(formatRate(null), '—');
  assert.equal(formatRate(0), '0 B/s');
  assert.equal(formatRate(123_456), '123 kB/s');
  assert.equal(formatRate(2_345_678), '2.35 MB/s');
});

test('formatPercent and formatLinkSpeed - show absent values as a dash', () => {
  assert.equal(formatPercent(12.5), '12.5%');
  assert.equal(formatPercent(null), '—');
  assert.equal(formatPercent(Number.NaN), '—');
  assert.equal(formatLinkSpeed(1000), '1 Gb/s');
  assert.equal(formatLinkSpeed(2500), '2.5 Gb/s');
  assert.equal(formatLinkSpeed(100), '100 Mb/s');
  assert.equal(formatLinkSpeed(undefined), '—');
  assert.equal(formatLinkSpeed(-1), '—');
});

test('formatAge - reads as "4 s ago" and says never for a host that never reported', () => {
  assert.equal(formatAge(4.2), '4 s ago');
  assert.equal(formatAge(-0.3), '0 s ago');
  assert.equal(formatAge(125), '2 min ago');
  assert.equal(formatAge(7200), '2 h ago');
  assert.equal(formatAge(3 * 86400 + 5), '3 d ago');
  assert.equal(formatAge(null), 'never');
});

test('formatDuration and formatSeconds - give an uptime in two units and timings in ms or s', () => {
  assert.equal(formatDuration(1_234_567), '14 d 6 h');
  assert.equal(formatDuration(3 * 3600 + 12 * 60), '3 h 12 min');
  assert.equal(formatDuration(42), '42 s');
  assert.equal(formatDuration(undefined), '—');
  assert.equal(formatSeconds(0.0123), '12 ms');
  assert.equal(formatSeconds(1.5), '1.50 s');
});

test('formatTimestamp - prints local time as YYYY-MM-DD HH:MM:SS and a dash for garbage', () => {
  assert.equal(formatTimestamp(new Date(2026, 10, 23, 9, 5, 7)), '2026-11-23 09:05:07');
  assert.equal(formatTimestamp('not a date'), '—');
  assert.equal(formatTimestamp(null), '—');
});

test('usageLevel - turns amber at 80 and red at 90', () => {
  assert.equal(usageLevel(79.9), 'ok');
  assert.equal(usageLevel(80), 'warn');
  assert.equal(usageLevel(89.99), 'warn');
  assert.equal(usageLevel(90), 'crit');
  assert.equal(usageLevel(null), 'none');
});

test('loadLevel - compares load to logical cores', () => {
  assert.equal(loadLevel(0.4, 2), 'ok');
  assert.equal(loadLevel(2, 2), 'warn');
  assert.equal(loadLevel(5.12, 2), 'crit');
  assert.equal(loadLevel(1, 0), 'none');
  assert.equal(loadLevel(null, 4), 'none');
});

test('sortHosts - puts down first, then stale, then up, each by natural hostname order', () => {
  const hosts = [
    { id: 1, hostname: 'web10', status: 'up' },
    { id: 2, hostname: 'web2', status: 'up' },
    { id: 3, hostname: 'db01', status: 'stale' },
    { id: 4, hostname: 'zeta', status: 'down' },
    { id: 5, hostname: 'alpha', status: 'down' },
  ] as const;
  assert.deepEqual(
    sortHosts(hosts).map((h) => h.hostname),
    ['alpha', 'zeta', 'db01', 'web2', 'web10'],
  );
  assert.equal(hosts[0].hostname, 'web10', 'the input is not reordered');
});

test('countByStatus - counts each status', () => {
  assert.deepEqual(countByStatus([{ status: 'up' }, { status: 'down' }, { status: 'up' }]), { up: 2, stale: 0, down: 1, unknown: 0 });
  assert.deepEqual(countByStatus([{ status: 'unknown' }, { status: 'up' }]), { up: 1, stale: 0, down: 0, unknown: 1 });
});

test('parseHostHash - accepts #host=ID and nothing else', () => {
  assert.equal(parseHostHash('#host=3'), 3);
  assert.equal(parseHostHash('host=42'), 42);
  assert.equal(parseHostHash(''), null);
  assert.equal(parseHostHash('#host='), null);
  assert.equal(parseHostHash('#host=3x'), null);
  assert.equal(parseHostHash('#host=-1'), null);
  assert.equal(parseHostHash('#other=3'), null);
});

test('hostMatches - matches every word against hostname, OS and addresses', () => {
  const host: HostSummary = {
    id: 1,
    agentId: '5f0c',
    hostname: 'web01',
    status: 'up',
    lastSeen: null,
    ageSeconds: null,
    os: { distribution: 'Debian GNU/Linux', release: '12', kernel: '6.1.0', architecture: 'x64', virtualization: 'kvm' },
    cpuPercent: null,
    memoryPercent: null,
    load1: null,
    logicalCores: null,
    memoryTotalBytes: null,
    fullestMount: null,
    addresses: ['10.0.0.5'],
    address: null,
    claims: [],
    agentVersion: '0.1.0',
  };
  assert.ok(hostMatches(host, ''));
  assert.ok(hostMatches(host, 'WEB debian'));
  assert.ok(hostMatches(host, '10.0.0'));
  assert.ok(!hostMatches(host, 'web ubuntu'));
});
