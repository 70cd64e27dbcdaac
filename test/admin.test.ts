/**
 * reference §4.2 admin routes (and the admin-authenticated RFC routes): authentication, input
 * validation, body limits, response shapes, audit trail, and the bearer's own logout.
 * Revoke-all is only called here in ways that do not execute it (401/400/413); its effects
 * are tested in test/revoke-all.test.ts.
 */
import { exports, env } from 'cloudflare:workers';
import { createExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { app } from '../src/app';
import { ADMIN_KEY, ADMIN_KEY_ROTATED, BASE } from './helpers/fixtures';
import { mint, now, uniqueSub } from './helpers/tokens';

function call(path: string, init: RequestInit = {}, key: string | null = ADMIN_KEY): Promise<Response> {
  const headers = new Headers(init.headers);
  if (key !== null) headers.set('Authorization', `Bearer ${key}`);
  return exports.default.fetch(`${BASE}${path}`, { ...init, headers });
}
const post = (path: string, body: BodyInit | null, key: string | null = ADMIN_KEY) => call(path, { method: 'POST', body }, key);
const json = (value: unknown) => JSON.stringify(value);

async function snapshot(res: Response) {
  const headers = [...res.headers].filter(([name]) => name !== 'date').sort();
  return { status: res.status, headers, body: await res.text() };
}

type Route = readonly [method: 'GET' | 'POST', path: string, body: () => Promise<BodyInit | null>];
const tokenForm = async () => new URLSearchParams({ token: await mint('es256-1', { claims: { sub: uniqueSub('form') } }) });
const ROUTES: Route[] = [
  ['POST', '/v1/admin/users/adm-auth/revoke', async () => json({ reason: 'x' })],
  ['GET', '/v1/admin/users/adm-auth', async () => null],
  ['POST', '/v1/admin/tokens/revoke', async () => json({ jti: 'j', sub: 'adm-auth', exp: now() + 60 })],
  ['POST', '/v1/admin/revoke-all', async () => json({ reason: 'must not run' })],
  ['GET', '/v1/admin/audit', async () => null],
  ['POST', '/v1/revoke', tokenForm],
  ['POST', '/v1/introspect', tokenForm],
];

/** The user view of a sub nothing ever happened to. */
const untouched = (sub: string) => ({ sub, user: sub, version: 0, revokedBefore: 0, revokedTokens: [], sessions: [] });

describe('admin authentication', () => {
  const WRONG: [string, Record<string, string>][] = [
    ['wrong key', { Authorization: 'Bearer not-the-admin-key-at-all' }],
    ['key with an extra character', { Authorization: `Bearer ${ADMIN_KEY}x` }],
    ['key prefix', { Authorization: `Bearer ${ADMIN_KEY.slice(0, -1)}` }],
    ['other scheme', { Authorization: `Basic ${ADMIN_KEY}` }],
    ['Bearer alone', { Authorization: 'Bearer' }],
    ['both keys joined', { Authorization: `Bearer ${ADMIN_KEY},${ADMIN_KEY_ROTATED}` }],
  ];

  it.each(ROUTES)('%s %s: no key and every wrong key get the same 401', async (method, path, body) => {
    const missing = await snapshot(await call(path, { method, body: await body() }, null));
    expect(missing.status).toBe(401);
    expect(JSON.parse(missing.body)).toEqual({ error: 'unauthorized' });
    for (const [, headers] of WRONG) {
      expect(await snapshot(await call(path, { method, headers, body: await body() }, null))).toEqual(missing);
    }
    // A valid end-user token is not an admin key either.
    const token = await mint('es256-1', { claims: { sub: 'adm-auth' } });
    expect(await snapshot(await call(path, { method, body: await body() }, token))).toEqual(missing);
  });

  it.each(
    ROUTES.filter(([, path]) => !path.endsWith('revoke-all')).flatMap((route) =>
      [ADMIN_KEY, ADMIN_KEY_ROTATED].map((key) => [...route, key] as const),
    ),
  )('%s %s works with each configured key (%#)', async (method, path, body, key) => {
    const res = await call(path, { method, body: await body() }, key);
    expect(res.status).toBe(200);
  });

  it('an empty ADMIN_API_KEYS admits nobody', async () => {
    const res = await app.fetch(
      new Request(`${BASE}/v1/admin/users/adm-auth`, { headers: { Authorization: `Bearer ${ADMIN_KEY}` } }),
      { ...env, ADMIN_API_KEYS: '' } as Env,
      createExecutionContext(),
    );
    expect(res.status).toBe(401);
  });
});

describe('request validation', () => {
  const BAD: [path: string, body: string][] = [
    ['/v1/admin/users/adm-bad/revoke', 'not json'],
    ['/v1/admin/users/adm-bad/revoke', '[]'],
    ['/v1/admin/users/adm-bad/revoke', '"reason"'],
    ['/v1/admin/users/adm-bad/revoke', json({ reason: '' })],
    ['/v1/admin/users/adm-bad/revoke', json({ reason: 5 })],
    ['/v1/admin/users/adm-bad/revoke', json({ reason: 'x'.repeat(257) })],
    ['/v1/admin/tokens/revoke', '{'],
    ['/v1/admin/tokens/revoke', '[{"jti":"a","sub":"b","exp":1}]'],
    ['/v1/admin/tokens/revoke', json({ sub: 'adm-bad', exp: 2_000_000_000 })],
    ['/v1/admin/tokens/revoke', json({ jti: 'a', exp: 2_000_000_000 })],
    ['/v1/admin/tokens/revoke', json({ jti: 'a', sub: 'adm-bad' })],
    ['/v1/admin/tokens/revoke', json({ jti: 'a', sub: 'adm-bad', exp: '2000000000' })],
    ['/v1/admin/tokens/revoke', json({ jti: 'a', sub: 'adm-bad', exp: 2_000_000_000.5 })],
    ['/v1/admin/tokens/revoke', json({ jti: 'a', sub: 'adm-bad', exp: -1 })],
    ['/v1/admin/tokens/revoke', json({ jti: 7, sub: 'adm-bad', exp: 2_000_000_000 })],
    ['/v1/admin/tokens/revoke', json({ jti: '', sub: 'adm-bad', exp: 2_000_000_000 })],
    ['/v1/admin/tokens/revoke', json({ jti: 'a', sub: 'adm-bad', exp: 2_000_000_000, reason: 'x'.repeat(257) })],
    ['/v1/admin/revoke-all', ''],
    ['/v1/admin/revoke-all', '{}'],
    ['/v1/admin/revoke-all', json({ reason: '   ' })],
    ['/v1/admin/revoke-all', json({ reason: 'x'.repeat(257) })],
    ['/v1/admin/revoke-all', '[]'],
    ['/v1/revoke', ''],
    ['/v1/revoke', 'token_type_hint=access_token'],
    ['/v1/introspect', ''],
    ['/v1/introspect', 'token='],
  ];

  it.each(BAD)('POST %s %j → 400 invalid_request', async (path, body) => {
    const res = await post(path, body);
    expect(res.status).toBe(400);
    const answer = await res.json<Record<string, unknown>>();
    expect(Object.keys(answer).sort()).toEqual(['error', 'error_description']);
    expect(answer.error).toBe('invalid_request');
    expect(answer.error_description).toMatch(/\w+/);
  });

  it.each(['limit=0', 'limit=abc', 'limit=201', 'limit=-1', 'limit=1.5', 'cursor=abc', 'cursor=-1', 'cursor=1e3'])(
    'GET /v1/admin/audit?%s → 400 invalid_request',
    async (query) => {
      const res = await call(`/v1/admin/audit?sub=adm-bad&${query}`);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: 'invalid_request', error_description: expect.any(String) });
    },
  );

  const POSTS = [
    '/v1/admin/users/adm-big/revoke',
    '/v1/admin/tokens/revoke',
    '/v1/admin/revoke-all',
    '/v1/revoke',
    '/v1/introspect',
    '/v1/logout',
  ];
  const big = json({ reason: 'r', pad: 'a'.repeat(17 * 1024) });
  const stream = () =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 17; i++)
          controller.enqueue(new TextEncoder().encode(i === 0 ? `{"pad":"${'a'.repeat(1014)}` : 'a'.repeat(1024)));
        controller.enqueue(new TextEncoder().encode('"}'));
        controller.close();
      },
    });

  // Admin routes take the admin key; /v1/logout takes the bearer's own (valid) token.
  const credentialFor = async (path: string) =>
    path === '/v1/logout' ? mint('es256-1', { claims: { sub: uniqueSub('big-logout') } }) : ADMIN_KEY;

  it.each(POSTS)('POST %s with a 17 KiB body → 413, state unchanged', async (path) => {
    const res = await post(path, big, await credentialFor(path));
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: 'payload_too_large' });
  });

  it.each(
    POSTS.flatMap(
      (path) =>
        [
          [path, 'absent'],
          [path, '10'],
        ] as const,
    ),
  )('POST %s with a 17 KiB streamed body, Content-Length %s → 413', async (path, length) => {
    const headers: Record<string, string> = length === 'absent' ? {} : { 'Content-Length': length };
    const res = await call(path, { method: 'POST', headers, body: stream() }, await credentialFor(path));
    expect(res.status).toBe(413);
  });

  it('an oversized body changes no state', async () => {
    const sub = uniqueSub('big');
    expect((await post(`/v1/admin/users/${sub}/revoke`, big)).status).toBe(413);
    expect(await (await call(`/v1/admin/users/${sub}`)).json()).toEqual(untouched(sub));
  });
});

