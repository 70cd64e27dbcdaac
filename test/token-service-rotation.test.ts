/**
 * reference §6 and issue 5, continued: signing-key rotation (the previous key still verifies, then
 * stops when removed), the JWKS with two keys, configurable access/refresh/family lifetimes,
 * and revoke-all ending older sessions. The revoke-all test is last: it refuses every older
 * token in this file's storage (storage is isolated per test file).
 */
import { env } from 'cloudflare:workers';
import { createExecutionContext } from 'cloudflare:test';
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { app } from '../src/app';
import { ADMIN_KEY, BASE, KEYS } from './helpers/fixtures';

type Fetch = (request: Request) => Promise<Response>;
type Json = Record<string, unknown>;
interface Tokens {
  access_token: string;
  expires_in: number;
  refresh_token: string;
}

/** The worker under a configuration (config is parsed once per env object: build each once). */
function withEnv(vars: Record<string, string | undefined>): Fetch {
  const e = { ...env, ...vars } as unknown as Env;
  return (request) => app.fetch(request, e, createExecutionContext()) as Promise<Response>;
}
const keys = (...jwks: object[]) => JSON.stringify(jwks);
const S1 = KEYS['session-1'].private;
const S2 = KEYS['session-2'].private;

const newSub = (label: string) => `tsr-${label}-${crypto.randomUUID()}`;
const req = (path: string, init: RequestInit = {}, bearer?: string) => {
  const headers = new Headers(init.headers);
  if (bearer !== undefined) headers.set('Authorization', `Bearer ${bearer}`);
  return new Request(`${BASE}${path}`, { ...init, headers });
};

async function session(fetch: Fetch, sub: string): Promise<Tokens> {
  const res = await fetch(req('/v1/sessions', { method: 'POST', body: JSON.stringify({ sub }) }, ADMIN_KEY));
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json<Tokens>();
}
async function refresh(fetch: Fetch, refreshToken: string): Promise<{ status: number; body: Json }> {
  const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken });
  const res = await fetch(req('/v1/token', { method: 'POST', body }));
  return { status: res.status, body: await res.json<Json>() };
}
async function refreshOk(fetch: Fetch, refreshToken: string): Promise<Tokens> {
  const { status, body } = await refresh(fetch, refreshToken);
  expect(status, JSON.stringify(body)).toBe(200);
  return body as unknown as Tokens;
}
async function refreshError(fetch: Fetch, refreshToken: string): Promise<unknown> {
  const { status, body } = await refresh(fetch, refreshToken);
  expect(status).toBe(400);
  return body.error;
}
/** 'active' or the reason code, the same in cached and strict mode. */
async function outcome(fetch: Fetch, token: string): Promise<string> {
  const results = await Promise.all(
    ['/v1/verify', '/v1/verify?strict=1'].map(async (path) => {
      const body = await (await fetch(req(path, {}, token))).json<Json>();
      return body.active === true ? 'active' : String(body.reason);
    }),
  );
  expect(results[1]).toBe(results[0]);
  return results[0]!;
}
async function jwks(fetch: Fetch): Promise<Json[]> {
  const res = await fetch(req('/.well-known/jwks.json'));
  expect(res.status).toBe(200);
  return (await res.json<{ keys: Json[] }>()).keys;
}
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

/** Moves Date.now() (worker and Durable Object code alike) to `seconds` after `base`. */
function at(base: number, seconds: number): void {
  vi.setSystemTime((base + seconds) * 1000 + 100);
}

afterEach(() => {
  vi.useRealTimers();
});

describe('signing-key rotation, TOKEN_ISSUER unset (tokens carry the origin)', () => {
  const before = withEnv({ TOKEN_SIGNING_KEYS: keys(S1) });
  const rotating = withEnv({ TOKEN_SIGNING_KEYS: keys(S2, S1) });
  const rotated = withEnv({ TOKEN_SIGNING_KEYS: keys(S2) });

  it('new key first: old tokens still verify, new ones are signed with the new key; then the old key is removed', async () => {
    const sub = newSub('rotate');
    const old = await session(before, sub);
    expect(decodeProtectedHeader(old.access_token)).toMatchObject({ kid: 'session-1', alg: 'ES256' });
    expect(await outcome(rotating, old.access_token)).toBe('active');

    const fresh = await session(rotating, sub);
    expect(decodeProtectedHeader(fresh.access_token)).toMatchObject({ kid: 'session-2', alg: 'EdDSA' });
    expect(await outcome(rotating, fresh.access_token)).toBe('active');
    // Refresh tokens are not signed: a session started before the rotation goes on, with the new key.
    const refreshed = await refreshOk(rotating, old.refresh_token);
    expect(decodeProtectedHeader(refreshed.access_token).kid).toBe('session-2');

    // Removed: a token whose kid is not one of ours is not taken as ours (reference §6, TOKEN_ISSUER unset).
    expect(await outcome(rotated, old.access_token)).toBe('wrong_issuer');
    expect(await outcome(rotated, fresh.access_token)).toBe('active');
    expect(await outcome(rotated, refreshed.access_token)).toBe('active');
    expect(decodeProtectedHeader((await refreshOk(rotated, refreshed.refresh_token)).access_token).kid).toBe('session-2');
  });

  it('/.well-known/jwks.json lists the public half of every configured key, in order', async () => {
    for (const [fetch, expected] of [
      [rotating, ['session-2', 'session-1']],
      [rotated, ['session-2']],
    ] as const) {
      const listed = await jwks(fetch);
      expect(listed.map((k) => k.kid)).toEqual(expected);
      for (const key of listed) {
        const name = key.kid as 'session-1' | 'session-2';
        expect(key).toEqual({ ...KEYS[name].public, use: 'sig' });
        for (const member of PRIVATE_MEMBERS) expect(key).not.toHaveProperty(member);
      }
      expect(JSON.stringify(listed)).not.toContain(S1.d);
      expect(JSON.stringify(listed)).not.toContain(S2.d);
    }
  });
});

