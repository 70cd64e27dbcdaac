/**
 * Structured metrics (reference §5.1): every request, HTTP or RPC, counted by route ×
 * outcome:reason with its latency, in the isolate (GET /v1/admin/stats, admin only) and as one
 * Analytics Engine data point when the METRICS binding exists. wrangler.toml declares it, so
 * Miniflare binds its local Analytics Engine simulator (which keeps nothing): the test wraps
 * that real binding to record the writeDataPoint calls, and passes it through app.fetch's env.
 * Other test files may run in the same isolate: counts are compared as deltas, at least.
 */
import { env, exports } from 'cloudflare:workers';
import { createExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { app } from '../src/app';
import {
  LATENCY_BOUNDS_MS,
  MAX_KEYS_PER_ROUTE,
  MAX_ROUTES,
  metricsSnapshot,
  observe,
  OTHER,
  outcomeOf,
  resetMetrics,
  type StatsSnapshot,
} from '../src/metrics/metrics';
import type { ConfigStatus } from '../src/config/status';
import { ADMIN_KEY, ADMIN_KEY_ROTATED, BASE, HS_SECRET, ISSUERS, KEYS } from './helpers/fixtures';
import { mint } from './helpers/tokens';

const realDataset = (env as unknown as { METRICS?: AnalyticsEngineDataset }).METRICS;

type Fetch = (path: string, init?: RequestInit) => Promise<Response>;
const viaWorker: Fetch = (path, init) => exports.default.fetch(`${BASE}${path}`, init);
const viaApp =
  (bindings: object): Fetch =>
  async (path, init) =>
    app.fetch(new Request(`${BASE}${path}`, init), bindings as Env, createExecutionContext());

const bearer = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });
const tampered = async () => {
  const token = await mint('es256-1');
  return `${token.slice(0, -2)}${token.at(-2) === 'A' ? 'B' : 'A'}${token.slice(-1)}`;
};

async function stats(fetch: Fetch = viaWorker): Promise<StatsSnapshot> {
  const res = await fetch('/v1/admin/stats', bearer(ADMIN_KEY));
  expect(res.status).toBe(200);
  expect(res.headers.get('Cache-Control')).toBe('no-store');
  return res.json();
}
const count = (s: StatsSnapshot, route: string, key: string) => s.requests[route]?.[key] ?? 0;

describe('GET /v1/admin/stats', () => {
  it('needs the admin key: none, a wrong one and an end-user token get the same 401', async () => {
    const answers = await Promise.all([
      viaWorker('/v1/admin/stats'),
      viaWorker('/v1/admin/stats', bearer('not-the-admin-key-0123456789')),
      viaWorker('/v1/admin/stats', bearer(await mint())),
    ]);
    for (const res of answers) {
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: 'unauthorized' });
    }
    expect((await viaWorker('/v1/admin/stats', bearer(ADMIN_KEY_ROTATED))).status).toBe(200);
  });

  it('answers {since, requests, latencyMs, revocation, issuers}', async () => {
    const s = await stats();
    expect(Object.keys(s).sort()).toEqual(['issuers', 'latencyMs', 'requests', 'revocation', 'since']);
    expect(Number.isSafeInteger(s.since)).toBe(true);
    expect(s.since).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    expect(s.latencyMs).toMatchObject({ count: expect.any(Number), max: expect.any(Number), routes: expect.any(Object) });
    expect(Object.keys(s.latencyMs.buckets)).toEqual([...LATENCY_BOUNDS_MS.map(String), '+Inf']);
  });
});

