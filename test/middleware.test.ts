/**
 * reference §3.3: the library — killswitch() as Hono middleware in someone else's app, with that
 * app's own bindings (real KV and Durable Objects here).
 */
import { env } from 'cloudflare:workers';
import { createExecutionContext } from 'cloudflare:test';
import { Hono } from 'hono';
import { describe, expect, inject, it } from 'vitest';
import { killswitch, type KillswitchEnv, type KillswitchOptions } from '../src/middleware';
import { ADMIN_KEY, BASE, ISSUERS, trustedIssuers } from './helpers/fixtures';
import { OKTA_ISSUER, oktaToken, oktaUser } from './helpers/okta';
import { mint, now, signRaw, uniqueSub } from './helpers/tokens';
import { app as killswitchApp } from '../src/app';

/** A user's app: /api/* is guarded, /public is not. Counts how often the guarded handler ran. */
function userApp(options?: KillswitchOptions) {
  const app = new Hono<KillswitchEnv>();
  const calls = { handler: 0 };
  app.use('/api/*', killswitch(options));
  app.get('/api/me', (c) => {
    calls.handler++;
    return c.text(c.var.auth.claims.sub);
  });
  app.get('/public', (c) => c.text('hello'));
  return { app, calls };
}

function call(app: Hono<KillswitchEnv>, path: string, authorization?: string, bindings: object = env) {
  const headers: Record<string, string> = authorization === undefined ? {} : { Authorization: authorization };
  return app.fetch(new Request(`http://user-app.test${path}`, { headers }), bindings, createExecutionContext());
}

function tamper(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const claims = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as Record<string, unknown>;
  const forged = btoa(JSON.stringify({ ...claims, sub: 'admin' }))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
  return `${header}.${forged}.${signature}`;
}