describe('response shapes', () => {
  it('user revoke → {sub, version, revokedBefore}; user state lists revoked tokens', async () => {
    const sub = uniqueSub('shape');
    expect(await (await call(`/v1/admin/users/${sub}`)).json()).toEqual(untouched(sub));

    const t0 = now();
    const res = await post(`/v1/admin/users/${sub}/revoke`, json({ reason: 'stolen laptop' }));
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toMatch(/^application\/json/);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const revoked = await res.json<{ revokedBefore: number }>();
    expect(revoked).toEqual({ sub, user: sub, version: 1, revokedBefore: expect.any(Number) });
    expect(revoked.revokedBefore - t0).toBeGreaterThanOrEqual(0);
    expect(revoked.revokedBefore - t0).toBeLessThanOrEqual(2);

    const exp = now() + 900;
    expect((await post('/v1/admin/tokens/revoke', json({ jti: 'jti-1', sub, exp, reason: 'leaked' }))).status).toBe(200);
    expect((await post('/v1/admin/tokens/revoke', json({ jti: 'jti-2', sub, exp }))).status).toBe(200);

    const state = await (await call(`/v1/admin/users/${encodeURIComponent(sub)}`)).json<Record<string, unknown>>();
    expect(state).toMatchObject({ sub, version: 1, revokedBefore: revoked.revokedBefore });
    expect(Object.keys(state).sort()).toEqual(['revokedBefore', 'revokedTokens', 'sessions', 'sub', 'user', 'version']);
    expect(state.sessions).toEqual([]);
    const entries = state.revokedTokens as Record<string, unknown>[];
    expect(entries).toHaveLength(2);
    for (const entry of entries) {
      // reference §4.2 lists jti, exp, revokedAt, reason; `iss` (null: every issuer) is an extension.
      expect(
        Object.keys(entry)
          .filter((k) => k !== 'iss')
          .sort(),
      ).toEqual(['exp', 'jti', 'reason', 'revokedAt']);
      expect(entry.revokedAt).toBeGreaterThanOrEqual(t0);
    }
    expect(
      entries.map(({ jti, exp: e, reason }) => ({ jti, exp: e, reason })).sort((a, b) => String(a.jti).localeCompare(String(b.jti))),
    ).toEqual([
      { jti: 'jti-1', exp, reason: 'leaked' },
      { jti: 'jti-2', exp, reason: null },
    ]);
  });

  it('user state lists the token-service sessions, newest first, never a token or digest; a user revocation ends them', async () => {
    const sub = uniqueSub('sessions');
    const started = [];
    for (const scope of ['read', 'write']) {
      const res = await post('/v1/sessions', json({ sub, scope }));
      expect(res.status).toBe(200);
      started.push(await res.json<{ access_token: string; refresh_token: string }>());
      await new Promise((r) => setTimeout(r, 1100)); // distinct createdAt seconds
    }
    const state = async () => (await call(`/v1/admin/users/${encodeURIComponent(sub)}`)).json<{ sessions: Record<string, unknown>[] }>();
    const { sessions } = await state();
    expect(sessions.map((s) => [s.scope, s.state, s.revokedAt])).toEqual([
      ['write', 'active', null],
      ['read', 'active', null],
    ]);
    const sid = (token: string) => JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))).sid as string;
    expect(sessions.map((s) => s.id)).toEqual([sid(started[1]!.access_token), sid(started[0]!.access_token)]);
    for (const s of sessions) {
      expect(Object.keys(s).sort()).toEqual(['createdAt', 'expiresAt', 'id', 'revokedAt', 'scope', 'state']);
      expect(Number(s.expiresAt)).toBeGreaterThan(Number(s.createdAt));
    }
    const text = JSON.stringify(sessions);
    for (const { refresh_token: refresh } of started) expect(text).not.toContain(refresh);

    await post(`/v1/admin/users/${encodeURIComponent(sub)}/revoke`, json({ reason: 'ends sessions' }));
    expect((await state()).sessions.map((s) => [s.state, typeof s.revokedAt])).toEqual([
      ['revoked', 'number'],
      ['revoked', 'number'],
    ]);
  });

  it('a sub with reserved characters round-trips through the path', async () => {
    const sub = `adm|weird/${crypto.randomUUID()}?#é`;
    const res = await post(`/v1/admin/users/${encodeURIComponent(sub)}/revoke`, null);
    expect(await res.json()).toMatchObject({ sub, version: 1 });
    expect(await (await call(`/v1/admin/users/${encodeURIComponent(sub)}`)).json()).toMatchObject({ sub, version: 1 });
  });
});