describe('the configuration in the stats (what the console shows), never a secret', () => {
  const configOf = async (fetch: Fetch = viaWorker) => (await stats(fetch)) as unknown as StatsSnapshot & ConfigStatus;

  it('the revocation promise: cached is 60 s (KV) plus the isolate cache TTL; strict is the next request', async () => {
    expect((await configOf()).revocation).toEqual({ mode: 'cached', failMode: 'closed', cacheTtlSeconds: 0, boundSeconds: 60 });
    const cachedTtl = viaApp({ ...env, REVOCATION_CACHE_TTL_SECONDS: '20', FAIL_MODE: 'open' });
    expect((await configOf(cachedTtl)).revocation).toEqual({ mode: 'cached', failMode: 'open', cacheTtlSeconds: 20, boundSeconds: 80 });
    const strict = viaApp({ ...env, REVOCATION_MODE: 'strict' });
    expect((await configOf(strict)).revocation).toMatchObject({ mode: 'strict', boundSeconds: 0 });
  });

  it('every trusted issuer (and the token service) with its key source and kids', async () => {
    const { issuers } = await configOf();
    const byIssuer = Object.fromEntries(issuers.map((i) => [i.issuer, i]));
    expect(Object.keys(byIssuer).sort()).toEqual([ISSUERS.hs, ISSUERS.inline, ISSUERS.remote, ISSUERS.second, '(origin)'].sort());
    expect(byIssuer[ISSUERS.hs]).toEqual({
      issuer: ISSUERS.hs,
      audiences: ['api'],
      algorithms: ['HS256', 'HS384', 'HS512'],
      own: false,
      userClaim: 'sub',
      keys: { source: 'hmacSecret', keyCount: 1, kids: [] },
    });
    expect(byIssuer[ISSUERS.inline]!.keys).toEqual({
      source: 'jwks',
      keyCount: 5,
      kids: ['rs256-1', 'ps256-1', 'es256-1', 'es384-1', 'ed-1'],
    });
    expect(byIssuer[ISSUERS.remote]!.keys).toMatchObject({
      source: 'jwksUri',
      jwksUri: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/jwks\/default$/),
    });
    expect(byIssuer['(origin)']).toMatchObject({ own: true, keys: { source: 'jwks', keyCount: 1, kids: ['session-1'] } });
  });

  it('holds no secret: no HMAC secret or its binding name, no private key member, no admin key', async () => {
    const text = JSON.stringify(await configOf());
    for (const secret of [HS_SECRET, 'HS_SECRET', ADMIN_KEY, ADMIN_KEY_ROTATED, (KEYS['session-1'].private as { d: string }).d]) {
      expect(text).not.toContain(secret);
    }
    expect(text).not.toMatch(/"(d|p|q|k)":/);
  });
});

