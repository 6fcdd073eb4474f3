import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alertsByHost, parseViewHash, sortAlerts } from '../../../web/src/format.ts';
import type { AlertJson as OpenAlert } from '../../../collector/src/http/api-types.ts';

const alert = (over: Partial<OpenAlert>): OpenAlert => ({
  fingerprint: 'f', rule: 'HostDown', severity: 'warning', state: 'firing', labels: {}, annotations: {}, value: 0,
  activeSince: '2026-11-23T10:00:00Z', startsAt: '2026-11-23T10:00:00Z', hostId: 1, acknowledged: null, ...over,
});

test('alertsByHost - counts each host\'s open alerts and keeps the worst severity', () => {
  const byHost = alertsByHost([
    alert({ hostId: 1, rule: 'ListenerGone' }),
    alert({ hostId: 1, rule: 'HostDown', severity: 'critical' }),
    alert({ hostId: 2, rule: 'HostRebooted' }),
    alert({ hostId: null, rule: 'ProxmoxStorage' }),
  ]);
  assert.deepEqual(byHost.get(1), { count: 2, severity: 'critical', rules: ['ListenerGone', 'HostDown'] });
  assert.deepEqual(byHost.get(2), { count: 1, severity: 'warning', rules: ['HostRebooted'] });
  assert.equal(byHost.size, 2);
  assert.equal(alertsByHost(null).size, 0);
});

test('sortAlerts - firing before pending, critical first, then oldest first', () => {
  const sorted = sortAlerts([
    alert({ fingerprint: 'pending-crit', state: 'pending', severity: 'critical', startsAt: null }),
    alert({ fingerprint: 'warn-new', startsAt: '2026-11-23T11:00:00Z' }),
    alert({ fingerprint: 'warn-old', startsAt: '2026-11-23T09:00:00Z' }),
    alert({ fingerprint: 'crit', severity: 'critical' }),
  ]);
  assert.deepEqual(sorted.map((a) => a.fingerprint), ['crit', 'warn-old', 'warn-new', 'pending-crit']);
});

test('parseViewHash - knows the three views and nothing else', () => {
  assert.equal(parseViewHash('#view=alerts'), 'alerts');
  assert.equal(parseViewHash('#view=map'), 'map');
  assert.equal(parseViewHash('#view=evil'), null);
  assert.equal(parseViewHash('#host=3'), null);
});