describe('any sub a token can carry is revocable (body form)', () => {
  const verify = async (token: string, strict = false) =>
    (await (await call(`/v1/verify${strict ? '?strict=1' : ''}`, {}, token)).json<{ reason?: string }>()).reason ?? 'active';
  /** The longest `sub` a token under 8 KiB carries (ES256, the usual claims). */
  const longSub = () => `adm-long-${crypto.randomUUID()}-`.padEnd(5_900, 'x');

  it.each([
    ['.', () => '.'],
    ['..', () => '..'],
    ['%2e%2e (literally)', () => '%2e%2e'],
    ['a/../b', () => 'a/../b'],
    ['5,900 characters', longSub],
  ])('sub %s: POST /v1/admin/users/revoke refuses its tokens; POST /v1/admin/users/lookup shows the state', async (_label, make) => {
    // `.`/`..` users are shared across test runs of this file: measure the version change.
    const sub = make();
    const token = await mint('es256-1', { claims: { sub, iat: now() - 5 } });
    expect(token.length).toBeLessThanOrEqual(8192);
    expect(await verify(token)).toBe('active');
    const before = await (await post('/v1/admin/users/lookup', json({ sub }))).json<{ sub: string; version: number }>();
    expect(before.sub).toBe(sub);

    const res = await post('/v1/admin/users/revoke', json({ sub, reason: 'body form' }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ sub, user: sub, version: before.version + 1, revokedBefore: expect.any(Number) });
    expect([await verify(token), await verify(token, true)]).toEqual(['revoked_user', 'revoked_user']);
    const after = await post('/v1/admin/users/lookup', json({ sub }));
    expect(after.status).toBe(200);
    expect(await after.json()).toMatchObject({ sub, version: before.version + 1, revokedTokens: [] });
  });

  it('the path form cannot name `.` or `..` (the URL parser resolves them): that is why the body form exists', async () => {
    for (const path of ['/v1/admin/users/./revoke', '/v1/admin/users/%2E/revoke']) {
      const res = await post(path, null); // it arrives as /v1/admin/users/revoke, which wants the sub in the body
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error_description: '"sub" must be a non-empty string of at most 8192 characters' });
    }
    // `..` eats `users` too: /v1/admin/revoke, no such route.
    expect(await (await post('/v1/admin/users/%2e%2e/revoke', null)).json()).toEqual({ error: 'not_found' });
  });

  it('the path form still works, up to the same length', async () => {
    const sub = longSub();
    const res = await post(`/v1/admin/users/${sub}/revoke`, null);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ sub, version: 1 });
    expect(await (await call(`/v1/admin/users/${sub}`)).json()).toMatchObject({ sub, version: 1 });
  });

  it.each([
    ['no sub', {}],
    ['an empty sub', { sub: '' }],
    ['a number', { sub: 7 }],
    ['a sub longer than any token can carry', { sub: 'x'.repeat(8193) }],
  ])('POST /v1/admin/users/revoke and /lookup with %s → 400 naming "sub"', async (_label, body) => {
    for (const path of ['/v1/admin/users/revoke', '/v1/admin/users/lookup']) {
      const res = await post(path, json(body));
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('"sub"') });
    }
  });
});

