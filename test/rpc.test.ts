/**
 * reference §3.2: the `Verifier` entrypoint, called exactly as a user's worker calls it — through a
 * real service binding (test/fixtures/caller-worker.js, bound as env.CALLER) — and directly
 * through the loopback `exports.Verifier` for inputs a well-typed caller cannot send.
 */
import { env, exports } from 'cloudflare:workers';
import { createExecutionContext } from 'cloudflare:test';
import { describe, expect, inject, it } from 'vitest';
import { Verifier } from '../src/rpc/verifier-entrypoint';
import { ADMIN_KEY, BASE, ISSUERS, trustedIssuers } from './helpers/fixtures';
import { OKTA_ISSUER, oktaToken, oktaUser } from './helpers/okta';
import { mint, now, signRaw, uniqueSub } from './helpers/tokens';

const caller = (env as unknown as { CALLER: Fetcher }).CALLER;

type RpcResult = { active: true; claims: Record<string, unknown>; user: string } | { active: false; reason: string };

/** Verifies through the caller worker's `env.AUTH.verify(token, options)`. */
async function viaBinding(token: string | undefined, query = ''): Promise<RpcResult> {
  const headers: Record<string, string> = token === undefined ? {} : { 'x-token': token };
  const res = await caller.fetch(`http://caller/${query}`, { headers });
  expect(res.status).toBe(200);
  return res.json();
}

interface VerifierStub {
  verify(token: unknown, options?: unknown): Promise<RpcResult>;
}
const direct = (exports as unknown as { Verifier: VerifierStub }).Verifier;

function flipLastSignatureChar(token: string): string {
  const last = token.at(-2) === 'A' ? 'B' : 'A'; // the second to last char keeps the encoding canonical
  return `${token.slice(0, -2)}${last}${token.slice(-1)}`;
}

async function revokeUser(sub: string): Promise<void> {
  const res = await exports.default.fetch(`${BASE}/v1/admin/users/${encodeURIComponent(sub)}/revoke`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': 'application/json' },
    body: '{}',
  });
  expect(res.status).toBe(200);
}

describe('Verifier over a service binding', () => {
  it('accepts a valid token and returns its claims', async () => {
    const sub = uniqueSub('valid');
    const jti = crypto.randomUUID();
    const t = now();
    const token = await mint('es256-1', { claims: { sub, jti, iat: t, exp: t + 120, scope: 'read write' } });
    expect(await viaBinding(token)).toEqual({
      active: true,
      claims: { iss: ISSUERS.inline, aud: 'api', sub, jti, iat: t, exp: t + 120, scope: 'read write' },
      user: sub, // the issuer's userClaim is sub by default
    });
  });

  it.each(['HS256', 'rs256-1', 'ed-1', 'remote-a'] as const)('accepts a %s token', async (key) => {
    const sub = uniqueSub(key);
    const result = await viaBinding(await mint(key, { claims: { sub } }));
    expect(result).toMatchObject({ active: true, claims: { sub } });
  });

  it.each<[string, () => Promise<string | undefined>, string]>([
    ['no token', async () => undefined, 'missing_token'],
    ['an empty token', async () => '', 'missing_token'],
    ['a tampered signature', async () => flipLastSignatureChar(await mint('es256-1')), 'bad_signature'],
    [
      'a token signed by another key under the kid',
      async () => mint('second-1', { header: { kid: 'es256-1' }, claims: { iss: ISSUERS.inline } }),
      'bad_signature',
    ],
    ['an expired token', async () => mint('es256-1', { claims: { iat: now() - 600, exp: now() - 120 } }), 'expired'],
    ['a token from an untrusted issuer', async () => mint('es256-1', { claims: { iss: 'https://evil.test' } }), 'wrong_issuer'],
    [
      'alg none',
      async () =>
        signRaw(
          '{"alg":"none","typ":"JWT"}',
          JSON.stringify({ iss: ISSUERS.hs, aud: 'api', sub: 'x', iat: now(), exp: now() + 60 }),
          'HS256',
        ),
      'unsupported_alg',
    ],
    ['two segments', async () => 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0', 'malformed'],
    ['garbage', async () => 'not a jwt at all', 'malformed'],
  ])('refuses %s', async (_label, makeToken, reason) => {
    expect(await viaBinding(await makeToken())).toEqual({ active: false, reason });
  });

  it('accepts { strict: true } (?strict=1): valid, and a revoked user is refused on the next call', async () => {
    const sub = uniqueSub('strict');
    const token = await mint('es256-1', { claims: { sub, iat: now() - 5 } });
    expect(await viaBinding(token, '?strict=1')).toMatchObject({ active: true, claims: { sub } });
    await revokeUser(sub);
    expect(await viaBinding(token, '?strict=1')).toEqual({ active: false, reason: 'revoked_user' });
    expect(await viaBinding(token)).toEqual({ active: false, reason: 'revoked_user' });
  });
});

describe('Verifier called directly (loopback exports)', () => {
  it('accepts a valid token', async () => {
    const sub = uniqueSub('direct');
    expect(await direct.verify(await mint('HS256', { claims: { sub } }))).toMatchObject({ active: true, claims: { sub } });
  });

  // No token at all is `missing_token`; a token of the wrong type is not compact JWS: `malformed`.
  it.each<[string, string, unknown]>([
    ['undefined', 'missing_token', undefined],
    ['null', 'missing_token', null],
    ['a number', 'malformed', 42],
    ['an object', 'malformed', { token: 'x' }],
    ['an array', 'malformed', ['a.b.c']],
    ['a boolean', 'malformed', true],
  ])('a non-string token (%s) is refused as %s, without throwing', async (_label, reason, token) => {
    expect(await direct.verify(token)).toEqual({ active: false, reason });
  });

  it.each<[string, unknown]>([
    ['strict: "yes"', { strict: 'yes' }],
    ['null', null],
    ['a string', 'strict'],
  ])('odd options (%s) do not break verification', async (_label, options) => {
    const sub = uniqueSub('options');
    expect(await direct.verify(await mint('es256-1', { claims: { sub } }), options)).toMatchObject({ active: true, claims: { sub } });
  });

  it('a string that is a token plus junk is malformed', async () => {
    const token = await mint('es256-1');
    expect(await direct.verify(`${token} ${token}`)).toEqual({ active: false, reason: 'malformed' });
  });
});

describe("the user id: the issuer's userClaim", () => {
  // The worker's own bindings trust no Okta issuer: the entrypoint, constructed on bindings that do.
  const okta = new Verifier(createExecutionContext(), {
    ...env,
    TRUSTED_ISSUERS: JSON.stringify([...trustedIssuers(inject('jwksPort')), OKTA_ISSUER]),
  } as Env);

  it('an Okta token (userClaim "uid"): user is the uid, claims.sub stays the login', async () => {
    const user = oktaUser();
    const result = await okta.verify(await oktaToken(user));
    expect(result).toMatchObject({ active: true, user: user.uid, claims: { sub: user.login, uid: user.uid } });
  });

  it('a revocation of that user id refuses the token', async () => {
    const user = oktaUser();
    const token = await oktaToken(user, {}, now() - 60);
    expect(await okta.verify(token, { strict: true })).toMatchObject({ active: true, user: user.uid });
    await revokeUser(user.uid);
    expect(await okta.verify(token, { strict: true })).toEqual({ active: false, reason: 'revoked_user' });
  });
});
