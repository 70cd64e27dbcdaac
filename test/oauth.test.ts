/**
 * RFC 7009 (POST /v1/revoke) and RFC 7662 (POST /v1/introspect), driven by oauth4webapi as an
 * independent client: its request builders and response validators, not ours. Its fetches go
 * to the worker through `customFetch`; client authentication is killswitch's admin bearer.
 */
import { exports, env } from 'cloudflare:workers';
import * as oauth from 'oauth4webapi';
import { describe, expect, it, vi } from 'vitest';
import { userObjectName } from '../src/revocation/storage-keys';
import { ADMIN_KEY, ADMIN_KEY_ROTATED, BASE, ISSUERS } from './helpers/fixtures';
import { mint, now, uniqueSub, type SigningKey } from './helpers/tokens';
import { intercept, setObjectBindings } from './helpers/faults';

const as: oauth.AuthorizationServer = {
  issuer: BASE,
  revocation_endpoint: `${BASE}/v1/revoke`,
  introspection_endpoint: `${BASE}/v1/introspect`,
};
const client: oauth.Client = { client_id: 'resource-server' };
const adminBearer =
  (key: string): oauth.ClientAuth =>
  (_as, _client, _body, headers) => {
    headers.set('authorization', `Bearer ${key}`);
  };
const options = {
  [oauth.customFetch]: (url: string, init: oauth.CustomFetchOptions<'POST', URLSearchParams>) => exports.default.fetch(url, init),
  [oauth.allowInsecureRequests]: true,
};

async function introspect(token: string, auth = adminBearer(ADMIN_KEY)): Promise<oauth.IntrospectionResponse> {
  const response = await oauth.introspectionRequest(as, client, auth, token, options);
  return oauth.processIntrospectionResponse(as, client, response);
}

async function revoke(token: string, hint?: string, auth = adminBearer(ADMIN_KEY)): Promise<Response> {
  const response = await oauth.revocationRequest(as, client, auth, token, {
    ...options,
    ...(hint === undefined ? {} : { additionalParameters: { token_type_hint: hint } }),
  });
  const copy = response.clone();
  await expect(oauth.processRevocationResponse(response)).resolves.toBeUndefined();
  return copy;
}