describe('POST /v1/admin/tokens/revoke with an exp in the past', () => {
  const TOLERANCE = 30; // CLOCK_TOLERANCE_SECONDS in wrangler.toml

  it('past exp + tolerance: 200 {"revoked":false,"reason":"expired"}, nothing stored or audited', async () => {
    const sub = uniqueSub('expired');
    const exp = now() - TOLERANCE - 5;
    const res = await post('/v1/admin/tokens/revoke', json({ jti: 'old', sub, exp }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ revoked: false, reason: 'expired', sub, user: sub, jti: 'old', iss: null, exp });
    expect(await (await call(`/v1/admin/users/${sub}`)).json()).toMatchObject({ revokedTokens: [] });
    expect(await (await call(`/v1/admin/audit?sub=${sub}`)).json()).toEqual({ events: [] });
  });

  it('past exp but within the tolerance (verify still accepts it): stored, revoked: true', async () => {
    const sub = uniqueSub('grace');
    const exp = now() - 5;
    const token = await mint('es256-1', { claims: { sub, jti: 'grace', iat: now() - 60, exp } });
    const res = await post('/v1/admin/tokens/revoke', json({ jti: 'grace', sub, exp }));
    expect(await res.json()).toMatchObject({ revoked: true });
    expect((await (await call(`/v1/admin/users/${sub}`)).json<{ revokedTokens: unknown[] }>()).revokedTokens).toHaveLength(1);
    const verified = await (await call('/v1/verify?strict=1', {}, token)).json<{ reason?: string }>();
    expect(verified.reason).toBe('revoked_token');
  });
});