describe('counts move', () => {
  it('for accepted and refused verifications over HTTP, by outcome:reason', async () => {
    const before = await stats();
    const valid = await mint('es256-1');
    const answers = await Promise.all([
      viaWorker('/v1/verify', bearer(valid)),
      viaWorker('/v1/verify', bearer(await mint('HS256'))),
      viaWorker('/v1/verify', bearer(await tampered())),
      viaWorker('/v1/verify'),
      viaWorker('/v1/verify/api/x', bearer('garbage')),
    ]);
    expect(answers.map((r) => r.status)).toEqual([200, 200, 401, 401, 401]);
    const after = await stats();
    const delta = (route: string, key: string) => count(after, route, key) - count(before, route, key);
    expect(delta('/v1/verify', 'accepted:none')).toBeGreaterThanOrEqual(2);
    expect(delta('/v1/verify', 'refused:bad_signature')).toBeGreaterThanOrEqual(1);
    expect(delta('/v1/verify', 'refused:missing_token')).toBeGreaterThanOrEqual(1);
    expect(delta('/v1/verify/*', 'refused:malformed')).toBeGreaterThanOrEqual(1);
    // The stats call before this one counted too, as an admin call.
    expect(delta('/v1/admin/stats', 'ok:none')).toBeGreaterThanOrEqual(1);
    expect(after.latencyMs.count - before.latencyMs.count).toBeGreaterThanOrEqual(6);
    expect(after.latencyMs.routes['/v1/verify']!.count).toBeGreaterThanOrEqual(4);
  });

  it('for RPC verifications (the Verifier entrypoint), under rpc:verify', async () => {
    const before = await stats();
    const accepted = await exports.Verifier.verify(await mint('es256-1'));
    const refused = await exports.Verifier.verify(await tampered());
    const notAString = await exports.Verifier.verify(42 as unknown as string);
    expect([accepted.active, refused.active, notAString.active]).toEqual([true, false, false]);
    const after = await stats();
    const delta = (key: string) => count(after, 'rpc:verify', key) - count(before, 'rpc:verify', key);
    expect(delta('accepted:none')).toBeGreaterThanOrEqual(1);
    expect(delta('refused:bad_signature')).toBeGreaterThanOrEqual(1);
    expect(delta('refused:malformed')).toBeGreaterThanOrEqual(1);
  });

  it('for errors, by their error code: 401 unauthorized, 400 invalid_request, 404 not_found', async () => {
    const before = await stats();
    await viaWorker('/v1/admin/users/alice');
    await viaWorker('/v1/admin/revoke-all', { method: 'POST', body: '{}', ...bearer(ADMIN_KEY) });
    await viaWorker('/nowhere');
    const after = await stats();
    const delta = (route: string, key: string) => count(after, route, key) - count(before, route, key);
    expect(delta('/v1/admin/*', 'client_error:unauthorized')).toBeGreaterThanOrEqual(1);
    expect(delta('/v1/admin/revoke-all', 'client_error:invalid_request')).toBeGreaterThanOrEqual(1);
    // An unknown path has no route of its own: Hono names it /* (as in the log line).
    expect(delta('/*', 'client_error:not_found')).toBeGreaterThanOrEqual(1);
  });

  it('with LOG_ACCEPTED=false too: the log line is skipped, the count is not', async () => {
    const quiet = viaApp({ ...env, LOG_ACCEPTED: 'false' });
    const before = await stats(quiet);
    expect((await quiet('/v1/verify', bearer(await mint()))).status).toBe(200);
    const after = await stats(quiet);
    expect(count(after, '/v1/verify', 'accepted:none') - count(before, '/v1/verify', 'accepted:none')).toBe(1);
  });
});

describe('Analytics Engine', () => {
  it('Miniflare binds the METRICS dataset declared in wrangler.toml', () => {
    expect(realDataset).toBeDefined();
    expect(typeof realDataset!.writeDataPoint).toBe('function');
  });

  it('receives one data point per request: blobs [route, outcome, reason], doubles [ms, status], index route', async () => {
    const points: AnalyticsEngineDataPoint[] = [];
    const recording: AnalyticsEngineDataset = {
      writeDataPoint(point) {
        points.push(point!);
        realDataset!.writeDataPoint(point); // the real (simulated) binding accepts it
      },
    };
    const fetch = viaApp({ ...env, METRICS: recording });
    expect((await fetch('/v1/verify', bearer(await mint()))).status).toBe(200);
    expect((await fetch('/v1/verify', bearer(await tampered()))).status).toBe(401);
    expect((await fetch('/v1/verify?strict=1')).status).toBe(401);
    expect((await fetch('/v1/admin/users/alice', bearer(ADMIN_KEY))).status).toBe(200);
    expect((await fetch('/healthz')).status).toBe(200);

    expect(points.map((p) => p.blobs)).toEqual([
      ['/v1/verify', 'accepted', 'none'],
      ['/v1/verify', 'refused', 'bad_signature'],
      ['/v1/verify', 'refused', 'missing_token'],
      ['/v1/admin/users/:sub', 'ok', 'none'],
    ]); // /healthz is not counted
    expect(points.map((p) => p.doubles?.[1])).toEqual([200, 401, 401, 200]);
    for (const point of points) {
      expect(point.indexes).toEqual([point.blobs![0]]);
      expect(point.doubles).toHaveLength(2);
      expect(point.doubles![0]).toBeGreaterThanOrEqual(0);
      // Never a token or a key: only codes and route patterns.
      for (const blob of point.blobs!) expect(String(blob)).toMatch(/^[\w/:*.-]+$/);
    }
  });

  it('without the binding nothing is written, and a failing binding never changes an answer', async () => {
    const { METRICS: _, ...unbound } = env as unknown as Record<string, unknown>;
    expect((await viaApp(unbound)('/v1/verify', bearer(await mint()))).status).toBe(200);
    const broken = {
      writeDataPoint: () => {
        throw new Error('dataset down');
      },
    };
    const res = await viaApp({ ...env, METRICS: broken })('/v1/verify', bearer(await mint()));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ active: true });
  });

  it('an RPC verification writes a data point too', async () => {
    // The entrypoint reads this.env; observe() is what it calls with it.
    const points: AnalyticsEngineDataPoint[] = [];
    observe(
      { METRICS: { writeDataPoint: (p?: AnalyticsEngineDataPoint) => points.push(p!) } },
      {
        route: 'rpc:verify',
        status: 401,
        reason: 'expired',
        durationMs: 3,
      },
    );
    expect(points).toEqual([{ indexes: ['rpc:verify'], blobs: ['rpc:verify', 'refused', 'expired'], doubles: [3, 401] }]);
  });
});

