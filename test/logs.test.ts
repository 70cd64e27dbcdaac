/**
 * reference §5: one structured JSON line per request — route, status, reason, sub, jti, duration —
 * and never a raw token, an Authorization header, an admin key or key material, not even on
 * error paths. LOG_ACCEPTED=false drops accepted verifications only.
 */
import { env, exports } from 'cloudflare:workers';
import { createExecutionContext } from 'cloudflare:test';
import { afterEach, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { app } from '../src/app';
import { ADMIN_KEY, ADMIN_KEY_ROTATED, BASE, HS_SECRET, ISSUERS, KEYS, trustedIssuers } from './helpers/fixtures';
import { OKTA_ISSUER, oktaToken, oktaUser } from './helpers/okta';
import { mint, now } from './helpers/tokens';

const WRONG_ADMIN_KEY = 'wrong-admin-key-abcdefghijkl';
const caller = (env as unknown as { CALLER: Fetcher }).CALLER;

/** Every private member (d, p, q, dp, dq, qi) of every fixture key. */
const PRIVATE_MATERIAL = Object.values(KEYS).flatMap((k) =>
  Object.entries(k.private as Record<string, unknown>)
    .filter(([name, v]) => ['d', 'p', 'q', 'dp', 'dq', 'qi'].includes(name) && typeof v === 'string')
    .map(([, v]) => v as string),
);
const ALWAYS_SECRET = [ADMIN_KEY, ADMIN_KEY_ROTATED, WRONG_ADMIN_KEY, HS_SECRET, ...PRIVATE_MATERIAL];

/** Everything written to the console by anyone in this isolate during a test. */
let output: string[] = [];
const METHODS = ['log', 'info', 'warn', 'error', 'debug'] as const;
const render = (arg: unknown): string =>
  typeof arg === 'string' ? arg : arg instanceof Error ? `${arg.message}\n${arg.stack ?? ''}` : (JSON.stringify(arg) ?? String(arg));

beforeEach(() => {
  output = [];
  for (const method of METHODS) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      output.push(args.map(render).join(' '));
    });
  }
});
afterEach(() => vi.restoreAllMocks());

type LogLine = Record<string, unknown>;

/** The one line the request wrote; fails if there is not exactly one, or it is not JSON. */
function theLine(): LogLine {
  expect(output).toHaveLength(1);
  expect(output[0]).not.toMatch(/[\r\n]/); // one physical line, whatever the claims held
  const line = JSON.parse(output[0] as string) as unknown;
  expect(typeof line === 'object' && line !== null && !Array.isArray(line)).toBe(true);
  return line as LogLine;
}

