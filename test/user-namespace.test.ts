/**
 * Per-issuer `userNamespace` (issue 19 item 2, docs/reference.md §4.1): a user is (namespace, user id).
 * Tenant A's issuer (the inline test issuer) stays in the shared namespace; tenant B's issuer names
 * its own. B's Shared Signals stream and B's users cannot revoke A's user of the same id; admin
 * routes reach B's users with `?namespace=`; the shared namespace keeps today's storage names.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, inject, it } from 'vitest';
import {
  fingerprintOf,
  tokenFingerprintWords,
  tokenKvKey,
  userFingerprintWords,
  userKvKey,
  userObjectName,
} from '../src/revocation/storage-keys';
import { call, verify } from './helpers/faults';
import { BASE, KEYS, SSF, SSF_OKTA_SECRET, ssfStreams, trustedIssuers } from './helpers/fixtures';
import { oktaSet } from './helpers/ssf';
import { mint, now, signRaw } from './helpers/tokens';
import { app } from '../src/app';
import { createExecutionContext } from 'cloudflare:test';

const TENANT_B = 'https://tenant-b.test';
const TENANT_B_KID = 'tenant-b-1';
const NAMESPACE = 'tenant-b';
const STREAM = { id: 'tenant-b', audience: 'https://ks.test/v1/ssf/tenant-b' };

const bindings = {
  ...env,
  TRUSTED_ISSUERS: JSON.stringify([
    ...trustedIssuers(inject('jwksPort')),
    {
      issuer: TENANT_B,
      audiences: ['api'],
      algorithms: ['ES256'],
      userNamespace: NAMESPACE,
      jwks: { keys: [{ ...KEYS['es256-1'].public, kid: TENANT_B_KID }] },
    },
  ]),
  // Tenant B's transmitter (the Okta-like test stream's keys and secret), mapped to tenant B's issuer.
  SSF_STREAMS: JSON.stringify([
    { ...ssfStreams(inject('jwksPort'))[0], ...STREAM, subjects: { iss_sub: { [SSF.okta.issuer]: { issuer: TENANT_B } } } },
  ]),
  SSF_OKTA_SECRET,
} as Env;

const userId = () => `user-${crypto.randomUUID()}`;
/** Tenant A's token: the inline issuer, shared namespace. */
const tokenA = (sub: string) => mint('es256-1', { claims: { sub } });
/** Tenant B's token for the same id. */
/** REVOCATION_IAT_MARGIN_SECONDS's default: a token issued within it of a revocation counts as issued before. */
const IAT_MARGIN = 2;
const tokenB = (sub: string, iat = now() - 5) =>
  signRaw(
    JSON.stringify({ alg: 'ES256', kid: TENANT_B_KID, typ: 'JWT' }),
    JSON.stringify({ iss: TENANT_B, aud: 'api', sub, iat, exp: iat + 300, jti: crypto.randomUUID() }),
    'es256-1',
  );
const reasonOf = async (token: string, strict: boolean) => {
  const res = await verify(bindings, token, strict);
  return res.status === 200 ? 'active' : res.body.reason;
};
const pushB = (set: string) =>
  app.fetch(
    new Request(`${BASE}/v1/ssf/${STREAM.id}/events`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/secevent+jwt', Authorization: `Bearer ${SSF_OKTA_SECRET}` },
      body: set,
    }),
    bindings,
    createExecutionContext(),
  );
const setFor = (sub: string) => oktaSet('session-revoked', sub, {}, { aud: STREAM.audience });

