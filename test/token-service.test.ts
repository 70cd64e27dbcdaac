/**
 * reference §6 and issue 5: killswitch as a token service. POST /v1/sessions, the refresh grant of
 * POST /v1/token (RFC 6749 §6) with rotation and replay detection (RFC 9700 §4.14), every
 * revocation path of a refresh token, RFC 8414 metadata and the JWKS, oauth4webapi as a real
 * client, and no secret in logs, audit, KV or SQLite. Key rotation, lifetimes and revoke-all
 * are in token-service-rotation.test.ts. Every test uses its own `sub`.
 */
import { exports, env } from 'cloudflare:workers';
import { createExecutionContext, runInDurableObject } from 'cloudflare:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { app } from '../src/app';
import { userObjectName } from '../src/revocation/storage-keys';
import { refreshTokenDigest } from '../src/tokens/refresh-token';
import { intercept, withFault, type Switch } from './helpers/faults';
import { ADMIN_KEY, BASE, KEYS } from './helpers/fixtures';

type Fetch = (request: Request) => Promise<Response>;
type Json = Record<string, unknown>;
interface Tokens {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token: string;
  scope?: string;
}

const worker: Fetch = (request) => exports.default.fetch(request);
/** The worker under another configuration (config is parsed once per env object). */
function withEnv(vars: Record<string, string | undefined>): Fetch {
  const e = { ...env, ...vars } as unknown as Env;
  return (request) => app.fetch(request, e, createExecutionContext()) as Promise<Response>;
}

const newSub = (label: string) => `ts-${label}-${crypto.randomUUID()}`;
const req = (path: string, init: RequestInit = {}, bearer?: string) => {
  const headers = new Headers(init.headers);
  if (bearer !== undefined) headers.set('Authorization', `Bearer ${bearer}`);
  return new Request(`${BASE}${path}`, { ...init, headers });
};

async function session(body: Json, fetch: Fetch = worker): Promise<Tokens> {
  const res = await fetch(req('/v1/sessions', { method: 'POST', body: JSON.stringify(body) }, ADMIN_KEY));
  expect(res.status, await res.clone().text()).toBe(200);
  expect(res.headers.get('Cache-Control')).toBe('no-store');
  return res.json<Tokens>();
}

const tokenRequest = (params: Record<string, string>, fetch: Fetch = worker) =>
  fetch(req('/v1/token', { method: 'POST', body: new URLSearchParams(params) }));

/** One refresh: the status and body (tokens or an RFC 6749 §5.2 error). */
async function refresh(refreshToken: string, fetch: Fetch = worker): Promise<{ status: number; body: Json }> {
  const res = await tokenRequest({ grant_type: 'refresh_token', refresh_token: refreshToken }, fetch);
  expect(res.headers.get('Cache-Control')).toBe('no-store');
  if (res.status === 200) expect(res.headers.get('Pragma')).toBe('no-cache'); // RFC 6749 §5.1
  return { status: res.status, body: await res.json<Json>() };
}
const refreshOk = async (refreshToken: string, fetch: Fetch = worker) => {
  const { status, body } = await refresh(refreshToken, fetch);
  expect(status, JSON.stringify(body)).toBe(200);
  return body as unknown as Tokens;
};
const refreshError = async (refreshToken: string, fetch: Fetch = worker) => {
  const { status, body } = await refresh(refreshToken, fetch);
  expect(status).toBe(400);
  return body.error;
};

/** /v1/verify: 'active' with the claims, or the reason code. */
async function verify(token: string, fetch: Fetch = worker, strict = false): Promise<{ outcome: string; claims: Json }> {
  const res = await fetch(req(`/v1/verify${strict ? '?strict=1' : ''}`, {}, token));
  const body = await res.json<Json>();
  expect(res.status).toBe(body.active === true ? 200 : 401);
  return { outcome: body.active === true ? 'active' : String(body.reason), claims: body };
}
const outcome = async (token: string, fetch: Fetch = worker) => {
  const [cached, strict] = await Promise.all([verify(token, fetch), verify(token, fetch, true)]);
  expect(strict.outcome).toBe(cached.outcome);
  return cached.outcome;
};

const admin = (path: string, body?: Json) =>
  worker(req(path, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) }, ADMIN_KEY));