describe('killswitch() middleware', () => {
  it.each(['es256-1', 'HS256', 'rs256-1', 'ed-1', 'remote-a'] as const)('lets a valid %s token through, with c.var.auth', async (key) => {
    const { app, calls } = userApp();
    const sub = uniqueSub(key);
    const res = await call(app, '/api/me', `Bearer ${await mint(key, { claims: { sub } })}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(sub);
    expect(calls.handler).toBe(1);
  });

  it('takes the Bearer scheme case-insensitively', async () => {
    const { app } = userApp();
    const res = await call(app, '/api/me', `bEaReR ${await mint('es256-1', { claims: { sub: 'casey' } })}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('casey');
  });

  it.each<[string, () => Promise<string>, string]>([
    ['a tampered payload', async () => tamper(await mint('es256-1')), 'bad_signature'],
    ['an expired token', async () => mint('es256-1', { claims: { iat: now() - 900, exp: now() - 300 } }), 'expired'],
    ['an untrusted issuer', async () => mint('es256-1', { claims: { iss: 'https://evil.test' } }), 'wrong_issuer'],
    ['a wrong audience', async () => mint('es256-1', { claims: { aud: 'someone-else' } }), 'wrong_audience'],
    ['a token without sub', async () => mint('es256-1', { claims: { sub: undefined } }), 'missing_claim'],
    ['an unknown kid', async () => mint('es256-1', { header: { kid: 'nope' } }), 'unknown_key'],
    ['not a JWT', async () => 'definitely.not.ajwt', 'malformed'],
  ])('refuses %s: 401, WWW-Authenticate and the reason', async (_label, makeToken, reason) => {
    const { app, calls } = userApp();
    const res = await call(app, '/api/me', `Bearer ${await makeToken()}`);
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toBe(`Bearer error="invalid_token", error_description="${reason}"`);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect(await res.json()).toEqual({ active: false, error: 'invalid_token', reason });
    expect(calls.handler).toBe(0);
  });

  it.each<[string, string | undefined]>([
    ['no Authorization header', undefined],
    ['another scheme', 'Basic YWxpY2U6c2VjcmV0'],
    ['"Bearer" alone', 'Bearer'],
    ['"Bearer " and spaces', 'Bearer    '],
  ])('refuses %s as missing_token with a bare Bearer challenge', async (_label, authorization) => {
    const { app, calls } = userApp();
    const res = await call(app, '/api/me', authorization);
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toBe('Bearer');
    expect(await res.json()).toEqual({ active: false, error: 'invalid_token', reason: 'missing_token' });
    expect(calls.handler).toBe(0);
  });

  it('never takes the token from the query string or a cookie', async () => {
    const { app } = userApp();
    const token = await mint('es256-1');
    const res = await app.fetch(
      new Request(`http://user-app.test/api/me?access_token=${token}`, { headers: { Cookie: `token=${token}` } }),
      env,
      createExecutionContext(),
    );
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ reason: 'missing_token' });
  });

  it("gives the handler the user id (the issuer's userClaim) as c.var.user and c.var.auth.user", async () => {
    const app = new Hono<KillswitchEnv>();
    app.use('/api/*', killswitch());
    app.get('/api/who', (c) => {
      const user: string = c.var.user; // typed: a string, no cast
      return c.json({ user, authUser: c.var.auth.user, sub: c.var.auth.claims.sub });
    });
    const okta = { ...env, TRUSTED_ISSUERS: JSON.stringify([...trustedIssuers(inject('jwksPort')), OKTA_ISSUER]) };
    const person = oktaUser();
    const res = await call(app, '/api/who', `Bearer ${await oktaToken(person)}`, okta);
    expect(res.status).toBe(200);
    // Okta's custom AS: userClaim "uid" — the user id is the uid, the sub stays the login.
    expect(await res.json()).toEqual({ user: person.uid, authUser: person.uid, sub: person.login });
    const sub = uniqueSub('user-var');
    const byDefault = await call(app, '/api/who', `Bearer ${await mint('es256-1', { claims: { sub } })}`, okta);
    expect(await byDefault.json()).toEqual({ user: sub, authUser: sub, sub });
  });

  it('guards only the routes it is mounted on', async () => {
    const { app } = userApp();
    const res = await call(app, '/public');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('hello');
  });

  it('refuses a revoked user, and asks strict(request) for each request', async () => {
    const seen: string[] = [];
    const { app } = userApp({ strict: (req) => (seen.push(new URL(req.url).pathname), true) });
    const sub = uniqueSub('revoked');
    const token = await mint('es256-1', { claims: { sub, iat: now() - 5 } });
    expect((await call(app, '/api/me', `Bearer ${token}`)).status).toBe(200);

    const revoke = await killswitchApp.fetch(
      new Request(`${BASE}/v1/admin/users/${sub}/revoke`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': 'application/json' },
        body: '{}',
      }),
      env,
      createExecutionContext(),
    );
    expect(revoke.status).toBe(200);

    const res = await call(app, '/api/me', `Bearer ${token}`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ reason: 'revoked_user' });
    expect(seen).toEqual(['/api/me', '/api/me']);
  });

  it('answers 503 unavailable (not 401) when revocation state cannot be read', async () => {
    const { app, calls } = userApp();
    const failingKv = new Proxy(env.REVOCATIONS, {
      get: (target, prop) => (prop === 'get' ? () => Promise.reject(new Error('injected: KV down')) : Reflect.get(target, prop)),
    });
    const res = await call(app, '/api/me', `Bearer ${await mint('es256-1')}`, { ...env, REVOCATIONS: failingKv });
    expect(calls.handler).toBe(0);
    expect([res.status, res.headers.get('Retry-After'), res.headers.get('Cache-Control')]).toEqual([503, '1', 'no-store']);
    expect(await res.json()).toEqual({ active: false, error: 'temporarily_unavailable', reason: 'unavailable' });
  });

  it('hands the app deeply frozen claims: a handler cannot change what later requests see', async () => {
    const app = new Hono<KillswitchEnv>();
    const attempts: string[] = [];
    app.use('/api/*', killswitch());
    app.get('/api/me', (c) => {
      const claims = c.var.auth.claims as unknown as Record<string, unknown> & { roles: string[]; org: { id: string } };
      const tries: [string, () => void][] = [
        [
          'sub',
          () => {
            claims.sub = 'admin';
          },
        ],
        [
          'new claim',
          () => {
            claims.admin = true;
          },
        ],
        [
          'delete',
          () => {
            delete claims.exp;
          },
        ],
        [
          'array',
          () => {
            claims.roles.push('admin');
          },
        ],
        [
          'nested',
          () => {
            claims.org.id = 'evil';
          },
        ],
        [
          'auth',
          () => {
            (c.var.auth as { tokenId: string }).tokenId = 'other';
          },
        ],
      ];
      for (const [label, attempt] of tries) {
        try {
          attempt();
          attempts.push(`${label}: changed`);
        } catch (error) {
          attempts.push(`${label}: ${(error as Error).name}`);
        }
      }
      return c.json({ sub: claims.sub, roles: claims.roles, org: claims.org, admin: claims.admin ?? null });
    });
    const sub = uniqueSub('frozen');
    const token = await mint('es256-1', { claims: { sub, roles: ['user'], org: { id: 'acme' } } });
    for (let i = 0; i < 2; i++) {
      // the second request is served from the verified-token cache
      const res = await call(app, '/api/me', `Bearer ${token}`);
      expect(await res.json()).toEqual({ sub, roles: ['user'], org: { id: 'acme' }, admin: null });
    }
    expect(new Set(attempts)).toEqual(new Set(['sub', 'new claim', 'delete', 'array', 'nested', 'auth'].map((l) => `${l}: TypeError`)));
  });

  it('freezes claims nested thousands deep without overflowing the stack', async () => {
    const { app } = userApp();
    const sub = uniqueSub('deep');
    const payload = `${JSON.stringify({ iss: ISSUERS.inline, aud: 'api', sub, iat: now(), exp: now() + 300 }).slice(0, -1)},"deep":${'['.repeat(2_900)}${']'.repeat(2_900)}}`;
    const token = await signRaw(JSON.stringify({ alg: 'ES256', kid: 'es256-1' }), payload, 'es256-1');
    const res = await call(app, '/api/me', `Bearer ${token}`);
    expect([res.status, await res.text()]).toEqual([200, sub]);
  });

  describe('options are validated at construction', () => {
    it.each<[string, unknown]>([
      ['strict: "yes"', { strict: 'yes' }],
      ['strict: 1', { strict: 1 }],
      ['strict: null', { strict: null }],
      ['strict: {}', { strict: {} }],
    ])('%s throws a TypeError', (_label, options) => {
      expect(() => killswitch(options as never)).toThrow(TypeError);
      expect(() => killswitch(options as never)).toThrow(/options\.strict/);
    });

    it.each<[string, KillswitchOptions | undefined]>([
      ['no options', undefined],
      ['{}', {}],
      ['strict: true', { strict: true }],
      ['strict: false', { strict: false }],
      ['strict: a function', { strict: () => false }],
    ])('%s is accepted', (_label, options) => {
      expect(typeof killswitch(options)).toBe('function');
    });
  });

  describe('a misconfigured host worker', () => {
    it.each<[string, Record<string, unknown>]>([
      ['TRUSTED_ISSUERS not JSON', { TRUSTED_ISSUERS: '[{' }],
      ['TRUSTED_ISSUERS empty and no token service', { TRUSTED_ISSUERS: '[]', TOKEN_SIGNING_KEYS: '' }],
      [
        'an issuer with no key source',
        { TRUSTED_ISSUERS: JSON.stringify([{ issuer: ISSUERS.inline, audiences: ['api'], algorithms: ['ES256'] }]) },
      ],
    ])('%s: 500 server_misconfigured, never an accepted token', async (_label, override) => {
      const { app, calls } = userApp();
      const res = await call(app, '/api/me', `Bearer ${await mint('es256-1')}`, { ...env, ...override });
      expect(calls.handler).toBe(0);
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ error: 'server_misconfigured' });
    });
  });
});