describe('user namespaces', () => {
  it.each([false, true])("tenant B's stream naming tenant A's user id revokes only B's user (strict=%s)", async (strict) => {
    const id = userId();
    const a = await tokenA(id);
    const b = await tokenB(id);
    expect((await pushB(await setFor(id))).status).toBe(202);
    expect(await reasonOf(a, strict)).toBe('active');
    expect(await reasonOf(b, strict)).toBe('revoked_user');
  });

  it.each([false, true])("a B user whose id equals an A id cannot logout-everywhere A's user (strict=%s)", async (strict) => {
    const id = userId();
    const a = await tokenA(id);
    const [b, otherB] = [await tokenB(id), await tokenB(id)];
    const logout = await call(bindings, '/v1/logout', { method: 'POST', bearer: b, body: '{"everywhere":true}' });
    expect(logout).toMatchObject({ status: 200, body: { revoked: 'user' } });
    expect(await reasonOf(a, strict)).toBe('active');
    expect(await reasonOf(otherB, strict)).toBe('revoked_user');
  });

  it('admin routes reach the isolated user with ?namespace=, and name it in their answers', async () => {
    const id = userId();
    const [a, b] = [await tokenA(id), await tokenB(id)];
    const path = `/v1/admin/users/${encodeURIComponent(id)}`;
    const revoked = await call(bindings, `${path}/revoke?namespace=${NAMESPACE}`, { method: 'POST', admin: true, body: '{}' });
    expect(revoked).toMatchObject({ status: 200, body: { sub: id, user: id, namespace: NAMESPACE, version: 1 } });
    expect([await reasonOf(a, true), await reasonOf(b, true)]).toEqual(['active', 'revoked_user']);
    expect([await reasonOf(a, false), await reasonOf(b, false)]).toEqual(['active', 'revoked_user']);

    const isolated = await call(bindings, `${path}?namespace=${NAMESPACE}`, { admin: true });
    expect(isolated.body).toMatchObject({ user: id, namespace: NAMESPACE, version: 1 });
    const shared = await call(bindings, path, { admin: true });
    expect(shared.body).toMatchObject({ user: id, version: 0 });
    expect(shared.body).not.toHaveProperty('namespace');
    const lookup = await call(bindings, `/v1/admin/users/lookup?namespace=${NAMESPACE}`, {
      method: 'POST',
      admin: true,
      body: JSON.stringify({ sub: id }),
    });
    expect(lookup.body).toMatchObject({ user: id, namespace: NAMESPACE, version: 1 });
    const audit = await call(bindings, `/v1/admin/audit?sub=${encodeURIComponent(id)}&namespace=${NAMESPACE}`, { admin: true });
    expect(audit.body).toMatchObject({ events: [expect.objectContaining({ action: 'revoke_user', sub: id })] });

    // Revoke by id in the namespace: B's token only.
    const b2 = await tokenB(id, (revoked.body.revokedBefore as number) + IAT_MARGIN + 1);
    expect(await reasonOf(b2, true)).toBe('active');
    const jti = JSON.parse(atob(b2.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))).jti as string;
    const byId = await call(bindings, `/v1/admin/tokens/revoke?namespace=${NAMESPACE}`, {
      method: 'POST',
      admin: true,
      body: JSON.stringify({ sub: id, jti, exp: now() + 300 }),
    });
    expect(byId).toMatchObject({ status: 200, body: { revoked: true, user: id, namespace: NAMESPACE } });
    expect(await reasonOf(b2, true)).toBe('revoked_token');
  });

  it("introspection names an isolated token's user and namespace", async () => {
    const id = userId();
    const res = await call(bindings, '/v1/introspect', {
      method: 'POST',
      admin: true,
      body: new URLSearchParams({ token: await tokenB(id) }),
    });
    expect(res.body).toMatchObject({ active: true, sub: id, user: id, namespace: NAMESPACE });
  });

  it('an unknown ?namespace= is a clear 400, never a clean-looking empty user', async () => {
    for (const [path, init] of [
      ['/v1/admin/users/alice?namespace=nope', {}],
      ['/v1/admin/users/alice/revoke?namespace=nope', { method: 'POST', body: '{}' }],
      ['/v1/admin/audit?sub=alice&namespace=nope', {}],
      ['/v1/admin/users/alice?namespace=', {}],
    ] as const) {
      const res = await call(bindings, path, { ...init, admin: true });
      expect(res, path).toMatchObject({
        status: 400,
        body: { error: 'invalid_request', error_description: expect.stringContaining('namespace') },
      });
    }
  });

  it("the shared namespace keeps today's storage names; an isolated one's differ", async () => {
    expect(userObjectName('alice')).toBe('user:alice');
    expect(await userKvKey('alice')).toBe('user:GPoVxEKt9hAwYOdXfiArRYGxhaxSiXkxq3YjPMWuyws');
    expect(await tokenKvKey('alice', 'https://inline.test', 'jti-1')).toBe('token:-ePbw6mnyCZcQQB4xTAWe9aWlYAVkj1xdycNORG_dSI');
    expect(userObjectName('alice', NAMESPACE)).toBe('ns:tenant-b:user:alice');
    expect(await userKvKey('alice', NAMESPACE)).toBe('user:ArIHobAZF2oFqbuXZxwqzkY5kcIxIxXwWc_n0ttgk3s');
    expect(await tokenKvKey('alice', 'https://inline.test', 'jti-1', NAMESPACE)).toBe('token:Ddwc8ac6j9E3VCEKPJtPIqQm22M1LjNTlItIrpPqKO4');
    // Bounded mode's fingerprints follow the keys.
    const hex = ([hi, lo]: readonly [number, number]) => hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
    expect(hex(await userFingerprintWords('alice'))).toBe(fingerprintOf(await userKvKey('alice')));
    expect(hex(await userFingerprintWords('alice', NAMESPACE))).toBe(fingerprintOf(await userKvKey('alice', NAMESPACE)));
    expect(hex(await tokenFingerprintWords('alice', null, 'j', NAMESPACE))).toBe(
      fingerprintOf(await tokenKvKey('alice', null, 'j', NAMESPACE)),
    );
  });
});