async function verifyReason(token: string, strict = false): Promise<string> {
  const res = await exports.default.fetch(`${BASE}/v1/verify${strict ? '?strict=1' : ''}`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  return (await res.json<{ reason?: string }>()).reason ?? 'active';
}

describe('RFC 7009 revocation', () => {
  it.each([undefined, 'access_token', 'refresh_token'])('revokes a valid token (token_type_hint=%s)', async (hint) => {
    const token = await mint('es256-1', { claims: { sub: uniqueSub('revoke') } });
    expect((await introspect(token)).active).toBe(true);
    const res = await revoke(token, hint);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    expect(await introspect(token)).toEqual({ active: false });
    expect(await verifyReason(token)).toBe('revoked_token');
    expect(await verifyReason(token, true)).toBe('revoked_token');
  });

  it.each([
    ['nbf', { nbf: now() + 120 }],
    ['iat', { iat: now() + 120 }],
    ['nbf and iat', { nbf: now() + 120, iat: now() + 120 }],
  ])('revokes a token not valid yet (%s ahead): refused once that time has come (reference §4.2)', async (_label, ahead) => {
    const sub = uniqueSub('not-yet');
    const token = await mint('es256-1', { claims: { sub, exp: now() + 900, ...ahead } });
    expect(await verifyReason(token)).not.toBe('active');
    expect((await revoke(token)).status).toBe(200);
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 130_000); // the token is valid now, and denylisted
      expect(await verifyReason(token)).toBe('revoked_token');
      expect(await verifyReason(token, true)).toBe('revoked_token');
      expect(await introspect(token)).toEqual({ active: false });
    } finally {
      vi.useRealTimers();
    }
  });

  it('revoking twice is still 200', async () => {
    const token = await mint('HS256', { claims: { sub: uniqueSub('twice') } });
    expect((await revoke(token)).status).toBe(200);
    expect((await revoke(token)).status).toBe(200);
    expect(await verifyReason(token)).toBe('revoked_token');
  });

  it.each([
    ['garbage', async () => 'garbage'],
    ['three empty segments', async () => '..'],
    ['a forged token', async () => `${(await mint()).slice(0, -4)}AAAA`],
    ['an expired token', () => mint('es256-1', { claims: { iat: now() - 900, exp: now() - 300 } })],
    ['a token of an untrusted issuer', () => mint('es256-1', { claims: { iss: 'https://evil.test' } })],
    ['an opaque unknown token', async () => crypto.randomUUID()],
  ])('answers 200 for %s (RFC 7009 §2.2)', async (_label, make) => {
    const res = await revoke(await make());
    expect(res.status).toBe(200);
  });

  it('answers 400 invalid_request without a token parameter', async () => {
    const response = await exports.default.fetch(as.revocation_endpoint!, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN_KEY}` },
      body: new URLSearchParams({ token_type_hint: 'access_token' }),
    });
    expect(response.status).toBe(400);
    const error = await oauth.processRevocationResponse(response).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(oauth.ResponseBodyError);
    expect((error as oauth.ResponseBodyError).error).toBe('invalid_request');
  });

  it('refuses a client without the admin key (401 challenge), and the token stays valid', async () => {
    const token = await mint('es256-1', { claims: { sub: uniqueSub('noauth') } });
    const response = await oauth.revocationRequest(as, client, oauth.None(), token, options);
    expect(response.status).toBe(401);
    await expect(oauth.processRevocationResponse(response)).rejects.toBeInstanceOf(oauth.WWWAuthenticateChallengeError);
    expect(await verifyReason(token)).toBe('active');
  });
});

describe('RFC 7662 introspection', () => {
  it.each<SigningKey>(['es256-1', 'rs256-1', 'ed-1', 'HS256', 'second-1'])('a valid %s token → active with its claims', async (key) => {
    const sub = uniqueSub('intro');
    const claims = { sub, jti: crypto.randomUUID(), scope: 'read write', client_id: 'app-1', iat: now() - 10, exp: now() + 600 };
    const token = await mint(key, { claims });
    const iss = key === 'HS256' ? ISSUERS.hs : key === 'second-1' ? ISSUERS.second : ISSUERS.inline;
    expect(await introspect(token, adminBearer(ADMIN_KEY_ROTATED))).toEqual({
      active: true,
      sub,
      user: sub,
      iss,
      aud: 'api',
      exp: claims.exp,
      iat: claims.iat,
      jti: claims.jti,
      scope: 'read write',
      client_id: 'app-1',
      token_type: 'Bearer',
    });
  });

  it('a token without scope or client_id omits them; an array aud is kept', async () => {
    const sub = uniqueSub('plain');
    const token = await mint('second-1', { claims: { sub, aud: ['other', 'api'] } });
    const result = await introspect(token);
    expect(Object.keys(result).sort()).toEqual(['active', 'aud', 'exp', 'iat', 'iss', 'jti', 'sub', 'token_type', 'user']);
    expect(result).toMatchObject({ active: true, sub, aud: ['other', 'api'], token_type: 'Bearer' });
  });

  it.each([
    ['expired', () => mint('es256-1', { claims: { iat: now() - 900, exp: now() - 300 } })],
    ['forged', async () => `${(await mint()).slice(0, -4)}AAAA`],
    ['wrong audience', () => mint('es256-1', { claims: { aud: 'elsewhere' } })],
    ['not yet valid', () => mint('es256-1', { claims: { nbf: now() + 3600 } })],
    ['alg none', async () => `${btoa('{"alg":"none"}').replace(/=+$/, '')}.${btoa('{"sub":"x"}').replace(/=+$/, '')}.`],
    ['garbage', async () => 'garbage'],
  ])('%s → exactly {"active":false}', async (_label, make) => {
    const response = await oauth.introspectionRequest(as, client, adminBearer(ADMIN_KEY), await make(), options);
    expect(response.status).toBe(200);
    expect(await response.clone().text()).toBe('{"active":false}');
    expect(await oauth.processIntrospectionResponse(as, client, response)).toEqual({ active: false });
  });

  it('a token of a revoked user → {"active":false}', async () => {
    const sub = uniqueSub('user');
    const token = await mint('es256-1', { claims: { sub } });
    const res = await exports.default.fetch(`${BASE}/v1/admin/users/${encodeURIComponent(sub)}/revoke`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(res.status).toBe(200);
    expect(await introspect(token)).toEqual({ active: false });
  });

  it('is authoritative: it sees a revocation the KV replica has not received', async () => {
    const sub = uniqueSub('authoritative');
    const token = await mint('es256-1', { claims: { sub } });
    const stub = env.USER_STATE.getByName(userObjectName(sub));
    const failingPuts = intercept(env.REVOCATIONS, (method, call) =>
      method === 'put' ? Promise.reject(new Error('injected KV put failure')) : call(),
    );
    await setObjectBindings(stub, { REVOCATIONS: failingPuts });
    await stub.revokeUser({ sub, actor: 'test' });
    expect(await verifyReason(token)).toBe('active'); // the cached replica lags
    expect(await introspect(token)).toEqual({ active: false });
  });

  it('refuses a client without the admin key with a 401 challenge', async () => {
    const response = await oauth.introspectionRequest(as, client, oauth.None(), await mint(), options);
    expect(response.status).toBe(401);
    await expect(oauth.processIntrospectionResponse(as, client, response)).rejects.toBeInstanceOf(oauth.WWWAuthenticateChallengeError);
  });

  it('answers 400 invalid_request without a token parameter', async () => {
    const response = await exports.default.fetch(as.introspection_endpoint!, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN_KEY}` },
      body: new URLSearchParams({}),
    });
    const error = await oauth.processIntrospectionResponse(as, client, response).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(oauth.ResponseBodyError);
    expect((error as oauth.ResponseBodyError).error).toBe('invalid_request');
    expect((error as oauth.ResponseBodyError).status).toBe(400);
  });
});
