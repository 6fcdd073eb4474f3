// NetMap status page. Plain ES module, no build step, nothing fetched but /api/v1, always with
// the collector's bearer token (see "token" below).
// Every piece of host data reaches the DOM through textContent or an attribute, never
// innerHTML: hostnames, process names and mountpoints come from untrusted agents.
//
// The collector serves only /, /app.js and /style.css, so the page is one module; the pure
// formatting and ordering functions are exported for test/unit/web and typed in app.d.ts.

const REFRESH_MS = 5000;
const REQUEST_TIMEOUT_MS = 4000;
const STATUS_ORDER = { down: 0, stale: 1, up: 2 };
const DASH = '—';

// ---------------------------------------------------------------- formatting (pure)

function isNumber(value) {
  return typeof value === 'number' && Number.isFinite(value);
}

function scaled(value, base, units) {
  let v = Math.abs(value);
  let i = 0;
  while (v >= base && i < units.length - 1) {
    v /= base;
    i += 1;
  }
  const digits = i === 0 || v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${value < 0 ? '-' : ''}${v.toFixed(digits)} ${units[i]}`;
}

/** Sizes in IEC units: 1536 → "1.50 KiB". */
export function formatBytes(bytes) {
  if (!isNumber(bytes)) return DASH;
  return scaled(bytes, 1024, ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']);
}

/** Byte rates in SI units (like iostat, ip -s): 1_500_000 → "1.50 MB/s". Absent = not measured. */
export function formatRate(bytesPerSecond) {
  if (!isNumber(bytesPerSecond)) return DASH;
  return scaled(bytesPerSecond, 1000, ['B/s', 'kB/s', 'MB/s', 'GB/s', 'TB/s']);
}

export function formatPercent(percent) {
  if (!isNumber(percent)) return DASH;
  return `${percent.toFixed(1)}%`;
}

/** Link speed: 1000 → "1 Gb/s", 100 → "100 Mb/s". */
export function formatLinkSpeed(mbps) {
  if (!isNumber(mbps) || mbps <= 0) return DASH;
  if (mbps >= 1000) return `${Number((mbps / 1000).toFixed(1))} Gb/s`;
  return `${mbps} Mb/s`;
}

/** "4 s ago", "3 min ago"; null means the host never reported. */
export function formatAge(seconds) {
  if (!isNumber(seconds)) return 'never';
  const s = Math.max(0, seconds);
  if (s < 60) return `${Math.floor(s)} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** Uptime-style duration, two units at most: "12 d 4 h", "3 h 12 min", "42 s". */
export function formatDuration(seconds) {
  if (!isNumber(seconds) || seconds < 0) return DASH;
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return h > 0 ? `${d} d ${h} h` : `${d} d`;
  if (h > 0) return m > 0 ? `${h} h ${m} min` : `${h} h`;
  if (m > 0) return `${m} min`;
  return `${s} s`;
}

/** A short timing: 0.0123 → "12 ms", 1.5 → "1.50 s". */
export function formatSeconds(seconds) {
  if (!isNumber(seconds)) return DASH;
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  return `${seconds.toFixed(2)} s`;
}

/** A local wall-clock timestamp an operator can read unambiguously: "2026-11-23 10:00:05". */
export function formatTimestamp(value) {
  const t = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Date.parse(value ?? '');
  if (!Number.isFinite(t)) return DASH;
  const d = new Date(t);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Colour band of a usage percentage: amber from 80, red from 90. */
export function usageLevel(percent) {
  if (!isNumber(percent)) return 'none';
  if (percent >= 90) return 'crit';
  if (percent >= 80) return 'warn';
  return 'ok';
}

/** Colour band of load per logical core: amber from 1, red from 2. */
export function loadLevel(load1, cores) {
  if (!isNumber(load1) || !isNumber(cores) || cores <= 0) return 'none';
  const perCore = load1 / cores;
  if (perCore >= 2) return 'crit';
  if (perCore >= 1) return 'warn';
  return 'ok';
}

/** Down first, then stale, then up; by hostname (natural order) within a status. */
export function sortHosts(hosts) {
  const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });
  return [...hosts].sort(
    (a, b) =>
      (STATUS_ORDER[a.status] ?? 3) - (STATUS_ORDER[b.status] ?? 3) ||
      collator.compare(a.hostname ?? '', b.hostname ?? '') ||
      a.id - b.id,
  );
}

export function countByStatus(hosts) {
  const counts = { up: 0, stale: 0, down: 0 };
  for (const host of hosts) if (host.status in counts) counts[host.status] += 1;
  return counts;
}

