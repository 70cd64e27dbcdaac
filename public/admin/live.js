// @ts-check
/**
 * Live view: GET /v1/admin/stats every few seconds. The stats are counts since the isolate
 * started; the differences between successive samples give what happened in each interval.
 */
import { call, setRevocation, showAnswer } from './api.js';
import { cellBar, levelLines, stackedBars } from './charts.js';
import { byId, facts, h, relative, show, table, when } from './dom.js';

export const POLL_MS = 5000;
/** Intervals kept: 5 minutes. */
const SLOTS = 60;
const OUTCOMES = ['accepted', 'refused', 'unavailable', 'ok', 'client_error', 'server_error'];
/** The console's own traffic, left out of the counts. */
const OWN_ROUTES = new Set(['/v1/admin/stats', '/admin', '/admin/*']);
/** The verification routes whose latency is charted. */
const VERIFY_ROUTES = ['/v1/verify', '/v1/verify/*', 'rpc:verify'];

/**
 * @typedef {{ since: number, requests: Record<string, Record<string, number>>,
 *   latencyMs: { routes: Record<string, { buckets: Record<string, number> }> },
 *   revocation: import('./api.js').Revocation, issuers: any[] }} Stats
 */

/**
 * "outcome:reason" → count over every route but the console's own.
 * @param {Stats} stats
 */
function counts(stats) {
  /** @type {Record<string, number>} */
  const out = {};
  for (const [route, keys] of Object.entries(stats.requests)) {
    if (OWN_ROUTES.has(route)) continue;
    for (const [key, n] of Object.entries(keys)) out[key] = (out[key] ?? 0) + n;
  }
  return out;
}

/**
 * Latency bucket → count over the verification routes.
 * @param {Stats} stats
 */
function verifyBuckets(stats) {
  /** @type {Record<string, number>} */
  const out = {};
  for (const route of VERIFY_ROUTES) {
    for (const [bound, n] of Object.entries(stats.latencyMs.routes[route]?.buckets ?? {})) out[bound] = (out[bound] ?? 0) + n;
  }
  return out;
}

/**
 * b − a, key by key (a may lack keys b has).
 * @param {Record<string, number>} a
 * @param {Record<string, number>} b
 */
function minus(a, b) {
  /** @type {Record<string, number>} */
  const out = {};
  for (const [key, n] of Object.entries(b)) out[key] = n - (a[key] ?? 0);
  return out;
}

/**
 * The index of the bucket holding quantile q, or null without data.
 * @param {Record<string, number>} buckets in bound order
 * @param {number} q
 */
function quantileLevel(buckets, q) {
  const values = Object.values(buckets);
  const total = values.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < values.length; i++) {
    seen += values[i] ?? 0;
    if (seen >= rank) return i;
  }
  return values.length - 1;
}

/** @param {string} bound */
const boundLabel = (bound) => (bound === '+Inf' ? '> 10 s' : `≤ ${bound} ms`);

/** @param {string} bound */
const axisLabel = (bound) => (bound === '+Inf' ? '> 10 s' : Number(bound) >= 1000 ? `${Number(bound) / 1000} s` : `${bound} ms`);

/** @param {any} keys the KeyStatus of an issuer */
function keySource(keys) {
  if (keys.source === 'hmacSecret') return 'shared secret (HMAC)';
  if (keys.source === 'jwks') return 'inline JWKS';
  return h('span', { class: 'mono' }, keys.jwksUri);
}

/** @param {any} keys */
function lastFetch(keys) {
  if (keys.source !== 'jwksUri') return 'configured';
  if (keys.fetchedAt === null) return keys.lastError === null ? 'not fetched yet by this isolate' : 'never succeeded';
  return `${when(keys.fetchedAt)} (${relative(keys.fetchedAt)})`;
}