describe('audit', () => {
  type Event = Record<string, unknown>;
  async function page(query: string): Promise<{ events: Event[]; cursor?: string }> {
    const res = await call(`/v1/admin/audit?${query}`);
    expect(res.status).toBe(200);
    return res.json();
  }

  it('lists events newest first, 3 pages of limit=2 over 5 events, filtered by sub', async () => {
    const sub = uniqueSub('audit');
    const other = uniqueSub('audit-other');
    const exp = now() + 600;
    await post(`/v1/admin/users/${encodeURIComponent(sub)}/revoke`, json({ reason: 'e1' }));
    await post('/v1/admin/tokens/revoke', json({ jti: 'a-jti', sub, exp, reason: 'e2' }), ADMIN_KEY_ROTATED);
    await post(`/v1/admin/users/${encodeURIComponent(other)}/revoke`, json({ reason: 'other' }));
    await post(`/v1/admin/users/${encodeURIComponent(sub)}/revoke`, json({ reason: 'e3' }));
    await post('/v1/admin/tokens/revoke', json({ jti: 'b-jti', sub, exp }));
    await post(`/v1/admin/users/${encodeURIComponent(sub)}/revoke`, json({ reason: 'e5' }));

    const pages = [];
    let cursor: string | undefined;
    do {
      const p = await page(`sub=${encodeURIComponent(sub)}&limit=2${cursor === undefined ? '' : `&cursor=${cursor}`}`);
      pages.push(p);
      cursor = p.cursor;
    } while (cursor !== undefined && pages.length < 10);
    expect(pages.map((p) => p.events.length)).toEqual([2, 2, 1]);
    const events = pages.flatMap((p) => p.events);
    expect(events.map((e) => e.reason ?? e.jti)).toEqual(['e5', 'b-jti', 'e3', 'e2', 'e1']);
    expect(events[1]).toEqual({ at: expect.any(Number), action: 'revoke_token', sub, jti: 'b-jti', actor: expect.any(String) });
    expect(events[3]).toMatchObject({ action: 'revoke_token', jti: 'a-jti', reason: 'e2' });
    expect(events[0]).toEqual({ at: expect.any(Number), action: 'revoke_user', sub, actor: expect.any(String), reason: 'e5' });
    for (const event of events) {
      expect(event.actor).toMatch(/^admin:[0-9a-f]{12}$/);
      expect(String(event.actor)).not.toContain(ADMIN_KEY);
      expect(Math.abs(Number(event.at) - now())).toBeLessThanOrEqual(5);
    }
    expect(events[3]?.actor).not.toBe(events[0]?.actor); // rotated key, another fingerprint
    expect(new Set(events.map((e) => `${e.reason}${e.jti}`)).size).toBe(5);
    expect((await page(`sub=${encodeURIComponent(other)}`)).events.map((e) => e.reason)).toEqual(['other']);
  });

  it('action= keeps only events of that kind, and pages over them; an unknown action is a 400', async () => {
    const sub = uniqueSub('audit-action');
    const exp = now() + 600;
    for (const reason of ['u1', 'u2', 'u3']) {
      await post(`/v1/admin/users/${encodeURIComponent(sub)}/revoke`, json({ reason }));
      await post('/v1/admin/tokens/revoke', json({ jti: `t-${reason}`, sub, exp }));
    }
    const first = await page(`sub=${encodeURIComponent(sub)}&action=revoke_user&limit=2`);
    expect(first.events.map((e) => e.reason)).toEqual(['u3', 'u2']);
    const second = await page(`sub=${encodeURIComponent(sub)}&action=revoke_user&limit=2&cursor=${first.cursor}`);
    expect(second).toEqual({ events: [expect.objectContaining({ reason: 'u1' })] });
    const tokens = await page(`sub=${encodeURIComponent(sub)}&action=revoke_token`);
    expect(tokens.events.map((e) => e.jti)).toEqual(['t-u3', 't-u2', 't-u1']);
    const bad = await call(`/v1/admin/audit?sub=${encodeURIComponent(sub)}&action=%3Cscript%3E`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      error: 'invalid_request',
      error_description:
        '"action" must be one of revoke_user, revoke_user_replay, revoke_token, revoke_all, revoke_session, refresh_reuse, ssf_event',
    });
  });

  // reference §4.2: without sub=, the audit lists the global (revoke-all) events only; this file runs none.
  it('without sub=, lists the global trail: a user revocation is not in it', async () => {
    const sub = uniqueSub('audit-all');
    await post(`/v1/admin/users/${encodeURIComponent(sub)}/revoke`, json({ reason: 'per-user trail' }));
    expect(await page('limit=200')).toEqual({ events: [] });
  });
});