const revokeForm = (token: string, hint?: string) =>
  worker(
    req(
      '/v1/revoke',
      {
        method: 'POST',
        body: new URLSearchParams({ token, ...(hint === undefined ? {} : { token_type_hint: hint }) }),
      },
      ADMIN_KEY,
    ),
  );

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('POST /v1/sessions', () => {
  it('answers an access token, its type and lifetime, an opaque refresh token and the scope', async () => {
    const sub = newSub('login');
    const res = await session({ sub, scope: 'read write', claims: { tenant: 'acme', roles: ['admin'] } });
    expect(Object.keys(res).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type']);
    expect(res).toMatchObject({ token_type: 'Bearer', expires_in: 300, scope: 'read write' });
    expect(res.refresh_token).toMatch(/^rt1_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(res.refresh_token.split('.')).toHaveLength(2);
    expect(decodeProtectedHeader(res.access_token)).toEqual({ alg: 'ES256', kid: 'session-1', typ: 'at+jwt' });

    const { outcome: result, claims } = await verify(res.access_token);
    expect(result).toBe('active');
    expect(claims).toMatchObject({ iss: BASE, aud: 'api', sub, ver: 0, scope: 'read write', tenant: 'acme', roles: ['admin'] });
    expect(claims.sid).toMatch(/^[0-9a-f-]{36}$/);
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
    const iat = claims.iat as number;
    expect(Math.abs(iat - Date.now() / 1000)).toBeLessThan(5);
    expect(claims.exp).toBe(iat + 300);
    expect(decodeJwt(res.access_token)).toEqual(Object.fromEntries(Object.entries(claims).filter(([k]) => k !== 'active')));
  });

  it('leaves scope out of the response and the token when none was asked for; each login is new', async () => {
    const sub = newSub('noscope');
    const [a, b] = [await session({ sub }), await session({ sub })];
    expect(a).not.toHaveProperty('scope');
    expect(decodeJwt(a.access_token)).not.toHaveProperty('scope');
    expect(a.refresh_token).not.toBe(b.refresh_token);
    expect(decodeJwt(a.access_token).jti).not.toBe(decodeJwt(b.access_token).jti);
    expect(await outcome(b.access_token)).toBe('active');
  });

  it.each(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'sid', 'scope', 'cnf', 'client_id', 'ver'])(
    'refuses the reserved claim %s in "claims" with 400 invalid_request',
    async (claim) => {
      const res = await worker(
        req(
          '/v1/sessions',
          {
            method: 'POST',
            body: JSON.stringify({ sub: newSub('reserved'), claims: { ok: 1, [claim]: 'x' } }),
          },
          ADMIN_KEY,
        ),
      );
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: 'invalid_request' });
    },
  );

  it.each([
    ['no sub', {}],
    ['an empty sub', { sub: '' }],
    ['a numeric sub', { sub: 42 }],
    ['claims as an array', { sub: 'x', claims: [1] }],
    ['a numeric scope', { sub: 'x', scope: 7 }],
  ])('refuses %s with 400 invalid_request', async (_, body) => {
    const res = await worker(req('/v1/sessions', { method: 'POST', body: JSON.stringify(body) }, ADMIN_KEY));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_request' });
  });

  it.each([
    ['a 7,000-character sub', { sub: 'x'.repeat(7_000) }],
    ['non-ASCII claims (4 KiB as JSON, 8 KiB as UTF-8)', { sub: 'x', claims: { bio: 'é'.repeat(4_000) } }],
    ['sub, scope and claims that fit one by one', { sub: 'x'.repeat(3_000), scope: 's'.repeat(1_024), claims: { pad: 'p'.repeat(3_000) } }],
  ])('refuses a session whose access token would be over 8 KiB (%s): 400 naming the limit, nothing stored', async (_label, body) => {
    const sub = `${body.sub}-${crypto.randomUUID()}`;
    const res = await worker(req('/v1/sessions', { method: 'POST', body: JSON.stringify({ ...body, sub }) }, ADMIN_KEY));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: 'invalid_request',
      error_description: expect.stringMatching(/^the access token would be \d+ bytes, over the 8192-byte \(8 KiB\) limit/),
    });
    const families = await runInDurableObject(
      env.USER_STATE.getByName(userObjectName(sub)),
      (_i, state) => state.storage.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM refresh_families').one().n,
    );
    expect(families).toBe(0);
  });

  it('a session just under the limit works: its 5,500-character-sub token verifies', async () => {
    const { access_token } = await session({ sub: newSub('long').padEnd(5_500, 'x') });
    expect(access_token.length).toBeGreaterThan(7_000);
    expect(access_token.length).toBeLessThanOrEqual(8_192);
    expect(await outcome(access_token)).toBe('active');
  });

  it.each([
    ['no', undefined],
    ['a wrong', 'not-the-admin-key-0123456789'],
  ])('answers 401 with %s admin key', async (_, key) => {
    const res = await worker(req('/v1/sessions', { method: 'POST', body: JSON.stringify({ sub: 'x' }) }, key));
    expect(res.status).toBe(401);
  });

  const off = withEnv({ TOKEN_SIGNING_KEYS: undefined });
  it.each([
    ['POST', '/v1/sessions', JSON.stringify({ sub: 'x' })],
    ['POST', '/v1/token', 'grant_type=refresh_token&refresh_token=rt1_eA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['GET', '/.well-known/jwks.json', undefined],
    ['GET', '/.well-known/oauth-authorization-server', undefined],
  ])('with the token service off, %s %s is 400 not_configured', async (method, path, body) => {
    const headers = { 'Content-Type': path === '/v1/token' ? 'application/x-www-form-urlencoded' : 'application/json' };
    const res = await off(req(path, { method, body, headers }, ADMIN_KEY));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'not_configured' });
  });

  it("puts the user's current version in the token (ver 3 after three revocations)", async () => {
    const sub = newSub('ver3');
    for (let i = 1; i <= 3; i++) {
      const res = await admin(`/v1/admin/users/${encodeURIComponent(sub)}/revoke`, {});
      expect(await res.json()).toMatchObject({ version: i });
    }
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 2000); // tokens issued at least 1 s after the revocation are accepted
    const { access_token, refresh_token } = await session({ sub });
    expect(decodeJwt(access_token).ver).toBe(3);
    expect(await outcome(access_token)).toBe('active');
    expect(decodeJwt((await refreshOk(refresh_token)).access_token).ver).toBe(3);
  });
});