/** No secret, nor the token, any long segment of it, or the Authorization value, in any output. */
function expectNothingSecret(...extra: (string | undefined)[]): void {
  const forbidden = [...ALWAYS_SECRET];
  for (const value of extra) {
    if (value === undefined || value === '') continue;
    forbidden.push(value);
    for (const segment of value.split(/[.\s,"]+/)) if (segment.length > 10) forbidden.push(segment);
  }
  const all = output.join('\n');
  for (const secret of forbidden) expect(all.includes(secret), `log output contains ${secret.slice(0, 24)}…`).toBe(false);
}

const hugeToken = () => mint('es256-1', { claims: { pad: 'x'.repeat(9 * 1024) } });
const tampered = async () => {
  const token = await mint('es256-1');
  return `${token.slice(0, -2)}${token.at(-2) === 'A' ? 'B' : 'A'}${token.slice(-1)}`;
};

describe('/v1/verify log lines', () => {
  it.each<[string, () => Promise<{ path?: string; authorization?: string; token: string }>, number, string | undefined]>([
    [
      'a valid token',
      async () => {
        const token = await mint('es256-1');
        return { token, authorization: `Bearer ${token}` };
      },
      200,
      undefined,
    ],
    [
      'a tampered token',
      async () => {
        const token = await tampered();
        return { token, authorization: `Bearer ${token}` };
      },
      401,
      'bad_signature',
    ],
    [
      'a huge (> 8 KiB) token',
      async () => {
        const token = await hugeToken();
        return { token, authorization: `Bearer ${token}` };
      },
      401,
      'malformed',
    ],
    [
      'Bearer, tab, token',
      async () => {
        const token = await mint('HS256');
        return { token, authorization: `bearer\t${token}` };
      },
      200,
      undefined,
    ],
    [
      'a token plus junk',
      async () => {
        const token = await mint('es256-1');
        return { token, authorization: `Bearer ${token} trailing junk` };
      },
      401,
      'malformed',
    ],
    [
      'two bearer credentials',
      async () => {
        const token = await mint('es256-1');
        return { token, authorization: `Bearer ${token}, Bearer ${token}` };
      },
      401,
      'malformed',
    ],
    [
      'a quoted token',
      async () => {
        const token = await mint('es256-1');
        return { token, authorization: `Bearer "${token}"` };
      },
      401,
      'malformed',
    ],
    [
      'a token under Basic',
      async () => {
        const token = await mint('es256-1');
        return { token, authorization: `Basic ${token}` };
      },
      401,
      'missing_token',
    ],
    [
      'a token in the query string',
      async () => {
        const token = await mint('es256-1');
        return { token, path: `/v1/verify?access_token=${token}` };
      },
      401,
      'missing_token',
    ],
    [
      'a token in the forwarded path',
      async () => {
        const token = await mint('es256-1');
        return { token, path: `/v1/verify/api/${token}`, authorization: 'Bearer x' };
      },
      401,
      'malformed',
    ],
  ])('%s: one line, nothing secret', async (_label, make, status, reason) => {
    const { token, path = '/v1/verify', authorization } = await make();
    output = []; // minting logs nothing, but be exact about what the request wrote
    const headers: Record<string, string> = authorization === undefined ? {} : { Authorization: authorization };
    const res = await exports.default.fetch(`${BASE}${path}`, { headers });
    expect(res.status).toBe(status);

    const line = theLine();
    expect(line.route).toBe(path.startsWith('/v1/verify/') ? '/v1/verify/*' : '/v1/verify');
    expect(line.status).toBe(status);
    expect(line.reason).toBe(reason);
    expect(typeof line.durationMs).toBe('number');
    if (status === 200) {
      const body = (await res.json()) as { sub: string; jti: string };
      expect(line).toMatchObject({ sub: body.sub, jti: body.jti });
    }
    expectNothingSecret(token, authorization);
  });
});

describe('/v1/revoke log lines', () => {
  const okta = { ...env, TRUSTED_ISSUERS: JSON.stringify([...trustedIssuers(inject('jwksPort')), OKTA_ISSUER]) };
  async function revoke(token: string): Promise<LogLine> {
    output = [];
    const res = await app.fetch(
      new Request(`${BASE}/v1/revoke`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${ADMIN_KEY}` },
        body: new URLSearchParams({ token }),
      }),
      okta,
      createExecutionContext(),
    );
    expect(res.status).toBe(200); // RFC 7009 §2.2: 200 whatever the token
    const line = theLine();
    expect(line).toMatchObject({ route: '/v1/revoke', status: 200 });
    expectNothingSecret(token);
    return line;
  }

  it('a revoked token: its sub and jti', async () => {
    const sub = `revoke-log-${crypto.randomUUID()}`;
    const jti = crypto.randomUUID();
    expect(await revoke(await mint('es256-1', { claims: { sub, jti } }))).toMatchObject({ sub, jti });
  });

  it('an Okta token (userClaim uid): sub, the user id and jti', async () => {
    const person = oktaUser();
    const token = await oktaToken(person, { jti: 'AT.revoke-log' });
    expect(await revoke(token)).toMatchObject({ sub: person.login, user: person.uid, jti: 'AT.revoke-log' });
  });

  it('a refused token whose signature verified (expired): the reason, its sub and jti', async () => {
    const sub = `revoke-expired-${crypto.randomUUID()}`;
    const jti = crypto.randomUUID();
    const token = await mint('es256-1', { claims: { sub, jti, iat: now() - 7200, exp: now() - 3600 } });
    expect(await revoke(token)).toMatchObject({ reason: 'expired', sub, jti });
  });

  it("a forged token: the reason only, never the forged token's claims", async () => {
    const line = await revoke(await tampered());
    expect(line.reason).toBe('bad_signature');
    expect([line.sub, line.jti, line.user]).toEqual([undefined, undefined, undefined]);
  });
});

describe('log injection', () => {
  it('claims with newlines and fake JSON stay inside the one line', async () => {
    const fake = '"}\n{"route":"/v1/admin/revoke-all","status":200,"sub":"root';
    const token = await mint('es256-1', { claims: { sub: `mallory${fake}`, jti: `jti${fake}` } });
    output = [];
    const res = await exports.default.fetch(`${BASE}/v1/verify`, { headers: { Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(theLine()).toMatchObject({ route: '/v1/verify', status: 200, sub: `mallory${fake}`, jti: `jti${fake}` });
    expectNothingSecret(token);
  });
});

describe('RPC (service binding) log lines', () => {
  it.each<[string, () => Promise<string>, string | undefined]>([
    ['a valid token', () => mint('es256-1', { claims: { jti: 'rpc-log-jti-1' } }), undefined],
    ['a tampered token', tampered, 'bad_signature'],
    ['a huge token', hugeToken, 'malformed'],
  ])('%s: one line, nothing secret', async (_label, make, reason) => {
    const token = await make();
    output = [];
    const result = (await (await caller.fetch('http://caller/', { headers: { 'x-token': token } })).json()) as { active: boolean };
    expect(result.active).toBe(reason === undefined);

    const line = theLine();
    expect(line.route).toBe('rpc:verify');
    expect(line.reason).toBe(reason);
    expect(typeof line.durationMs).toBe('number');
    if (reason === undefined) expect(line).toMatchObject({ sub: 'alice', jti: 'rpc-log-jti-1' });
    expectNothingSecret(token);
  });
});

describe('refusal lines name who was refused once the signature verified (reference §5)', () => {
  type Route = 'verify' | 'introspect' | 'logout' | 'rpc';
  /** `token` through `route`; the one line it wrote. */
  async function refusedOn(route: Route, token: string): Promise<LogLine> {
    output = [];
    const bearer = { Authorization: `Bearer ${token}` };
    if (route === 'rpc') {
      const result = (await (await caller.fetch('http://caller/', { headers: { 'x-token': token } })).json()) as { active: boolean };
      expect(result.active).toBe(false);
    } else {
      const res =
        route === 'verify'
          ? await exports.default.fetch(`${BASE}/v1/verify`, { headers: bearer })
          : route === 'logout'
            ? await exports.default.fetch(`${BASE}/v1/logout`, { method: 'POST', headers: bearer, body: '{}' })
            : await exports.default.fetch(`${BASE}/v1/introspect`, {
                method: 'POST',
                headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': 'application/x-www-form-urlencoded' },
                body: `token=${token}`,
              });
      expect(await res.json()).toMatchObject({ active: false });
    }
    return theLine();
  }

  const who = (label: string) => ({ sub: `refused-${label}-${crypto.randomUUID()}`, jti: `jti-${crypto.randomUUID()}` });
  const revokeUser = (sub: string) =>
    exports.default.fetch(`${BASE}/v1/admin/users/${encodeURIComponent(sub)}/revoke`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': 'application/json' },
      body: '{}',
    });

  const ROUTES: Route[] = ['verify', 'introspect', 'logout', 'rpc'];
  const CASES: [string, (ids: { sub: string; jti: string }) => Promise<string>, string][] = [
    ['expired', (ids) => mint('es256-1', { claims: { ...ids, iat: now() - 900, exp: now() - 300 } }), 'expired'],
    ['wrong audience', (ids) => mint('es256-1', { claims: { ...ids, aud: 'someone-else' } }), 'wrong_audience'],
    ['not yet valid', (ids) => mint('HS256', { claims: { ...ids, nbf: now() + 600 } }), 'not_yet_valid'],
    [
      'revoked user',
      async (ids) => {
        const token = await mint('es256-1', { claims: { ...ids, iat: now() - 5 } });
        expect((await revokeUser(ids.sub)).status).toBe(200);
        return token;
      },
      'revoked_user',
    ],
  ];
  const ROWS = ROUTES.flatMap((route) => CASES.map(([label, make, reason]) => [route, label, make, reason] as const));

  it.each(ROWS)('%s, %s: the line carries sub and jti', async (route, label, make, reason) => {
    const ids = who(label.replace(/ /g, '-'));
    const token = await make(ids);
    const line = await refusedOn(route, token);
    expect(line).toMatchObject(ids);
    // introspection answers {"active":false} and logs the reason; the others log it too
    expect(line.reason).toBe(reason);
    expectNothingSecret(token);
  });

  it.each(ROUTES)('%s: a token whose signature did not verify leaves no sub or jti in the line', async (route) => {
    const ids = who('forged');
    const good = await mint('es256-1', { claims: ids });
    const forged = `${good.slice(0, -2)}${good.at(-2) === 'A' ? 'B' : 'A'}${good.slice(-1)}`;
    const line = await refusedOn(route, forged);
    expect(line.reason).toBe('bad_signature');
    expect([line.sub, line.jti]).toEqual([undefined, undefined]);
    expect(output.join('\n')).not.toContain(ids.sub);
  });
});

describe('admin routes log lines', () => {
  it.each<[string, string | undefined, number]>([
    ['the admin key', `Bearer ${ADMIN_KEY}`, 200],
    ['the rotated admin key', `Bearer ${ADMIN_KEY_ROTATED}`, 200],
    ['a wrong key', `Bearer ${WRONG_ADMIN_KEY}`, 401],
    ['a wrong key under Basic', `Basic ${btoa(`admin:${ADMIN_KEY}`)}`, 401],
    ['no key', undefined, 401],
  ])('GET /v1/admin/users/alice with %s: one line, no key', async (_label, authorization, status) => {
    const headers: Record<string, string> = authorization === undefined ? {} : { Authorization: authorization };
    const res = await exports.default.fetch(`${BASE}/v1/admin/users/alice`, { headers });
    expect(res.status).toBe(status);
    const line = theLine();
    // A refusal is logged by the admin auth layer, under its own route pattern.
    expect(line).toMatchObject({ route: status === 200 ? '/v1/admin/users/:sub' : '/v1/admin/*', status });
    expect(typeof line.durationMs).toBe('number');
    expectNothingSecret(authorization);
  });

  it('a bad body on an admin route: 4xx, one line, no key', async () => {
    const res = await exports.default.fetch(`${BASE}/v1/admin/users/alice/revoke`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': 'application/json' },
      body: `{"reason": "${HS_SECRET}"`, // not even JSON
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(theLine()).toMatchObject({ route: '/v1/admin/users/:sub/revoke', status: res.status });
    expectNothingSecret();
  });
});

describe('error paths', () => {
  it('a configuration holding a private key: 500 server_misconfigured, logged without the key', async () => {
    const privateJwk = { ...KEYS['es256-1'].private, kid: 'es256-1' };
    const token = await mint('es256-1');
    output = [];
    const res = await app.fetch(
      new Request(`${BASE}/v1/verify`, { headers: { Authorization: `Bearer ${token}` } }),
      {
        ...env,
        TRUSTED_ISSUERS: JSON.stringify([
          { issuer: ISSUERS.inline, audiences: ['api'], algorithms: ['ES256'], jwks: { keys: [privateJwk] } },
        ]),
      },
      createExecutionContext(),
    );
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'server_misconfigured' });
    const line = theLine();
    expect(line).toMatchObject({ status: 500 });
    expect(String(line.error)).toContain('TRUSTED_ISSUERS[0].jwks.keys[0]');
    expectNothingSecret(token);
  });
});

describe('LOG_ACCEPTED=false', () => {
  const quiet = { ...env, LOG_ACCEPTED: 'false' };
  const verify = (authorization: string) =>
    app.fetch(new Request(`${BASE}/v1/verify`, { headers: { Authorization: authorization } }), quiet, createExecutionContext());

  it('skips the line of an accepted verification', async () => {
    const token = await mint('es256-1', { claims: { iat: now() } });
    output = [];
    expect((await verify(`Bearer ${token}`)).status).toBe(200);
    expect(output).toEqual([]);
  });

  it.each<[string, () => Promise<string>, string]>([
    ['a tampered token', tampered, 'bad_signature'],
    ['a huge token', hugeToken, 'malformed'],
  ])('still logs a refusal (%s)', async (_label, make, reason) => {
    const token = await make();
    output = [];
    expect((await verify(`Bearer ${token}`)).status).toBe(401);
    expect(theLine()).toMatchObject({ route: '/v1/verify', status: 401, reason });
    expectNothingSecret(token);
  });

  it('still logs admin calls', async () => {
    const res = await app.fetch(
      new Request(`${BASE}/v1/admin/users/alice`, { headers: { Authorization: `Bearer ${ADMIN_KEY}` } }),
      quiet,
      createExecutionContext(),
    );
    expect(res.status).toBe(200);
    expect(theLine()).toMatchObject({ route: '/v1/admin/users/:sub', status: 200 });
    expectNothingSecret();
  });
});

describe('health checks', () => {
  it('GET /healthz writes no log line', async () => {
    const spy = vi.spyOn(console, 'log');
    try {
      const res = await exports.default.fetch(`${BASE}/healthz`);
      expect(await res.json()).toEqual({ ok: true });
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });
});