describe('the aggregate', () => {
  it('derives outcomes from status, reason and acceptance', () => {
    expect(outcomeOf({ status: 200, accepted: true })).toBe('accepted');
    expect(outcomeOf({ status: 401, reason: 'revoked_user' })).toBe('refused');
    expect(outcomeOf({ status: 401, reason: 'unauthorized' })).toBe('client_error');
    expect(outcomeOf({ status: 503, reason: 'unavailable' })).toBe('unavailable');
    expect(outcomeOf({ status: 200, reason: 'expired' })).toBe('ok'); // RFC 7009/7662 answer 200 for bad tokens
    expect(outcomeOf({ status: 500, reason: 'server_misconfigured' })).toBe('server_error');
  });

  // Last in the file: it resets this module's counts.
  it('is bounded: routes and outcome:reason keys are capped, odd reasons are folded', () => {
    resetMetrics();
    for (let i = 0; i < MAX_ROUTES * 3; i++) observe({}, { route: `/r${i}`, status: 200, durationMs: 1 });
    for (let i = 0; i < MAX_KEYS_PER_ROUTE * 3; i++)
      observe({}, { route: '/r0', status: 400, reason: `code_${'x'.repeat(i % 30)}${i}`, durationMs: 1 });
    observe({}, { route: '/r0', status: 401, reason: 'eyJhbGciOi.a-token-is-never-a-reason', durationMs: 1 });
    const s = metricsSnapshot();
    expect(Object.keys(s.requests).length).toBeLessThanOrEqual(MAX_ROUTES + 1);
    expect(s.requests[OTHER]!['ok:none']).toBe(MAX_ROUTES * 2);
    expect(Object.keys(s.requests['/r0']!).length).toBeLessThanOrEqual(MAX_KEYS_PER_ROUTE + 1);
    expect(Object.keys(s.latencyMs.routes).length).toBeLessThanOrEqual(MAX_ROUTES + 1);
    expect(JSON.stringify(s)).not.toContain('eyJ');
    const total = Object.values(s.requests)
      .flatMap((keys) => Object.values(keys))
      .reduce((a, b) => a + b, 0);
    expect(total).toBe(MAX_ROUTES * 3 + MAX_KEYS_PER_ROUTE * 3 + 1);
  });

  it('estimates p50 and p99 from the histogram buckets', () => {
    resetMetrics();
    for (let i = 0; i < 97; i++) observe({}, { route: '/v1/verify', status: 200, accepted: true, durationMs: 1 });
    for (let i = 0; i < 3; i++) observe({}, { route: '/v1/verify', status: 200, accepted: true, durationMs: 3000 });
    const { latencyMs } = metricsSnapshot();
    expect(latencyMs).toMatchObject({ count: 100, p50: 1, p99: 3000, max: 3000 });
    expect(latencyMs.buckets).toMatchObject({ 1: 97, 5000: 3, '+Inf': 0 });
    expect(latencyMs.routes['/v1/verify']).toEqual({ count: 100, p50: 1, p99: 3000, max: 3000, buckets: latencyMs.buckets });
  });
});