describe('logout (the bearer revokes its own token)', () => {
  const logout = (token: string, body: string | null = null) => call('/v1/logout', { method: 'POST', body }, token);
  const verify = async (token: string, strict = false) =>
    (await (await call(`/v1/verify${strict ? '?strict=1' : ''}`, {}, token)).json<{ reason?: string }>()).reason ?? 'active';

  it('revokes the presented token only', async () => {
    const sub = uniqueSub('logout');
    const token = await mint('es256-1', { claims: { sub } });
    const sibling = await mint('es256-1', { claims: { sub } });
    const res = await logout(token);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ revoked: 'token' });
    expect([await verify(token), await verify(token, true)]).toEqual(['revoked_token', 'revoked_token']);
    expect(await verify(sibling)).toBe('active');
    const again = await logout(token);
    expect(again.status).toBe(401);
    expect(await again.json()).toMatchObject({ reason: 'revoked_token' });
  });

  it('{"everywhere":true} revokes every token of the user, from every issuer', async () => {
    const sub = uniqueSub('logout-all');
    const token = await mint('es256-1', { claims: { sub } });
    const others = [await mint('es256-1', { claims: { sub } }), await mint('HS256', { claims: { sub } })];
    const res = await logout(token, json({ everywhere: true }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ revoked: 'user' });
    for (const other of others) expect([await verify(other), await verify(other, true)]).toEqual(['revoked_user', 'revoked_user']);
    const state = await (await call(`/v1/admin/users/${encodeURIComponent(sub)}`)).json();
    expect(state).toMatchObject({ version: 1 });
  });

  it.each([
    ['a forged token', async (): Promise<string> => `${(await mint()).slice(0, -4)}AAAA`, 'bad_signature'],
    ['an expired token', (): Promise<string> => mint('es256-1', { claims: { iat: now() - 900, exp: now() - 300 } }), 'expired'],
    ['garbage', async (): Promise<string> => 'not-a-jwt', 'malformed'],
  ] as const)('refuses %s with 401', async (_label, make, reason) => {
    const res = await logout(await make(), json({ everywhere: true }));
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ active: false, error: 'invalid_token', reason });
  });

  it('refuses a missing token with 401 missing_token, and a non-boolean "everywhere" with 400', async () => {
    const res = await call('/v1/logout', { method: 'POST' }, null);
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toBe('Bearer');
    expect(await res.json()).toMatchObject({ reason: 'missing_token' });
    const bad = await logout(await mint(), json({ everywhere: 'yes' }));
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'invalid_request' });
  });
});