describe('POST /v1/token (refresh grant)', () => {
  it('rotates through a chain of 10 refreshes, each with a new refresh token and a valid access token', async () => {
    const sub = newSub('chain');
    const first = await session({ sub, scope: 'read', claims: { tenant: 'acme' } });
    const seen = new Set([first.refresh_token]);
    const jtis = new Set([decodeJwt(first.access_token).jti]);
    let current = first.refresh_token;
    for (let i = 0; i < 10; i++) {
      const next = await refreshOk(current);
      expect(Object.keys(next).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type']);
      expect(next).toMatchObject({ token_type: 'Bearer', expires_in: 300, scope: 'read' });
      expect(seen.has(next.refresh_token)).toBe(false);
      seen.add(next.refresh_token);
      const { outcome: result, claims } = await verify(next.access_token);
      expect(result).toBe('active');
      expect(claims).toMatchObject({ iss: BASE, aud: 'api', sub, ver: 0, scope: 'read', tenant: 'acme' });
      expect(claims.exp).toBe((claims.iat as number) + 300);
      jtis.add(claims.jti as string);
      current = next.refresh_token;
    }
    expect(seen.size).toBe(11);
    expect(jtis.size).toBe(11);
  });

  const validShape = `rt1_${btoa('someone').replace(/=+$/, '')}.${'A'.repeat(43)}`;
  it.each([
    ['no grant_type', 'invalid_request', { refresh_token: validShape }],
    ['grant_type password', 'unsupported_grant_type', { grant_type: 'password', refresh_token: validShape }],
    ['grant_type authorization_code', 'unsupported_grant_type', { grant_type: 'authorization_code', code: 'x' }],
    ['no refresh_token', 'invalid_request', { grant_type: 'refresh_token' }],
    ['an empty refresh_token', 'invalid_request', { grant_type: 'refresh_token', refresh_token: '' }],
    ['a garbage refresh_token', 'invalid_grant', { grant_type: 'refresh_token', refresh_token: 'garbage' }],
    ['an unknown refresh_token of the right shape', 'invalid_grant', { grant_type: 'refresh_token', refresh_token: validShape }],
    ['a JWT as refresh_token', 'invalid_grant', { grant_type: 'refresh_token', refresh_token: 'eyJhbGciOiJub25lIn0.e30.' }],
  ])('%s → 400 %s, no-store', async (_, error, params) => {
    const res = await tokenRequest(params as Record<string, string>);
    expect(res.status).toBe(400);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect(res.headers.get('Content-Type')).toMatch(/^application\/json/);
    expect(await res.json()).toMatchObject({ error });
  });

  it("on reuse of a rotated refresh token kills the whole family, but not the user's other session", async () => {
    const sub = newSub('reuse');
    const a0 = await session({ sub });
    const other = await session({ sub });
    const a1 = await refreshOk(a0.refresh_token);
    const a2 = await refreshOk(a1.refresh_token);
    expect(await outcome(a2.access_token)).toBe('active');

    expect(await refreshError(a0.refresh_token)).toBe('invalid_grant'); // the replay
    expect(await refreshError(a2.refresh_token)).toBe('invalid_grant'); // the newest one died with it
    expect(await refreshError(a1.refresh_token)).toBe('invalid_grant');
    expect(await outcome(a2.access_token)).toBe('revoked_token'); // the family's latest access token

    expect(await outcome(other.access_token)).toBe('active');
    const o1 = await refreshOk(other.refresh_token);
    expect(await outcome(o1.access_token)).toBe('active');
    expect(await refreshOk(o1.refresh_token)).toHaveProperty('access_token');

    const audit = await (await admin(`/v1/admin/audit?sub=${encodeURIComponent(sub)}`)).json<{ events: Json[] }>();
    expect(audit.events.map((e) => e.action)).toContain('refresh_reuse');
  });

  it('of two concurrent refreshes with the same token, exactly one succeeds', async () => {
    const sub = newSub('race');
    const start = await session({ sub });
    const results = await Promise.all([refresh(start.refresh_token), refresh(start.refresh_token)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 400]);
    const loser = results.find((r) => r.status === 400)!;
    expect(loser.body).toMatchObject({ error: 'invalid_grant' });
    // The loser presented a token already rotated: a replay (docs/token-service.md), so the family ends.
    const winner = results.find((r) => r.status === 200)!.body as unknown as Tokens;
    expect(await refreshError(winner.refresh_token)).toBe('invalid_grant');
  });
});

describe('forged refresh tokens (issue 10, item 17): refused before any Durable Object is touched', () => {
  /** The real bindings, with every Durable Object stub handed out counted. */
  function countingEnv() {
    const calls: string[] = [];
    const count = <T extends object>(name: string, real: T): T =>
      new Proxy(real, {
        get(target, prop) {
          const value = Reflect.get(target, prop) as unknown;
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            if (prop === 'getByName' || prop === 'get' || prop === 'idFromName') calls.push(`${name}.${String(prop)}`);
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
    const bindings = { ...env, USER_STATE: count('USER_STATE', env.USER_STATE), GLOBAL_STATE: count('GLOBAL_STATE', env.GLOBAL_STATE) };
    const fetch: Fetch = (request) => app.fetch(request, bindings, createExecutionContext()) as Promise<Response>;
    return { calls, fetch };
  }
  const b64 = (text: string) => btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  const randomSecret = () => b64(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));

  it.each([
    ['an invented sub', async () => `rt1_${b64(newSub('invented'))}.${randomSecret()}`],
    ["a real user's sub", async () => `rt1_${b64('alice')}.${randomSecret()}`],
    [
      'a real token, its tag altered',
      async () => {
        const { refresh_token } = await session({ sub: newSub('tampered') });
        const last = refresh_token.at(-2) === 'A' ? 'B' : 'A';
        return `${refresh_token.slice(0, -2)}${last}${refresh_token.at(-1)}`;
      },
    ],
    [
      'a real token moved to another sub',
      async () => {
        const { refresh_token } = await session({ sub: newSub('moved') });
        return `rt1_${b64('alice')}.${refresh_token.split('.')[1]}`;
      },
    ],
  ])('%s → 400 invalid_grant, no Durable Object call (POST /v1/token and POST /v1/revoke)', async (_label, forge) => {
    const forged = await forge();
    const { calls, fetch } = countingEnv();
    expect(await refreshError(forged, fetch)).toBe('invalid_grant');
    const revoked = await fetch(req('/v1/revoke', { method: 'POST', body: new URLSearchParams({ token: forged }) }, ADMIN_KEY));
    expect(revoked.status).toBe(200);
    expect(calls).toEqual([]);
  });

  it('a genuine refresh token still makes exactly the calls it needs (one user, one global)', async () => {
    const { refresh_token } = await session({ sub: newSub('genuine') });
    const { calls, fetch } = countingEnv();
    await refreshOk(refresh_token, fetch);
    expect(calls.sort()).toEqual(['GLOBAL_STATE.getByName', 'USER_STATE.getByName']);
  });
});

describe('revoking refresh tokens', () => {
  it.each(['refresh_token', 'none', 'access_token'])(
    'POST /v1/revoke with token_type_hint=%s ends the session (RFC 7009)',
    async (given) => {
      const hint = given === 'none' ? undefined : given;
      const sub = newSub('rfc7009');
      const s = await session({ sub });
      const other = await session({ sub });
      const latest = await refreshOk(s.refresh_token);
      const res = await revokeForm(latest.refresh_token, hint);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('');
      expect(await refreshError(latest.refresh_token)).toBe('invalid_grant');
      expect(await outcome(latest.access_token)).toBe('revoked_token');
      expect(await outcome((await refreshOk(other.refresh_token)).access_token)).toBe('active');
      expect((await revokeForm(latest.refresh_token, hint)).status).toBe(200); // again: still 200
    },
  );

  it('POST /v1/revoke answers 200 for an unknown refresh token and 401 without the admin key', async () => {
    expect((await revokeForm(`rt1_eA.${'B'.repeat(43)}`, 'refresh_token')).status).toBe(200);
    const s = await session({ sub: newSub('noadmin') });
    const res = await worker(req('/v1/revoke', { method: 'POST', body: new URLSearchParams({ token: s.refresh_token }) }));
    expect(res.status).toBe(401);
    expect(await refreshOk(s.refresh_token)).toHaveProperty('refresh_token');
  });

  it('POST /v1/logout with an access token ends its own session (sid), not the others', async () => {
    const sub = newSub('logout-one');
    const [mine, other] = [await session({ sub }), await session({ sub })];
    const latest = await refreshOk(mine.refresh_token);
    expect(decodeJwt(latest.access_token).sid).toBe(decodeJwt(mine.access_token).sid);
    const res = await worker(req('/v1/logout', { method: 'POST' }, latest.access_token));
    expect(await res.json()).toEqual({ revoked: 'token' });
    expect(await outcome(latest.access_token)).toBe('revoked_token');
    expect(await refreshError(latest.refresh_token)).toBe('invalid_grant');
    expect(await outcome((await refreshOk(other.refresh_token)).access_token)).toBe('active');
  });

  it('POST /v1/logout that fails half-way can be retried: the session is ended first, so the retry still verifies', async () => {
    const s = await session({ sub: newSub('logout-retry') });
    const sw: Switch = { fault: 'reject' };
    const faulty = {
      ...env,
      USER_STATE: intercept(env.USER_STATE, (method, call) => {
        const stub = call();
        return method === 'getByName' ? withFault(stub as object, ['revokeSession'], sw) : stub;
      }),
    };
    const logout = () => app.fetch(req('/v1/logout', { method: 'POST' }, s.access_token), faulty, createExecutionContext());
    expect((await logout()).status).toBe(503);
    sw.fault = 'none';
    const retry = await logout();
    expect(await retry.json()).toEqual({ revoked: 'token' });
    expect(await refreshError(s.refresh_token)).toBe('invalid_grant');
    expect(await outcome(s.access_token)).toBe('revoked_token');
  });

  it('POST /v1/logout {"everywhere":true} ends every session of the user', async () => {
    const sub = newSub('logout');
    const [a, b] = [await session({ sub }), await session({ sub })];
    const bystander = await session({ sub: newSub('bystander') });
    const res = await worker(req('/v1/logout', { method: 'POST', body: JSON.stringify({ everywhere: true }) }, a.access_token));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ revoked: 'user' });
    for (const s of [a, b]) {
      expect(await refreshError(s.refresh_token)).toBe('invalid_grant');
      expect(await outcome(s.access_token)).toBe('revoked_user');
    }
    expect(await refreshOk(bystander.refresh_token)).toHaveProperty('access_token');
  });

  it('POST /v1/admin/users/:sub/revoke ends every session; access tokens are refused revoked_user', async () => {
    const sub = newSub('adminrevoke');
    const a = await session({ sub });
    const b = await refreshOk((await session({ sub })).refresh_token);
    const res = await admin(`/v1/admin/users/${encodeURIComponent(sub)}/revoke`, { reason: 'stolen laptop' });
    expect(await res.json()).toMatchObject({ sub, version: 1 });
    for (const s of [a, b]) {
      expect(await refreshError(s.refresh_token)).toBe('invalid_grant');
      expect(await outcome(s.access_token)).toBe('revoked_user');
    }
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 2000);
    const again = await session({ sub }); // a new login after the revocation works
    expect(await outcome(again.access_token)).toBe('active');
    expect(await outcome((await refreshOk(again.refresh_token)).access_token)).toBe('active');
  });
});