/** "#host=3" → 3; anything else → null. */
export function parseHostHash(hash) {
  const params = new URLSearchParams(String(hash).replace(/^#/, ''));
  const id = params.get('host');
  return id !== null && /^[0-9]{1,15}$/.test(id) ? Number(id) : null;
}

export function osLabel(os) {
  if (!os) return DASH;
  return [os.distribution, os.release].filter(Boolean).join(' ') || DASH;
}

/** True when the host matches every word of a free-text filter. */
export function hostMatches(host, query) {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const haystack = [
    host.hostname,
    host.agentId,
    host.status,
    osLabel(host.os),
    host.os?.kernel,
    host.os?.architecture,
    host.os?.virtualization,
    ...(host.addresses ?? []),
  ]
    .filter(Boolean)
    .join(' ')
    .toLowerCase();
  return words.every((word) => haystack.includes(word));
}

const SEVERITY_ORDER = { critical: 0, warning: 1, info: 2 };

/** Open alerts per host id: how many, and the worst severity. Alerts without a host are left out. */
export function alertsByHost(alerts) {
  const byHost = new Map();
  for (const alert of alerts ?? []) {
    if (!isNumber(alert.hostId)) continue;
    const seen = byHost.get(alert.hostId);
    const severity = !seen || (SEVERITY_ORDER[alert.severity] ?? 3) < (SEVERITY_ORDER[seen.severity] ?? 3) ? alert.severity : seen.severity;
    byHost.set(alert.hostId, { count: (seen?.count ?? 0) + 1, severity, rules: [...(seen?.rules ?? []), alert.rule] });
  }
  return byHost;
}

/** Firing before pending, then critical first, then oldest first: what to look at first on top. */
export function sortAlerts(alerts) {
  const since = (a) => Date.parse(a.startsAt ?? a.activeSince ?? '') || 0;
  return [...alerts].sort(
    (a, b) =>
      (a.state === 'firing' ? 0 : 1) - (b.state === 'firing' ? 0 : 1) ||
      (SEVERITY_ORDER[a.severity] ?? 3) - (SEVERITY_ORDER[b.severity] ?? 3) ||
      since(a) - since(b),
  );
}

/** The view a hash links to ("#view=alerts"), or null. */
export function parseViewHash(hash) {
  const view = new URLSearchParams(String(hash).replace(/^#/, '')).get('view');
  return view === 'hosts' || view === 'alerts' || view === 'map' ? view : null;
}

// ---------------------------------------------------------------- DOM building

/** h('td', { class: 'num' }, 'text', childNode) — strings become text nodes, never markup. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') el.className = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function statusBadge(status) {
  const known = status in STATUS_ORDER ? status : 'unknown';
  return h('span', { class: `status status-${known}` }, h('span', { class: 'dot', 'aria-hidden': 'true' }), known);
}

function usageBar(percent, caption) {
  const level = usageLevel(percent);
  const fill = h('span', { class: `bar-fill level-${level}` });
  fill.style.width = `${isNumber(percent) ? Math.min(100, Math.max(0, percent)) : 0}%`;
  return h(
    'span',
    { class: 'usage' },
    h('span', { class: 'bar', 'aria-hidden': 'true' }, fill),
    h('span', { class: `usage-value level-${level}` }, formatPercent(percent)),
    caption ? h('span', { class: 'usage-caption', title: caption }, caption) : null,
  );
}

function muted(text) {
  return h('span', { class: 'muted' }, text);
}

// ---------------------------------------------------------------- state and fetching

const state = {
  hosts: null, // last good /api/v1/hosts list
  fetchedAt: 0, // Date.now() of that list
  listError: null,
  filter: '',
  openId: null, // host whose detail is open
  detail: null, // last good /api/v1/hosts/:id host for openId
  detailFetchedAt: 0,
  detailError: null,
  alerts: null, // last good /api/v1/alerts list
  alertsFetchedAt: 0,
  alertsError: null,
};

// ---------------------------------------------------------------- token
//
// /api/v1 needs the collector's bearer token. The page keeps it in sessionStorage (this tab
// only, gone with it), sends it on every request, and asks for it with a form when it has none
// or the collector refuses it (401). A link "/#token=…", as `npm start` prints, hands it over:
// a fragment never reaches the server or its log, and the page takes it out of the address bar
// before anything else reads the URL.

const TOKEN_KEY = 'netmap.token';

/** "#token=abc&view=map" → { found: true, token: 'abc', rest: '#view=map' }. */
export function takeTokenFromHash(hash) {
  const params = new URLSearchParams(String(hash).replace(/^#/, ''));
  if (!params.has('token')) return { found: false, token: null, rest: String(hash) };
  const token = params.get('token').trim() || null;
  params.delete('token');
  const rest = params.toString();
  return { found: true, token, rest: rest ? `#${rest}` : '' };
}

const auth = {
  token: null,
  needed: false, // the form is shown; nothing is fetched until it is answered
  message: null, // why the form is shown again
};

function keepToken(token) {
  auth.token = token;
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage refused (private mode, policy): the token lasts until the page is reloaded.
  }
}

function authHeaders() {
  return auth.token ? { authorization: `Bearer ${auth.token}` } : {};
}

function renderAuth() {
  document.body.classList.toggle('needs-token', auth.needed);
  document.getElementById('signin').hidden = !auth.needed;
  document.getElementById('signout').hidden = auth.needed || !auth.token;
  const error = document.getElementById('signin-error');
  error.hidden = !auth.message;
  error.textContent = auth.message ?? '';
}

/**
 * A 401 to a request sent with `sent`: the token is missing or not (any longer) the
 * collector's, so ask for it. A refusal of a token already replaced (an answer still in
 * flight when the user signed in again) says nothing about the current one.
 */
function tokenRefused(sent) {
  if (auth.needed || sent !== auth.token) return;
  auth.message = auth.token
    ? 'The collector refused this token. A collector without a configured token makes a new one each time it starts: enter its current token.'
    : null;
  keepToken(null);
  auth.needed = true;
  clearTimeout(timer);
  renderAuth();
  document.getElementById('token-input').focus();
}

/** Takes a "#token=…" out of the address bar; the token, if the link held one. */
function tokenFromLink() {
  const linked = takeTokenFromHash(location.hash);
  if (!linked.found) return null;
  history.replaceState(history.state, '', location.pathname + location.search + linked.rest);
  return linked.token;
}

function signIn(token) {
  keepToken(token);
  auth.message = null;
  if (!auth.needed) return renderAuth();
  auth.needed = false;
  renderAuth();
  void refresh();
  void watchMap();
}

function startAuth() {
  const linked = tokenFromLink();
  if (linked) keepToken(linked);
  if (!auth.token) {
    try {
      auth.token = sessionStorage.getItem(TOKEN_KEY);
    } catch {
      // Storage refused: ask.
    }
  }
  // Without a token there is nothing to try: ask at once rather than be refused.
  auth.needed = !auth.token;
  document.getElementById('signin-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = document.getElementById('token-input');
    const token = input.value.trim();
    if (!token) return;
    input.value = '';
    signIn(token);
  });
  // A link with a token opened in a tab already showing the page.
  window.addEventListener('hashchange', () => {
    const token = tokenFromLink();
    if (token) signIn(token);
  });
  document.getElementById('signout').addEventListener('click', () => {
    keepToken(null);
    // A fresh page: nothing the token fetched stays on screen.
    location.reload();
  });
  renderAuth();
  if (auth.needed) document.getElementById('token-input').focus();
}

class ApiError extends Error {
  constructor(message, status, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function getJson(path) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  let response;
  const sent = auth.token;
  try {
    response = await fetch(path, { signal: controller.signal, headers: { accept: 'application/json', ...authHeaders() } });
  } catch (err) {
    throw new ApiError(err?.name === 'AbortError' ? 'request timed out' : 'network error', 0, 'UNREACHABLE');
  } finally {
    clearTimeout(timer);
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    // A proxy error page or an empty body: reported below by status.
  }
  if (response.status === 401) tokenRefused(sent);
  if (!response.ok) {
    const message = body?.error?.message ?? `HTTP ${response.status}`;
    throw new ApiError(message, response.status, body?.error?.code ?? `HTTP_${response.status}`);
  }
  if (body === null) throw new ApiError('response was not JSON', response.status, 'BAD_RESPONSE');
  return body;
}

/** Seconds since the host last reported, advancing between refreshes. */
function currentAge(host, fetchedAt) {
  const elapsed = (Date.now() - fetchedAt) / 1000;
  if (isNumber(host.ageSeconds)) return host.ageSeconds + elapsed;
  if (host.lastSeen) {
    const t = Date.parse(host.lastSeen);
    if (Number.isFinite(t)) return (Date.now() - t) / 1000;
  }
  return null;
}

function clockTime(ms) {
  return formatTimestamp(ms).slice(11);
}

// ---------------------------------------------------------------- header

const lastCountsText = { value: '' };

function renderHeader() {
  const counts = countByStatus(state.hosts ?? []);
  const text = `${counts.up} up, ${counts.stale} stale, ${counts.down} down`;
  // aria-live announces every change, so only touch the counts when they change.
  if (state.hosts && text !== lastCountsText.value) {
    lastCountsText.value = text;
    for (const el of document.querySelectorAll('.count-n')) el.textContent = String(counts[el.dataset.status]);
    for (const status of ['stale', 'down']) {
      document.querySelector(`.count-${status}`).classList.toggle('is-zero', counts[status] === 0);
    }
  }
  document.title = counts.down > 0 ? `(${counts.down} down) NetMap` : 'NetMap';

  const conn = document.getElementById('conn');
  const refreshed = document.getElementById('refreshed');
  conn.hidden = !state.listError;
  if (state.listError) {
    conn.textContent =
      state.listError.status === 0
        ? `API unreachable: ${state.listError.message}`
        : `API error ${state.listError.status}: ${state.listError.message}`;
    refreshed.textContent = state.hosts
      ? `showing data from ${clockTime(state.fetchedAt)}`
      : 'no data yet';
  } else if (state.hosts) {
    refreshed.textContent = `Updated ${clockTime(state.fetchedAt)}`;
  }
  document.body.classList.toggle('is-stale', Boolean(state.listError && state.hosts));
}

// ---------------------------------------------------------------- host table

const COLUMNS = 9;

function placeholderRow(...content) {
  return h('tr', { class: 'placeholder' }, h('td', { colspan: COLUMNS }, ...content));
}

function emptyState() {
  return placeholderRow(
    h('strong', null, 'No hosts yet'),
    ' — start an agent: ',
    h('code', null, 'npm start'),
    ' runs a collector and one agent locally; on another machine run ',
    h('code', null, 'netmap-agent --nats nats://COLLECTOR:4222'),
    '.',
  );
}

function addressesCell(addresses) {
  const list = addresses ?? [];
  if (list.length === 0) return h('td', { class: 'addresses' }, muted(DASH));
  const shown = list.slice(0, 2).join(', ');
  const more = list.length > 2 ? muted(` +${list.length - 2}`) : null;
  return h('td', { class: 'addresses mono', title: list.join('\n') }, shown, more);
}

function alertBadge(open) {
  if (!open) return null;
  const label = `${open.count} open alert${open.count === 1 ? '' : 's'}: ${open.rules.join(', ')}`;
  return h('span', { class: `alert-badge sev-${SEVERITY_ORDER[open.severity] === undefined ? 'info' : open.severity}`, title: label, 'aria-label': label }, String(open.count));
}

function hostRow(host, openAlerts) {
  const os = host.os;
  const virt = os?.virtualization && os.virtualization !== 'none' ? os.virtualization : null;
  const age = currentAge(host, state.fetchedAt);
  const mount = host.fullestMount;
  const cores = host.logicalCores;
  const loadCls = `num level-${loadLevel(host.load1, cores)}`;
  const memCaption = isNumber(host.memoryTotalBytes) ? `of ${formatBytes(host.memoryTotalBytes)}` : null;

  const row = h(
    'tr',
    {
      class: `host-row row-${host.status}${host.id === state.openId ? ' is-selected' : ''}`,
      'data-id': host.id,
      tabindex: 0,
      'aria-selected': host.id === state.openId ? 'true' : 'false',
    },
    h('td', { class: 'col-status' }, statusBadge(host.status)),
    h(
      'th',
      { scope: 'row', class: 'hostname', title: `${host.hostname ?? ''} · agent ${host.agentId ?? '?'}` },
      h('span', { class: 'hostname-text' }, host.hostname || muted('(unnamed)')),
      alertBadge(openAlerts?.get(host.id)),
    ),
    h(
      'td',
      { class: 'os', title: os ? `kernel ${os.kernel ?? '?'} · ${os.architecture ?? '?'}` : null },
      osLabel(os),
      os?.architecture ? muted(` · ${os.architecture}`) : null,
      virt ? h('span', { class: 'tag' }, virt) : null,
    ),
    h('td', { class: 'col-bar' }, usageBar(host.cpuPercent)),
    h('td', { class: 'col-bar' }, usageBar(host.memoryPercent, memCaption)),
    h(
      'td',
      { class: loadCls },
      isNumber(host.load1) ? host.load1.toFixed(2) : DASH,
      muted(` / ${isNumber(cores) ? cores : '?'}`),
    ),
    h('td', { class: 'col-bar' }, mount ? usageBar(mount.usedPercent, mount.mountpoint) : usageBar(null)),
    addressesCell(host.addresses),
    h(
      'td',
      { class: `num age age-${host.status}`, title: host.lastSeen ? formatTimestamp(host.lastSeen) : 'never reported' },
      formatAge(age),
    ),
  );
  return row;
}

function renderTable() {
  const tbody = document.getElementById('host-rows');
  let rows;
  if (!state.hosts) {
    rows = [
      state.listError
        ? placeholderRow(h('strong', null, 'Cannot reach the NetMap API'), ` — ${state.listError.message}. Retrying every ${REFRESH_MS / 1000} s.`)
        : placeholderRow('Loading hosts…'),
    ];
  } else if (state.hosts.length === 0) {
    rows = [emptyState()];
  } else {
    const visible = sortHosts(state.hosts).filter((host) => hostMatches(host, state.filter));
    const openAlerts = alertsByHost(state.alerts);
    rows = visible.length > 0 ? visible.map((host) => hostRow(host, openAlerts)) : [placeholderRow(`No host matches “${state.filter}”.`)];
  }
  // Keep keyboard focus on the same host across the rebuild.
  const focusedId = document.activeElement?.closest?.('.host-row')?.dataset.id;
  tbody.replaceChildren(...rows);
  if (focusedId) tbody.querySelector(`.host-row[data-id="${CSS.escape(focusedId)}"]`)?.focus({ preventScroll: true });
}

// ---------------------------------------------------------------- alerts view

const ALERT_COLUMNS = 5;

function severityBadge(severity) {
  const known = severity in SEVERITY_ORDER ? severity : 'info';
  return h('span', { class: `severity sev-${known}` }, h('span', { class: 'dot', 'aria-hidden': 'true' }), String(severity ?? 'info'));
}

function alertRow(alert) {
  const since = alert.startsAt ?? alert.activeSince;
  const sinceSeconds = (Date.now() - Date.parse(since ?? '')) / 1000;
  const host = alert.labels?.host ?? '';
  const details = Object.entries(alert.labels ?? {})
    .filter(([name]) => name !== 'host')
    .map(([name, value]) => `${name}=${value}`)
    .join(' ');
  return h(
    'tr',
    { class: `alert-row alert-${alert.state}`, 'data-fingerprint': alert.fingerprint },
    h('td', { class: 'col-status' }, severityBadge(alert.severity)),
    h('th', { scope: 'row', class: 'rule mono', title: details || null }, alert.rule, alert.state === 'pending' ? h('span', { class: 'tag' }, 'pending') : null),
    h('td', { class: 'summary' }, alert.annotations?.summary || muted(details || DASH)),
    h('td', { class: 'alert-host' }, isNumber(alert.hostId) ? h('a', { href: `/#host=${alert.hostId}` }, host || `host ${alert.hostId}`) : host || muted(DASH)),
    h('td', { class: 'num nowrap', title: since ? formatTimestamp(since) : null }, Number.isFinite(sinceSeconds) ? formatAge(sinceSeconds) : DASH),
  );
}

function renderAlerts() {
  const count = state.alerts?.length ?? 0;
  const firing = (state.alerts ?? []).filter((a) => a.state === 'firing');
  const badge = document.getElementById('alert-count');
  badge.textContent = String(count);
  badge.classList.toggle('is-zero', count === 0);
  badge.classList.toggle('has-critical', firing.some((a) => a.severity === 'critical'));

  const error = document.getElementById('alerts-error');
  error.hidden = !state.alertsError;
  error.textContent = state.alertsError
    ? `Could not ${state.alerts ? 'refresh' : 'load'} the alerts: ${state.alertsError.message}.${state.alerts ? ` Showing alerts from ${clockTime(state.alertsFetchedAt)}.` : ' Retrying…'}`
    : '';

  const tbody = document.getElementById('alert-rows');
  const placeholder = (...content) => h('tr', { class: 'placeholder' }, h('td', { colspan: ALERT_COLUMNS }, ...content));
  let rows;
  if (!state.alerts) rows = [placeholder(state.alertsError ? 'No alerts loaded yet.' : 'Loading alerts…')];
  else if (count === 0) rows = [placeholder(h('strong', null, 'No open alerts'), ' — every rule is quiet.')];
  else rows = sortAlerts(state.alerts).map(alertRow);
  tbody.replaceChildren(...rows);
}

async function refreshAlerts() {
  try {
    const body = await getJson('/api/v1/alerts');
    state.alerts = Array.isArray(body.alerts) ? body.alerts : [];
    state.alertsFetchedAt = Date.now();
    state.alertsError = null;
  } catch (err) {
    state.alertsError = err;
  }
}

// ---------------------------------------------------------------- detail panel

function section(title, ...content) {
  return h('section', { class: 'panel' }, h('h3', { class: 'panel-title' }, title), ...content);
}

function table(caption, headers, rows, emptyText) {
  if (rows.length === 0) return h('p', { class: 'empty muted' }, emptyText);
  return h(
    'div',
    { class: 'table-scroll' },
    h(
    'table',
    { class: 'grid compact' },
    h('caption', { class: 'visually-hidden' }, caption),
    h(
      'thead',
      null,
      h('tr', null, headers.map(([label, cls]) => h('th', { scope: 'col', class: cls }, label))),
    ),
    h('tbody', null, rows),
    ),
  );
}

function facts(pairs) {
  return h(
    'dl',
    { class: 'facts' },
    pairs.filter(Boolean).map(([term, value, cls]) => [h('dt', null, term), h('dd', { class: cls }, value)]),
  );
}

function cpuBreakdown(cpu) {
  const parts = [
    ['user', cpu.userPercent],
    ['system', cpu.systemPercent],
    ['iowait', cpu.iowaitPercent],
    ['steal', cpu.stealPercent],
  ];
  const stack = h('div', { class: 'stack', 'aria-hidden': 'true' });
  for (const [name, value] of parts) {
    if (!isNumber(value) || value <= 0) continue;
    const seg = h('span', { class: `seg seg-${name}`, title: `${name} ${formatPercent(value)}` });
    seg.style.width = `${Math.min(100, value)}%`;
    stack.append(seg);
  }
  const legend = h(
    'ul',
    { class: 'legend' },
    parts.map(([name, value]) =>
      h('li', null, h('span', { class: `swatch seg-${name}`, 'aria-hidden': 'true' }), `${name} `, h('span', { class: 'num' }, formatPercent(value))),
    ),
  );
  return [stack, legend];
}

function cpuPanel(host) {
  const cpu = host.cpu ?? {};
  const usage = cpu.usagePercent ?? host.cpuPercent;
  const loads = [cpu.load1, cpu.load5, cpu.load15].map((v) => (isNumber(v) ? v.toFixed(2) : DASH)).join('  ');
  return section(
    'CPU',
    h('div', { class: 'big' }, usageBar(usage)),
    ...cpuBreakdown(cpu),
    facts([
      ['Model', cpu.model || DASH],
      ['Cores', `${cpu.physicalCores ?? '?'} physical · ${cpu.logicalCores ?? host.logicalCores ?? '?'} logical`],
      ['Load 1/5/15', loads, `num level-${loadLevel(cpu.load1, cpu.logicalCores ?? host.logicalCores)}`],
    ]),
  );
}

function memoryPanel(host) {
  const mem = host.memory ?? {};
  const swapPercent =
    isNumber(mem.swapTotalBytes) && mem.swapTotalBytes > 0 && isNumber(mem.swapUsedBytes)
      ? (mem.swapUsedBytes / mem.swapTotalBytes) * 100
      : null;
  return section(
    'Memory',
    h('div', { class: 'big' }, usageBar(host.memoryPercent, `${formatBytes(mem.usedBytes)} of ${formatBytes(mem.totalBytes)}`)),
    facts([
      ['Available', formatBytes(mem.availableBytes), 'num'],
      ['Buffers/cache', formatBytes(mem.buffersCacheBytes), 'num'],
      [
        'Swap',
        isNumber(mem.swapTotalBytes) && mem.swapTotalBytes > 0
          ? `${formatBytes(mem.swapUsedBytes)} of ${formatBytes(mem.swapTotalBytes)} (${formatPercent(swapPercent)})`
          : 'none',
        'num',
      ],
    ]),
  );
}

function mountsPanel(mounts) {
  const rows = [...mounts]
    .sort((a, b) => String(a.mountpoint).localeCompare(String(b.mountpoint)))
    .map((m) => {
      const inodePercent = isNumber(m.inodesTotal) && m.inodesTotal > 0 && isNumber(m.inodesUsed) ? (m.inodesUsed / m.inodesTotal) * 100 : null;
      return h(
        'tr',
        null,
        h('th', { scope: 'row', class: 'mono' }, m.mountpoint),
        h('td', { class: 'mono muted' }, m.device ?? DASH),
        h('td', null, m.fsType ?? DASH),
        h('td', { class: 'num' }, formatBytes(m.sizeBytes)),
        h('td', { class: 'num' }, formatBytes(m.availableBytes)),
        h('td', { class: 'col-bar' }, usageBar(m.usedPercent)),
        h('td', { class: `num level-${usageLevel(inodePercent)}` }, formatPercent(inodePercent)),
      );
    });
  return section(
    'Mounts',
    table(
      'Mounted filesystems',
      [['Mountpoint'], ['Device'], ['Type'], ['Size', 'num'], ['Avail', 'num'], ['Used', 'col-bar'], ['Inodes', 'num']],
      rows,
      'No mounts reported.',
    ),
  );
}

function disksPanel(disks) {
  const rows = disks.map((d) =>
    h(
      'tr',
      null,
      h('th', { scope: 'row', class: 'mono' }, d.name),
      h('td', { class: 'num' }, formatBytes(d.sizeBytes)),
      h('td', { class: 'num' }, formatRate(d.readBytesPerSecond)),
      h('td', { class: 'num' }, formatRate(d.writeBytesPerSecond)),
    ),
  );
  return section('Disks', table('Block devices', [['Disk'], ['Size', 'num'], ['Read', 'num'], ['Write', 'num']], rows, 'No disks reported.'));
}

function interfacesPanel(interfaces) {
  // Physical first, then virtual (bridges, veths, tunnels), each by name.
  const sorted = [...interfaces].sort((a, b) => Number(Boolean(a.virtual)) - Number(Boolean(b.virtual)) || String(a.name).localeCompare(String(b.name)));
  const rows = sorted.map((i) =>
    h(
      'tr',
      { class: i.virtual ? 'is-virtual' : null },
      h('th', { scope: 'row', class: 'mono nowrap' }, i.name, i.virtual ? h('span', { class: 'tag' }, 'virtual') : null),
      h('td', null, h('span', { class: `link link-${i.up ? 'up' : 'down'}` }, i.up ? 'up' : 'down')),
      h('td', { class: 'mono' }, i.mac || DASH),
      h(
        'td',
        { class: 'mono' },
        (i.addresses ?? []).length === 0
          ? muted(DASH)
          : (i.addresses ?? []).map((a) => h('div', null, isNumber(a.prefixLength) ? `${a.address}/${a.prefixLength}` : a.address)),
      ),
      h('td', { class: 'num' }, formatLinkSpeed(i.speedMbps)),
      h('td', { class: 'num' }, formatRate(i.rxBytesPerSecond)),
      h('td', { class: 'num' }, formatRate(i.txBytesPerSecond)),
    ),
  );
  return section(
    'Interfaces',
    table(
      'Network interfaces',
      [['Name'], ['Link'], ['MAC'], ['Addresses'], ['Speed', 'num'], ['RX', 'num'], ['TX', 'num']],
      rows,
      'No interfaces reported.',
    ),
  );
}

function listenersPanel(listeners) {
  const rows = [...listeners]
    .sort((a, b) => a.port - b.port || String(a.protocol).localeCompare(String(b.protocol)) || String(a.address).localeCompare(String(b.address)))
    .map((l) =>
      h(
        'tr',
        null,
        h('td', { class: 'mono' }, l.protocol),
        h('td', { class: 'mono' }, l.address),
        h('th', { scope: 'row', class: 'num' }, String(l.port)),
        h('td', null, l.process || muted(DASH)),
        h('td', { class: 'num' }, isNumber(l.pid) ? String(l.pid) : DASH),
      ),
    );
  return section(
    'Listening sockets',
    table('Listening sockets', [['Proto'], ['Address'], ['Port', 'num'], ['Process'], ['PID', 'num']], rows, 'No listening sockets reported.'),
  );
}

function collectorsPanel(collectors) {
  const rows = collectors.map((c) =>
    h(
      'tr',
      { class: c.success ? null : 'is-failed' },
      h('th', { scope: 'row', class: 'mono' }, c.name),
      h('td', null, h('span', { class: `status status-${c.success ? 'up' : 'down'}` }, h('span', { class: 'dot', 'aria-hidden': 'true' }), c.success ? 'ok' : 'failed')),
      h('td', { class: 'num' }, formatSeconds(c.durationSeconds)),
      h('td', { class: 'error-text' }, c.error || ''),
    ),
  );
  return section(
    'Agent collectors',
    table('Agent collector runs', [['Collector'], ['Result'], ['Duration', 'num'], ['Error']], rows, 'No collector timings reported.'),
  );
}

function percentOf(used, total) {
  return isNumber(used) && isNumber(total) && total > 0 ? (used / total) * 100 : null;
}

/** What Proxmox says of a host it knows (GET /api/v1/hosts/:id → proxmox): its place, state, figures, storage. */
function proxmoxPanel(px) {
  const l = px.latest ?? {};
  const kind = px.type === 'node' ? 'node' : px.type === 'qemu' ? 'VM' : 'container';
  const statusText = px.goneAt
    ? `gone since ${formatTimestamp(px.goneAt)}`
    : px.stale
      ? `${px.status} · stale, figures are the last known: ${px.staleReason ?? 'its node did not answer'}`
      : px.status;
  const statusCls = px.goneAt || px.stale ? 'level-warn' : ['running', 'online'].includes(px.status) ? null : 'level-crit';
  const memCaption = isNumber(l.memoryTotalBytes) ? `${formatBytes(l.memoryUsedBytes)} of ${formatBytes(l.memoryTotalBytes)}` : null;
  const diskCaption = isNumber(l.diskTotalBytes) && l.diskTotalBytes > 0 ? `${formatBytes(l.diskUsedBytes)} of ${formatBytes(l.diskTotalBytes)}` : null;
  const summary = facts([
    ['Status', statusText, statusCls],
    ['Cluster', `${px.cluster} · ${px.type === 'node' ? 'node' : `on node ${px.node}`}`],
    px.type === 'node' ? null : ['VMID', `${px.vmid} (${kind})`, 'num'],
    px.type === 'node' ? null : ['Tags', px.tags?.length ? px.tags.map((t) => h('span', { class: 'tag' }, t)) : DASH],
    px.type === 'node' ? null : ['Guest agent', px.agent ?? DASH],
    ['Uptime', formatDuration(l.uptimeSeconds)],
    ['Network', `↓ ${formatRate(l.networkRxBytesPerSecond)} · ↑ ${formatRate(l.networkTxBytesPerSecond)}`, 'num'],
    ['Disk I/O', `read ${formatRate(l.diskReadBytesPerSecond)} · write ${formatRate(l.diskWriteBytesPerSecond)}`, 'num'],
    ['Figures at', l.at ? formatTimestamp(l.at) : DASH],
  ]);
  const bars = h(
    'div',
    { class: 'proxmox-bars' },
    h('div', null, h('span', { class: 'bar-label' }, 'CPU'), usageBar(l.cpuPercent, isNumber(l.cpus) ? `of ${l.cpus} CPUs` : null)),
    h('div', null, h('span', { class: 'bar-label' }, 'Memory'), usageBar(percentOf(l.memoryUsedBytes, l.memoryTotalBytes), memCaption)),
    px.type === 'node' && !diskCaption
      ? null
      : h('div', null, h('span', { class: 'bar-label' }, px.type === 'node' ? 'Root disk' : 'Disk'), usageBar(percentOf(l.diskUsedBytes, l.diskTotalBytes), diskCaption)),
  );
  const storageRows = (px.storage ?? []).map((st) =>
    h(
      'tr',
      null,
      h('th', { scope: 'row', class: 'mono' }, st.storage),
      h('td', null, st.type || DASH, st.shared ? muted(' · shared') : null, st.active ? null : muted(' · inactive')),
      h('td', { class: 'num' }, formatBytes(st.totalBytes)),
      h('td', { class: 'num' }, formatBytes(st.availableBytes)),
      h('td', { class: 'col-bar' }, usageBar(st.usedPercent)),
    ),
  );
  return section(
    `Proxmox ${kind}`,
    summary,
    bars,
    px.type === 'node'
      ? table('Node storage', [['Storage'], ['Type'], ['Size', 'num'], ['Avail', 'num'], ['Used', 'col-bar']], storageRows, 'No storage reported.')
      : null,
  );
}

function detailContent(host) {
  const os = host.os;
  const age = currentAge(host, state.detailFetchedAt);
  const summary = facts([
    ['Status', statusBadge(host.status)],
    ['Last seen', `${formatAge(age)}${host.lastSeen ? ` (${formatTimestamp(host.lastSeen)})` : ''}`],
    ['OS', os ? `${osLabel(os)} · kernel ${os.kernel ?? '?'} · ${os.architecture ?? '?'}` : DASH],
    ['Virtualization', os?.virtualization || DASH],
    ['Uptime', `${formatDuration(host.uptimeSeconds)}${host.bootTime ? ` (boot ${formatTimestamp(host.bootTime)})` : ''}`],
    ['Agent', `${host.agentVersion ? `v${host.agentVersion}` : 'version ?'} · every ${isNumber(host.intervalSeconds) ? `${host.intervalSeconds} s` : '?'} · id ${host.agentId ?? '?'}`],
    ['Addresses', (host.addresses ?? []).join(', ') || DASH, 'mono'],
  ]);
  // A host only Proxmox watches has no agent panels to show: its Proxmox section says it all.
  if (!host.lastSeen && host.proxmox) {
    return [
      h('div', { class: 'panel summary' }, facts([
        ['Status', statusBadge(host.status)],
        ['Agent', 'none — monitored through the Proxmox API'],
        ['Addresses', (host.addresses ?? []).join(', ') || DASH, 'mono'],
      ])),
      proxmoxPanel(host.proxmox),
    ];
  }
  return [
    h('div', { class: 'panel summary' }, summary),
    host.proxmox ? proxmoxPanel(host.proxmox) : null,
    h('div', { class: 'panel-row' }, cpuPanel(host), memoryPanel(host)),
    mountsPanel(host.mounts ?? []),
    disksPanel(host.disks ?? []),
    interfacesPanel(host.interfaces ?? []),
    listenersPanel(host.listeners ?? []),
    collectorsPanel(host.collectors ?? []),
  ];
}

function renderDetail() {
  const panel = document.getElementById('detail');
  const body = document.getElementById('detail-body');
  const title = document.getElementById('detail-title');
  if (state.openId === null) {
    panel.hidden = true;
    document.body.classList.remove('detail-open');
    return;
  }
  panel.hidden = false;
  document.body.classList.add('detail-open');

  const summary = state.hosts?.find((host) => host.id === state.openId);
  const host = state.detail;
  title.replaceChildren(
    host || summary ? statusBadge((host ?? summary).status) : '',
    h('span', { class: 'detail-hostname' }, (host ?? summary)?.hostname || `Host ${state.openId}`),
  );

  const content = [];
  if (state.detailError) {
    const notFound = state.detailError.status === 404;
    content.push(
      h(
        'p',
        { class: `notice ${notFound ? 'notice-error' : 'notice-warn'}`, role: 'status' },
        notFound
          ? `Host ${state.openId} does not exist (${state.detailError.message}).`
          : host
            ? `Could not refresh: ${state.detailError.message}. Showing data from ${clockTime(state.detailFetchedAt)}.`
            : `Could not load host ${state.openId}: ${state.detailError.message}. Retrying…`,
      ),
    );
  }
  if (host) content.push(...detailContent(host));
  else if (!state.detailError) content.push(h('p', { class: 'muted' }, 'Loading…'));

  // Rebuilding must not jump the panel back to the top while someone reads it.
  const scroll = body.scrollTop;
  body.replaceChildren(...content);
  body.scrollTop = scroll;
}

async function refreshDetail() {
  const id = state.openId;
  if (id === null) return;
  try {
    const body = await getJson(`/api/v1/hosts/${encodeURIComponent(id)}`);
    if (state.openId !== id) return; // another host was opened meanwhile
    state.detail = body.host;
    state.detailFetchedAt = Date.now();
    state.detailError = null;
  } catch (err) {
    if (state.openId !== id) return;
    state.detailError = err;
    if (err.status === 404) state.detail = null;
  }
  renderDetail();
}

function openHost(id) {
  if (state.openId === id) return;
  state.openId = id;
  state.detail = null;
  state.detailError = null;
  renderDetail();
  document.getElementById('detail-body').scrollTop = 0;
  markSelected();
  void refreshDetail();
}

function closeHost() {
  state.openId = null;
  state.detail = null;
  state.detailError = null;
  renderDetail();
  markSelected();
}

function markSelected() {
  for (const row of document.querySelectorAll('.host-row')) {
    const selected = Number(row.dataset.id) === state.openId;
    row.classList.toggle('is-selected', selected);
    row.setAttribute('aria-selected', selected ? 'true' : 'false');
  }
}

/** The URL hash is the source of truth for the open host, so back/forward and deep links work. */
function syncFromHash() {
  const id = parseHostHash(location.hash);
  if (id === null) closeHost();
  else openHost(id);
}

function requestHost(id) {
  if (id === null) {
    if (location.hash) history.pushState(null, '', location.pathname + location.search);
    closeHost();
  } else {
    location.hash = `host=${id}`; // fires hashchange → syncFromHash
  }
}

// ---------------------------------------------------------------- map view
//
// The map is the collector's SVG shown as its own document in a sandboxed <iframe>, never parsed
// into this page: no script in it may run (the sandbox here, and this page's policy, which a
// blob: document inherits), and its host links (target _top, "/#host=<id>") can only move this
// page's hash when clicked, which opens the host's detail. A frame cannot send the token, so
// the page fetches the SVG with it and shows it from a blob: URL.
// The Map tab appears only when the collector serves /api/v1/topology.svg.

const MAP_PATH = '/api/v1/topology.svg';
const MAP_REFRESH_MS = 30000;
const MAP_TIMEOUT_MS = 20000;
const MAP_PROBE_MS = 60000;
const VIEW_KEY = 'netmap.view';

/** The map's URL for a colour scheme; `n` makes each reload a fresh request. */
export function mapUrl(theme, n) {
  const params = new URLSearchParams({ theme: theme === 'light' ? 'light' : 'dark' });
  if (n) params.set('n', String(n));
  return `${MAP_PATH}?${params}`;
}

const map = {
  available: false,
  view: 'hosts',
  loads: 0,
  loadedAt: 0,
  error: null,
  timer: null,
};

function pageTheme() {
  return window.matchMedia?.('(prefers-color-scheme: light)').matches ? 'light' : 'dark';
}

/** HTTP status of the map endpoint (HEAD), 0 when the collector is unreachable; and the token it was sent with. */
async function probeMap() {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  const sent = auth.token;
  try {
    return { status: (await fetch(mapUrl(pageTheme()), { method: 'HEAD', signal: controller.signal, headers: authHeaders() })).status, sent };
  } catch {
    return { status: 0, sent };
  } finally {
    clearTimeout(timer);
  }
}

function renderViews() {
  document.getElementById('tab-map').hidden = !map.available;
  const view = map.view === 'map' && !map.available ? 'hosts' : map.view;
  for (const tab of document.querySelectorAll('.view-tab')) {
    const selected = tab.dataset.view === view;
    tab.setAttribute('aria-selected', selected ? 'true' : 'false');
    tab.tabIndex = selected ? 0 : -1;
  }
  document.getElementById('hosts-view').hidden = view !== 'hosts';
  document.getElementById('alerts-view').hidden = view !== 'alerts';
  document.getElementById('map-view').hidden = view !== 'map';
  document.querySelector('.filter').hidden = view !== 'hosts';
  document.body.classList.toggle('view-map', view === 'map');
}

function renderMapStatus() {
  const error = document.getElementById('map-error');
  error.hidden = !map.error;
  error.textContent = map.error
    ? `Could not ${map.loadedAt ? 'refresh' : 'load'} the map: ${map.error}.${map.loadedAt ? ` Showing the map from ${clockTime(map.loadedAt)}.` : ' Retrying…'}`
    : '';
  document.getElementById('map-updated').textContent = map.loadedAt ? `Drawn ${clockTime(map.loadedAt)}` : map.error ? '' : 'Drawing…';
}

/** The map's SVG as a blob, fetched with the token; throws an ApiError as getJson does. */
async function fetchMap(url) {
  const controller = new AbortController();
  // Drawing a large estate takes Graphviz a while: more time than the JSON requests get.
  const timer = setTimeout(() => controller.abort(), MAP_TIMEOUT_MS);
  try {
    let response;
    const sent = auth.token;
    try {
      response = await fetch(url, { signal: controller.signal, headers: { accept: 'image/svg+xml', ...authHeaders() } });
    } catch (err) {
      throw new ApiError(err?.name === 'AbortError' ? 'request timed out' : 'network error', 0, 'UNREACHABLE');
    }
    if (!response.ok) {
      if (response.status === 401) tokenRefused(sent);
      const body = await response.json().catch(() => null);
      throw new ApiError(body?.error?.message ?? `HTTP ${response.status}`, response.status, body?.error?.code ?? `HTTP_${response.status}`);
    }
    if (!response.headers.get('content-type')?.startsWith('image/svg+xml')) {
      throw new ApiError('the collector answered with something other than an SVG', response.status, 'BAD_RESPONSE');
    }
    // Typed here, whatever was sent, so the frame can only ever render it as an SVG image.
    return new Blob([await response.arrayBuffer()], { type: 'image/svg+xml' });
  } finally {
    clearTimeout(timer);
  }
}

/** Host links are written "/#host=<id>"; a blob: document has no path to resolve them against. */
function absoluteLinks(svg) {
  const XLINK = 'http://www.w3.org/1999/xlink';
  for (const link of svg.querySelectorAll('a')) {
    for (const [ns, name] of [[XLINK, 'href'], [null, 'href']]) {
      const value = link.getAttributeNS(ns, name);
      if (value) link.setAttributeNS(ns, ns ? 'xlink:href' : 'href', new URL(value, location.href).href);
    }
  }
}

/** Loads a fresh map beside the shown one and swaps it in once drawn: no blank flash. */
async function loadMap() {
  if (!map.available) return; // watchMap's timer is running
  clearTimeout(map.timer);
  map.timer = setTimeout(loadMap, MAP_REFRESH_MS);
  if (map.view !== 'map' || document.visibilityState === 'hidden' || auth.needed) return;
  const load = ++map.loads;
  let svg;
  try {
    svg = await fetchMap(mapUrl(pageTheme(), load));
  } catch (err) {
    if (load !== map.loads) return;
    if (err.status === 404) {
      setMapAvailable(false);
      return;
    }
    map.error = err.message;
    renderMapStatus();
    return;
  }
  if (load !== map.loads || map.view !== 'map') return; // a newer load, or another view, meanwhile
  const src = URL.createObjectURL(svg);
  const wrap = document.getElementById('map-wrap');
  for (const stale of wrap.querySelectorAll('iframe.is-loading')) stale.remove();
  const next = document.createElement('iframe');
  // Same origin so the page can size the frame to the drawing; scripts stay off all the same.
  next.setAttribute('sandbox', 'allow-same-origin allow-top-navigation-by-user-activation');
  next.setAttribute('scrolling', 'no'); // the frame is trimmed to the drawing; the wrapper scrolls
  next.className = 'map is-loading';
  next.title = 'Topology map: clients, sites and hosts, with the SSH hops between them';
  next.addEventListener('load', () => {
    URL.revokeObjectURL(src);
    const svg = next.contentDocument?.documentElement;
    if (svg?.localName !== 'svg') {
      next.remove();
      map.error = 'the collector answered with something other than an SVG';
      renderMapStatus();
      return;
    }
    absoluteLinks(svg);
    // Browsers paint the frame's canvas white, and Graphviz's background can stop a fraction of a
    // pixel short of the drawing's edge: trimming that last pixel (blank margin) hides the seam.
    next.style.width = `${Math.floor(svg.width.baseVal.value) - 1}px`;
    next.style.height = `${Math.floor(svg.height.baseVal.value) - 1}px`;
    for (const old of wrap.querySelectorAll('iframe:not(.is-loading)')) old.remove();
    next.classList.remove('is-loading');
    map.loadedAt = Date.now();
    map.error = null;
    renderMapStatus();
  }, { once: true });
  next.src = src;
  wrap.append(next);
  renderMapStatus();
}

function setMapAvailable(available) {
  map.available = available;
  if (!available) {
    for (const old of document.querySelectorAll('#map-wrap iframe')) old.remove();
    map.loadedAt = 0;
    map.error = null;
    clearTimeout(map.timer);
    map.timer = setTimeout(watchMap, MAP_PROBE_MS);
  }
  renderViews();
}

/** Shows the Map tab unless the collector has no map (404); looks again now and then until it does. */
async function watchMap() {
  if (auth.needed) return; // signing in calls again
  const { status, sent } = await probeMap();
  if (status === 401) {
    tokenRefused(sent);
  } else if (status === 0) {
    // The collector is unreachable (the header says so): ask again soon.
    clearTimeout(map.timer);
    map.timer = setTimeout(watchMap, REFRESH_MS);
  } else if (status === 404) {
    setMapAvailable(false);
  } else {
    // Served, or failing (a 5xx): the map view shows the drawing or the collector's error.
    setMapAvailable(true);
    void loadMap();
  }
}

function setView(view) {
  map.view = view === 'map' || view === 'alerts' ? view : 'hosts';
  try {
    sessionStorage.setItem(VIEW_KEY, map.view);
  } catch {
    // Storage refused (private mode, policy): the view just won't survive a reload.
  }
  renderViews();
  if (map.view === 'map') void loadMap();
}

function startViews() {
  // "/#view=map" or "/#view=alerts" links straight to a view; otherwise the tab last chosen in this tab survives reloads.
  const linked = parseViewHash(location.hash);
  let stored = null;
  try {
    stored = parseViewHash(`view=${sessionStorage.getItem(VIEW_KEY)}`);
  } catch {
    // Storage refused: start on the hosts.
  }
  map.view = linked ?? stored ?? 'hosts';
  const tabs = document.getElementById('views');
  tabs.addEventListener('click', (event) => {
    const tab = event.target.closest('.view-tab');
    if (tab) setView(tab.dataset.view);
  });
  tabs.addEventListener('keydown', (event) => {
    if (event.key !== 'ArrowLeft' && event.key !== 'ArrowRight') return;
    event.preventDefault();
    const shown = [...tabs.querySelectorAll('.view-tab:not([hidden])')].map((tab) => tab.dataset.view);
    const at = Math.max(0, shown.indexOf(map.view));
    const next = shown[(at + (event.key === 'ArrowRight' ? 1 : shown.length - 1)) % shown.length];
    setView(next);
    document.querySelector(`.view-tab[data-view="${next}"]`).focus();
  });
  window.matchMedia?.('(prefers-color-scheme: light)').addEventListener?.('change', () => void loadMap());
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && map.view === 'map') void loadMap();
  });
  renderViews();
  void watchMap();
}

// ---------------------------------------------------------------- refresh loop

let timer = null;
let refreshing = false;
// Asked for while a refresh was running (a visibility change, or signing in while
// the refresh that found the old token refused is still finishing): run once more
// right after it, with what is current now.
let refreshAgain = false;

async function refresh() {
  if (auth.needed) return; // the sign-in form starts it again
  if (refreshing) {
    refreshAgain = true;
    return;
  }
  refreshing = true;
  clearTimeout(timer);
  try {
    const alerts = refreshAlerts();
    try {
      const body = await getJson('/api/v1/hosts');
      state.hosts = Array.isArray(body.hosts) ? body.hosts : [];
      state.fetchedAt = Date.now();
      state.listError = null;
    } catch (err) {
      state.listError = err;
    }
    await alerts;
    renderHeader();
    renderTable();
    renderAlerts();
    await refreshDetail();
  } finally {
    refreshing = false;
    clearTimeout(timer);
    const again = refreshAgain;
    refreshAgain = false;
    if (!auth.needed) {
      if (again) void refresh();
      else timer = setTimeout(refresh, REFRESH_MS);
    }
  }
}

function start() {
  const tbody = document.getElementById('host-rows');
  tbody.addEventListener('click', (event) => {
    if (event.target.closest('a, button, input')) return;
    const row = event.target.closest('.host-row');
    if (row) requestHost(Number(row.dataset.id));
  });
  tbody.addEventListener('keydown', (event) => {
    const row = event.target.closest('.host-row');
    if (!row) return;
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      requestHost(Number(row.dataset.id));
    } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      const next = event.key === 'ArrowDown' ? row.nextElementSibling : row.previousElementSibling;
      next?.classList.contains('host-row') && next.focus();
    }
  });
  document.getElementById('detail-close').addEventListener('click', () => requestHost(null));
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && state.openId !== null && !event.target.closest?.('input')) requestHost(null);
  });
  const filter = document.getElementById('filter');
  filter.addEventListener('input', () => {
    state.filter = filter.value.trim();
    renderTable();
  });
  window.addEventListener('hashchange', syncFromHash);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') void refresh();
  });

  // The token first: it takes "#token=…" out of the URL before the views and the detail read it.
  startAuth();
  startViews();
  syncFromHash();
  void refresh();
}

if (typeof document !== 'undefined') {
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
}