export function setupLive() {
  const answer = byId('live-answer');
  const revocation = byId('live-revocation');
  const outcomes = byId('live-outcomes');
  const latency = byId('live-latency');
  const reasons = byId('live-reasons');
  const issuers = byId('live-issuers');
  /** @type {{ at: number, stats: Stats }[]} */
  let samples = [];
  /** @type {ReturnType<typeof setInterval> | undefined} */
  let timer;

  /** @param {Stats} stats */
  function add(stats) {
    const last = samples.at(-1);
    const now = counts(stats);
    // Another isolate answered (or this one restarted): differences would mean nothing.
    const restarted =
      last !== undefined &&
      (last.stats.since !== stats.since || Object.entries(counts(last.stats)).some(([key, n]) => (now[key] ?? 0) < n));
    if (restarted) samples = [];
    samples.push({ at: Date.now(), stats });
    if (samples.length > SLOTS + 1) samples.splice(0, samples.length - SLOTS - 1);
  }

  /** @param {Stats} stats */
  function render(stats) {
    const r = stats.revocation;
    show(
      revocation,
      h('h2', {}, 'Revocation'),
      facts([
        ['Mode', `${r.mode} (REVOCATION_MODE)`],
        [
          'Bound',
          r.boundSeconds === 0
            ? 'refused on the next request, everywhere'
            : `refused everywhere within ${r.boundSeconds} s (strict checks and introspection: at once)`,
        ],
        [
          'When state cannot be read',
          r.failMode === 'closed' ? 'refuse: 503 (FAIL_MODE=closed)' : 'accept on signature and claims (FAIL_MODE=open)',
        ],
        ['Counting since', `${when(stats.since)} (this isolate)`],
      ]),
    );

    const pairs = samples.slice(1).map((sample, i) => ({ before: /** @type {Stats} */ (samples[i]?.stats), after: sample.stats }));
    const perInterval = pairs.map(({ before, after }) => minus(counts(before), counts(after)));
    const byOutcome = perInterval.map((delta) => {
      /** @type {Record<string, number>} */
      const bar = {};
      for (const [key, n] of Object.entries(delta)) {
        const outcome = key.split(':')[0] ?? '';
        bar[outcome] = (bar[outcome] ?? 0) + n;
      }
      return bar;
    });
    const latest = byOutcome.at(-1) ?? {};
    const latestText =
      OUTCOMES.filter((o) => (latest[o] ?? 0) > 0)
        .map((o) => `${latest[o]} ${o.replace('_', ' ')}`)
        .join(', ') || 'no requests';
    show(
      outcomes,
      stackedBars(
        `Requests per ${POLL_MS / 1000} s, by outcome`,
        `Requests per ${POLL_MS / 1000} seconds by outcome, last ${byOutcome.length} intervals. Latest interval: ${latestText}.`,
        byOutcome,
        OUTCOMES,
        SLOTS,
      ),
    );

    const bounds = Object.keys(verifyBuckets(stats));
    const latencyDeltas = pairs.map(({ before, after }) => minus(verifyBuckets(before), verifyBuckets(after)));
    const p50 = latencyDeltas.map((b) => quantileLevel(b, 0.5));
    const p99 = latencyDeltas.map((b) => quantileLevel(b, 0.99));
    const first = samples[0]?.stats;
    const windowBuckets = first === undefined ? {} : minus(verifyBuckets(first), verifyBuckets(stats));
    const windowP50 = quantileLevel(windowBuckets, 0.5);
    const windowP99 = quantileLevel(windowBuckets, 0.99);
    const label = (/** @type {number | null} */ level) => (level === null ? 'no data' : boundLabel(bounds[level] ?? '+Inf'));
    show(
      latency,
      levelLines(
        'Verification latency, p50 and p99',
        `Verification latency per interval. Over the window: p50 ${label(windowP50)}, p99 ${label(windowP99)}.`,
        [
          { name: 'p50', points: p50 },
          { name: 'p99', points: p99 },
        ],
        bounds.map(axisLabel),
        SLOTS,
      ),
      h('p', { class: 'hint' }, `Over the window: p50 ${label(windowP50)}, p99 ${label(windowP99)} (upper bounds of histogram buckets).`),
    );

    const windowCounts = first === undefined || samples.length < 2 ? counts(stats) : minus(counts(first), counts(stats));
    const span =
      samples.length < 2 ? 'since this isolate started' : `over the last ${Math.round((Date.now() - (samples[0]?.at ?? 0)) / 1000)} s`;
    const rows = Object.entries(windowCounts)
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1]);
    const max = rows[0]?.[1] ?? 0;
    show(
      reasons,
      table(
        `Outcomes × reasons, ${span}`,
        ['Outcome', 'Reason', 'Requests', ''],
        rows.map(([key, n]) => {
          const [outcome = '', reason = ''] = key.split(':');
          return [
            outcome.replace('_', ' '),
            h('code', {}, reason),
            h('span', { class: 'num' }, String(n)),
            cellBar(n, max, `fill-${outcome}`),
          ];
        }),
        'no requests.',
      ),
    );

    show(
      issuers,
      table(
        'Trusted issuers and their keys (as this isolate has them)',
        ['Issuer', 'Audiences', 'Algorithms', 'Keys from', 'Keys', 'Key ids (kid)', 'Last JWKS fetch', 'Last fetch error'],
        stats.issuers.map((i) => [
          h('span', { class: 'mono' }, i.own ? `${i.issuer} (token service)` : i.issuer),
          i.audiences.join(', '),
          i.algorithms.join(', '),
          keySource(i.keys),
          String(i.keys.keyCount),
          i.keys.kids.join(', ') || '—',
          lastFetch(i.keys),
          i.keys.lastError ?? '—',
        ]),
      ),
    );
  }

  async function poll() {
    const result = await call('GET', '/v1/admin/stats');
    if (result.status !== 200) return showAnswer(answer, result, '');
    const stats = /** @type {Stats} */ (result.body);
    setRevocation(stats.revocation);
    add(stats);
    // Only a change of state is announced: a screen reader is not read every 5 s.
    if (answer.textContent === '' || answer.classList.contains('error')) {
      showAnswer(answer, result, `Live: refreshed every ${POLL_MS / 1000} s while this page is open.`, { collapse: true });
    }
    render(stats);
  }

  return {
    start() {
      if (timer !== undefined) return;
      // A new window each time the page opens: an interval must not span the time it was closed.
      samples = [];
      void poll();
      timer = setInterval(() => void poll(), POLL_MS);
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
    reset() {
      this.stop();
      samples = [];
      for (const element of [answer, revocation, outcomes, latency, reasons, issuers]) show(element);
    },
  };
}