describe('discovery and keys', () => {
  it('GET /.well-known/jwks.json lists the public half of the signing key only', async () => {
    const res = await worker(req('/.well-known/jwks.json'));
    expect(res.status).toBe(200);
    const { keys } = await res.json<{ keys: Json[] }>();
    expect(keys).toEqual([{ ...KEYS['session-1'].public, use: 'sig' }]);
    expect(keys[0]).not.toHaveProperty('d');
    expect(JSON.stringify(keys)).not.toContain(KEYS['session-1'].private.d);
  });

  it('GET /.well-known/oauth-authorization-server (RFC 8414), issuer = the origin by default', async () => {
    const res = await worker(req('/.well-known/oauth-authorization-server'));
    expect(res.status).toBe(200);
    const meta = await res.json<Json>();
    expect(meta).toMatchObject({
      issuer: BASE,
      jwks_uri: `${BASE}/.well-known/jwks.json`,
      token_endpoint: `${BASE}/v1/token`,
      revocation_endpoint: `${BASE}/v1/revoke`,
      introspection_endpoint: `${BASE}/v1/introspect`,
    });
    expect(meta.grant_types_supported).toContain('refresh_token');
    expect(meta.token_endpoint_auth_methods_supported).toContain('none');
  });

  const ISSUER = 'https://auth.killswitch.test';
  const issuerSet = withEnv({ TOKEN_ISSUER: ISSUER });
  it('with TOKEN_ISSUER set, minted tokens carry it, verify, and the metadata names it', async () => {
    const sub = newSub('issuer');
    const s = await session({ sub }, issuerSet);
    expect(decodeJwt(s.access_token).iss).toBe(ISSUER);
    expect(await outcome(s.access_token, issuerSet)).toBe('active');
    const next = await refreshOk(s.refresh_token, issuerSet);
    expect(decodeJwt(next.access_token).iss).toBe(ISSUER);
    expect(await outcome(next.access_token, issuerSet)).toBe('active');
    const meta = await (await issuerSet(req('/.well-known/oauth-authorization-server'))).json<Json>();
    expect(meta.issuer).toBe(ISSUER);
    // An origin-issued token is no longer ours once TOKEN_ISSUER names the issuer.
    expect(await outcome((await session({ sub })).access_token, issuerSet)).toBe('wrong_issuer');
  });
});