describe('signing-key rotation, TOKEN_ISSUER set', () => {
  const ISSUER = 'https://auth.killswitch.test';
  const envs: Record<'before' | 'rotating' | 'sameAlgOnly' | 'otherAlgOnly', Fetch> = {} as never;
  beforeAll(async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const S3 = { ...(await exportJWK(privateKey)), kid: 'session-3', alg: 'ES256' };
    const issuerEnv = (...jwks: object[]) => withEnv({ TOKEN_ISSUER: ISSUER, TOKEN_SIGNING_KEYS: keys(...jwks) });
    Object.assign(envs, {
      before: issuerEnv(S1),
      rotating: issuerEnv(S3, S1),
      sameAlgOnly: issuerEnv(S3),
      otherAlgOnly: issuerEnv(S2),
    });
  });

  it('the previous key verifies during the rotation', async () => {
    const old = await session(envs.before, newSub('iss-rotate'));
    expect(await outcome(envs.rotating, old.access_token)).toBe('active');
    const fresh = await session(envs.rotating, newSub('iss-rotate'));
    expect(decodeProtectedHeader(fresh.access_token).kid).toBe('session-3');
    expect(decodeJwt(fresh.access_token).iss).toBe(ISSUER);
    expect(await outcome(envs.sameAlgOnly, fresh.access_token)).toBe('active');
  });

  // reference §3 order: the issuer's algorithm allowlist (its keys' algs) comes before the key lookup.
  it.each([
    ['another ES256 key', 'sameAlgOnly', 'unknown_key'],
    ['an EdDSA key only', 'otherAlgOnly', 'unsupported_alg'],
  ] as const)('once the old key is removed (%s), its tokens are refused: %s → %s', async (_, after, reason) => {
    const old = await session(envs.before, newSub('iss-removed'));
    expect(await outcome(envs[after], old.access_token)).toBe(reason);
  });
});

describe('lifetimes', () => {
  const short = withEnv({
    ACCESS_TOKEN_TTL_SECONDS: '60',
    REFRESH_TOKEN_TTL_SECONDS: '100',
    REFRESH_FAMILY_MAX_AGE_SECONDS: '250',
  });
  const T = Math.floor(Date.now() / 1000) + 10;

  it('ACCESS_TOKEN_TTL_SECONDS sets expires_in and exp; the token expires', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    at(T, 0);
    const s = await session(short, newSub('ttl'));
    expect(s.expires_in).toBe(60);
    const { iat, exp } = decodeJwt(s.access_token);
    expect(exp).toBe(iat! + 60);
    expect(await outcome(short, s.access_token)).toBe('active');
    at(T, 60 + 31); // past exp plus CLOCK_TOLERANCE_SECONDS (30)
    expect(await outcome(short, s.access_token)).toBe('expired');
    expect(await outcome(short, (await refreshOk(short, s.refresh_token)).access_token)).toBe('active');
  });

  it('REFRESH_TOKEN_TTL_SECONDS: an unused refresh token expires (idle lifetime)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    at(T, 0);
    const [used, idle] = [await session(short, newSub('idle')), await session(short, newSub('idle'))];
    at(T, 99);
    const next = await refreshOk(short, used.refresh_token);
    at(T, 101);
    expect(await refreshError(short, idle.refresh_token)).toBe('invalid_grant');
    expect(await refreshOk(short, next.refresh_token)).toHaveProperty('access_token'); // issued at 99
  });

  it('REFRESH_FAMILY_MAX_AGE_SECONDS: a session ends however often it refreshes (absolute lifetime)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    at(T, 0);
    let current = (await session(short, newSub('absolute'))).refresh_token;
    for (const t of [90, 180, 249]) {
      at(T, t);
      current = (await refreshOk(short, current)).refresh_token;
    }
    at(T, 250);
    expect(await refreshError(short, current)).toBe('invalid_grant');
  });
});

describe('revoke-all (last: it refuses every older token in this file)', () => {
  const worker = withEnv({});

  it('ends the sessions that started before it; later logins work', async () => {
    const subs = [newSub('all-a'), newSub('all-b')];
    const sessions = await Promise.all(subs.map((sub) => session(worker, sub)));
    const refreshed = await refreshOk(worker, sessions[0]!.refresh_token);

    const res = await worker(req('/v1/admin/revoke-all', { method: 'POST', body: JSON.stringify({ reason: 'incident' }) }, ADMIN_KEY));
    expect(res.status).toBe(200);
    const { revokedBefore } = await res.json<{ revokedBefore: number }>();

    expect(await refreshError(worker, refreshed.refresh_token)).toBe('invalid_grant');
    expect(await refreshError(worker, sessions[1]!.refresh_token)).toBe('invalid_grant');
    expect(await outcome(worker, refreshed.access_token)).toBe('revoked_all');

    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime((revokedBefore + 3) * 1000); // past REVOCATION_IAT_MARGIN_SECONDS (2)
    const later = await session(worker, subs[0]!);
    expect(await outcome(worker, later.access_token)).toBe('active');
    const next = await refreshOk(worker, later.refresh_token);
    expect(await outcome(worker, next.access_token)).toBe('active');
  });
});
