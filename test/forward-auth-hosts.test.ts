/**
 * FORWARD_AUTH_HOSTS (reference §2, §3.1): on such a host every request, whatever its path and
 * method, is a /v1/verify check, decided by the Host before routing. Elsewhere the routes are
 * as usual. The runtime resolves `..`/`%2e%2e` before the worker sees the URL (so
 * `/v1/verify/../../healthz` arrives as `/healthz`): the raw-socket side is in
 * test/e2e/connection.test.ts.
 */
import { env } from 'cloudflare:workers';
import { createExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { app } from '../src/app';
import { parseForwardAuthHosts } from '../src/config/forward-auth-hosts';
import { counted } from './helpers/faults';
import { ADMIN_KEY } from './helpers/fixtures';
import { mint } from './helpers/tokens';

const bindings = { ...env, FORWARD_AUTH_HOSTS: '["auth.test", "gate.example.com"]' };

async function call(url: string, init: RequestInit = {}, on: object = bindings) {
  const res = await app.fetch(new Request(url, init), on, createExecutionContext());
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>), headers: res.headers };
}

/** Every other route of the app, and paths no route has. */
const PATHS: [method: string, path: string][] = [
  ['GET', '/healthz'],
  ['GET', '/openapi.json'],
  ['GET', '/.well-known/jwks.json'],
  ['GET', '/.well-known/oauth-authorization-server'],
  ['POST', '/v1/admin/users/alice/revoke'],
  ['POST', '/v1/admin/revoke-all'],
  ['POST', '/v1/token'],
  ['GET', '/v1/admin/stats'],
  ['DELETE', '/anything/else'],
  ['GET', '/'],
  ['GET', '/v1/verify/api/orders?strict=0'],
];

describe('on a FORWARD_AUTH_HOSTS host, every path and method is a check', () => {
  it.each(PATHS)('%s %s without a token → 401 missing_token, never the route', async (method, path) => {
    for (const host of ['auth.test', 'AUTH.test', 'gate.example.com:8443']) {
      const answer = await call(`http://${host}${path}`, { method, headers: { Authorization: `Bearer ${ADMIN_KEY}` } });
      expect(answer.status, `${host}${path}`).toBe(401); // the admin key is no token either
      expect(answer.body).toEqual({ active: false, error: 'invalid_token', reason: 'malformed' });
      expect((await call(`http://${host}${path}`, { method })).body).toMatchObject({ reason: 'missing_token' });
    }
  });

  it.each(PATHS)('%s %s with a valid token → 200 active with X-Auth-* headers', async (method, path) => {
    const sub = `fah-${crypto.randomUUID()}`;
    const answer = await call(`http://auth.test${path}`, {
      method,
      headers: { Authorization: `Bearer ${await mint('es256-1', { claims: { sub } })}` },
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ active: true, sub });
    expect(answer.headers.get('X-Auth-Subject')).toBe(sub);
    // Always sent (issue 19): a gateway copying it replaces whatever X-Auth-User the client sent.
    expect(answer.headers.get('X-Auth-User')).toBe(sub);
  });

  it("ignores ?strict=1 there (the end user's query): no Durable Object read, unlike on the API host", async () => {
    const token = await mint('es256-1', { claims: { sub: `fah-strict-${crypto.randomUUID()}` } });
    const counts: Record<string, number> = {};
    const on = { ...bindings, USER_STATE: counted(env.USER_STATE, counts, 'USER_STATE') };
    const headers = { Authorization: `Bearer ${token}` };
    expect((await call('http://auth.test/some/path?strict=1', { headers }, on)).body).toMatchObject({ active: true });
    expect(counts.USER_STATE).toBe(0);
    expect((await call('http://ks.test/v1/verify?strict=1', { headers }, on)).body).toMatchObject({ active: true });
    expect(counts.USER_STATE).toBeGreaterThan(0);
  });

  it('other hosts keep every route', async () => {
    expect((await call('http://ks.test/healthz')).body).toEqual({ ok: true });
    expect((await call('http://auth.test.evil/healthz')).body).toEqual({ ok: true });
    expect((await call('http://sub.auth.test/openapi.json')).status).toBe(200);
    expect((await call('http://ks.test/anything')).status).toBe(404);
  });

  it('an invalid FORWARD_AUTH_HOSTS fails closed: every path on every host answers 500 server_misconfigured', async () => {
    const broken = { ...env, FORWARD_AUTH_HOSTS: '["https://auth.test/"]' };
    for (const url of ['http://ks.test/healthz', 'http://auth.test/openapi.json', 'http://ks.test/v1/verify']) {
      expect(await call(url, {}, broken)).toMatchObject({ status: 500, body: { error: 'server_misconfigured' } });
    }
  });
});

describe('FORWARD_AUTH_HOSTS parsing', () => {
  it('lower-cases names; unset, empty and [] are no hosts', () => {
    expect([...parseForwardAuthHosts({ FORWARD_AUTH_HOSTS: '["Auth.Internal", "a-b.c"]' })]).toEqual(['auth.internal', 'a-b.c']);
    for (const value of [undefined, '', '[]']) expect(parseForwardAuthHosts({ FORWARD_AUTH_HOSTS: value }).size).toBe(0);
  });

  it.each([
    '"auth.test"',
    '{}',
    '[1]',
    '[""]',
    '["auth.test:443"]',
    '["https://auth.test"]',
    '["auth.test/verify"]',
    '["a..b"]',
    'not json',
  ])('refuses %s, naming the field', (value) => {
    expect(() => parseForwardAuthHosts({ FORWARD_AUTH_HOSTS: value })).toThrow(/^FORWARD_AUTH_HOSTS/);
  });
});