describe('oauth4webapi as a real client', () => {
  const ISSUER = 'http://auth.ks.test';
  const target = withEnv({ TOKEN_ISSUER: ISSUER });
  const client: oauth.Client = { client_id: 'spa' };
  const options = {
    [oauth.customFetch]: (url: string, init: RequestInit) => target(new Request(url, init)),
    [oauth.allowInsecureRequests]: true,
  };

  it('discovers the metadata, refreshes with rotation, detects replay and revokes', async () => {
    const issuer = new URL(ISSUER);
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...options, algorithm: 'oauth2' }));
    expect(as.token_endpoint).toBe(`${ISSUER}/v1/token`);

    const sub = newSub('o4w');
    const start = await session({ sub }, target);
    const first = await oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(as, client, oauth.None(), start.refresh_token, options),
    );
    expect(first.token_type).toBe('bearer');
    expect(first.expires_in).toBe(300);
    expect(first.refresh_token).toBeDefined();
    expect(first.refresh_token).not.toBe(start.refresh_token);
    expect(await outcome(first.access_token, target)).toBe('active');

    const second = await oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(as, client, oauth.None(), first.refresh_token!, options),
    );
    await expect(
      oauth.processRefreshTokenResponse(
        as,
        client,
        await oauth.refreshTokenGrantRequest(as, client, oauth.None(), first.refresh_token!, options),
      ),
    ).rejects.toMatchObject({ error: 'invalid_grant', status: 400 });
    expect(await outcome(second.access_token, target)).toBe('revoked_token');

    const other = await session({ sub }, target);
    // killswitch's revocation endpoint authenticates with the admin bearer (reference §4.2).
    const adminBearer: oauth.ClientAuth = (_as, _client, _body, headers) => {
      headers.set('authorization', `Bearer ${ADMIN_KEY}`);
    };
    const revocation = await oauth.revocationRequest(as, client, adminBearer, other.refresh_token, {
      ...options,
      additionalParameters: { token_type_hint: 'refresh_token' },
    });
    await expect(oauth.processRevocationResponse(revocation)).resolves.toBeUndefined();
    await expect(
      oauth.processRefreshTokenResponse(
        as,
        client,
        await oauth.refreshTokenGrantRequest(as, client, oauth.None(), other.refresh_token, options),
      ),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
  });
});

describe('no secret in clear', () => {
  const CONSOLE = ['log', 'info', 'warn', 'error', 'debug'] as const;
  let spies: MockInstance[] = [];
  beforeEach(() => {
    spies = CONSOLE.map((name) => vi.spyOn(console, name).mockImplementation(() => undefined));
  });

  it('keeps refresh tokens, access tokens and private keys out of logs, audit, KV and SQLite', async () => {
    const sub = newSub('secrets');
    const refreshTokens: string[] = [];
    const accessTokens: string[] = [];
    const keep = (t: Tokens) => (refreshTokens.push(t.refresh_token), accessTokens.push(t.access_token), t);

    const a = keep(await session({ sub, scope: 'read', claims: { tenant: 'acme' } }));
    const a1 = keep(await refreshOk(a.refresh_token));
    keep(await refreshOk(a1.refresh_token));
    expect(await refreshError(a.refresh_token)).toBe('invalid_grant'); // replay
    const b = keep(await session({ sub }));
    expect((await revokeForm(b.refresh_token, 'refresh_token')).status).toBe(200);
    const c = keep(await session({ sub }));
    expect((await worker(req('/v1/logout', { method: 'POST', body: '{"everywhere":true}' }, c.access_token))).status).toBe(200);
    expect(await refreshError(c.refresh_token)).toBe('invalid_grant');

    const privateD = [KEYS['session-1'].private.d, KEYS['session-2'].private.d];
    const secrets = [
      ...refreshTokens,
      ...refreshTokens.map((t) => t.split('.')[1]!),
      ...accessTokens,
      ...accessTokens.map((t) => t.split('.')[2]!),
      ...privateD,
    ];
    const assertClean = (where: string, text: string) => {
      for (const secret of secrets) expect(text.includes(secret), `${where} holds a secret`).toBe(false);
    };

    const logs = spies.flatMap((spy) => spy.mock.calls.map((args) => args.map(String).join(' '))).join('\n');
    expect(logs).toContain(sub); // the capture worked
    assertClean('logs', logs);

    const audit = await (await admin(`/v1/admin/audit?sub=${encodeURIComponent(sub)}`)).text();
    expect(audit).toContain('refresh_reuse');
    assertClean('audit', audit);

    const listed = await env.REVOCATIONS.list();
    expect(listed.keys.length).toBeGreaterThan(0);
    const kv = await Promise.all(listed.keys.map(async ({ name }) => `${name}=${await env.REVOCATIONS.get(name)}`));
    assertClean('KV', kv.join('\n'));

    const stub = env.USER_STATE.getByName(userObjectName(sub));
    const { tables, rows } = await runInDurableObject(stub, async (_instance, state) => {
      const sql = state.storage.sql;
      const names = sql
        .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
        .toArray()
        .map((r) => r.name);
      const dump = names
        .filter((n) => !n.startsWith('_cf') && !n.startsWith('sqlite'))
        .map((n) => `${n}: ${JSON.stringify(sql.exec(`SELECT * FROM "${n}"`).toArray())}`);
      const kvApi = JSON.stringify([...(await state.storage.list()).entries()]); // the outbox, if any
      return { tables: `${dump.join('\n')}\n${kvApi}`, rows: sql.exec<{ digest: string }>('SELECT * FROM refresh_tokens').toArray() };
    });
    expect(tables).toContain('refresh_families');
    assertClean('SQLite', tables);
    const digests = await Promise.all(refreshTokens.map(refreshTokenDigest));
    expect(rows.map((r) => r.digest).sort()).toEqual([...digests].sort());
    for (const row of rows) expect(Object.values(row).join(' ')).not.toMatch(/rt1_/);
  });
});
