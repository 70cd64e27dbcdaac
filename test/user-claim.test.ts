/**
 * Per-issuer `userClaim` (issue 14, "Subjects"): an Okta custom authorization server puts the
 * login in `sub` and the user id (`00u…`) in `uid`, which is what Okta's SETs name. With
 * `"userClaim": "uid"` revocation state is keyed by the `uid`: the admin API, RFC 7009, logout,
 * a pushed CAEP SET and bounded mode's mirror all act on it, and the `sub` (the login) is not a
 * user id of that issuer. A token without the claim is refused `missing_claim`.
 */
import { env } from 'cloudflare:workers';
import { createExecutionContext } from 'cloudflare:test';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { app } from '../src/app';
import { fingerprintOf, userKvKey } from '../src/revocation/storage-keys';
import { boundedEnv, checkAt, location, replicaRead } from './helpers/bounded';
import { call, verify } from './helpers/faults';
import { BASE, SSF, SSF_OKTA_SECRET, ssfStreams, trustedIssuers } from './helpers/fixtures';
import { OKTA, OKTA_ISSUER, OKTA_KID, oktaToken, oktaUser } from './helpers/okta';
import { oktaSet } from './helpers/ssf';
import { mint, now, signRaw } from './helpers/tokens';

const STREAM = { id: 'okta-uid', audience: 'https://ks.test/v1/ssf/okta-uid' };

/** The test issuers plus Okta's custom authorization server keyed by `uid`, and an Okta stream mapped to it. */
const overrides = {
  TRUSTED_ISSUERS: JSON.stringify([...trustedIssuers(inject('jwksPort')), OKTA_ISSUER]),
  SSF_STREAMS: JSON.stringify([
    {
      ...ssfStreams(inject('jwksPort'))[0],
      ...STREAM,
      subjects: { iss_sub: { [SSF.okta.issuer]: { issuer: OKTA, claim: 'uid' } } },
    },
  ]),
  SSF_OKTA_SECRET,
};
/** One bindings object (one parsed configuration) for the cached/strict tests. */
const bindings = { ...env, ...overrides } as Env;

const revokeUser = async (on: Env, id: string) => {
  const res = await call(on, `/v1/admin/users/${encodeURIComponent(id)}/revoke`, { method: 'POST', admin: true, body: '{}' });
  expect(res.status, res.text).toBe(200);
  return res.body as { sub: string; version: number; revokedBefore: number };
};
const lookup = async (id: string) =>
  (await call(bindings, '/v1/admin/users/lookup', { method: 'POST', admin: true, body: JSON.stringify({ sub: id }) })).body as {
    version: number;
    revokedTokens: { jti: string; iss: string | null }[];
  };
const reasonOf = async (token: string, strict: boolean, on: Env = bindings) => {
  const res = await verify(on, token, strict);
  return res.status === 200 ? 'active' : res.body.reason;
};

afterEach(() => {
  vi.restoreAllMocks();
});

describe('an issuer whose userClaim is "uid"', () => {
  it.each([false, true])('admin revoke of the uid refuses its tokens, revoke of the login (sub) does not (strict=%s)', async (strict) => {
    const user = oktaUser();
    const token = await oktaToken(user);
    expect(await reasonOf(token, strict)).toBe('active');

    await revokeUser(bindings, user.login);
    expect(await reasonOf(token, strict)).toBe('active');

    const state = await revokeUser(bindings, user.uid);
    expect(state).toMatchObject({ sub: user.uid, version: 1 });
    expect(await reasonOf(token, strict)).toBe('revoked_user');
    // Issued more than REVOCATION_IAT_MARGIN_SECONDS (2) after the revocation: accepted again.
    expect(await reasonOf(await oktaToken(user, {}, state.revokedBefore + 3), strict)).toBe('active');

    const audit = (await call(bindings, `/v1/admin/audit?sub=${encodeURIComponent(user.uid)}`, { admin: true })).body as {
      events: { action: string; sub: string }[];
    };
    expect(audit.events).toEqual([expect.objectContaining({ action: 'revoke_user', sub: user.uid })]);
  });

  it('X-Auth-Subject stays the sub; X-Auth-User carries the user id, always (the uid, or the sub by default)', async () => {
    const user = oktaUser();
    const headersOf = async (token: string) =>
      (
        await app.fetch(
          new Request(`${BASE}/v1/verify`, { headers: { Authorization: `Bearer ${token}` } }),
          bindings,
          createExecutionContext(),
        )
      ).headers;
    const okta = await headersOf(await oktaToken(user));
    expect([okta.get('X-Auth-Subject'), okta.get('X-Auth-User')]).toEqual([user.login, user.uid]);
    const inline = await headersOf(await mint('es256-1'));
    // userClaim "sub": still sent, so a gateway copying it never passes a client's own X-Auth-User on.
    expect([inline.get('X-Auth-Subject'), inline.get('X-Auth-User')]).toEqual(['alice', 'alice']);
  });

  it('a token without a uid, or with one that is not a non-empty string, is missing_claim (never keyed by undefined or "")', async () => {
    const user = oktaUser();
    for (const uid of [undefined, '', 42, null, ['00u1'], { id: '00u1' }]) {
      const res = await verify(bindings, await oktaToken(user, { uid }));
      expect(res, JSON.stringify(uid)).toMatchObject({ status: 401, body: { reason: 'missing_claim' } });
    }
    // A lone surrogate: not Unicode text, so not an id (as for sub).
    const raw = JSON.stringify({ iss: OKTA, aud: 'api://default', sub: user.login, iat: now(), exp: now() + 60 }).replace(
      /}$/,
      ',"uid":"\\ud800"}',
    );
    const lone = await signRaw(JSON.stringify({ alg: 'RS256', kid: OKTA_KID }), raw, 'rs256-1');
    expect((await verify(bindings, lone)).body).toMatchObject({ reason: 'missing_claim' });
    // RFC 7009 of such a token stores nothing (200 as for any invalid token).
    const noUid = await oktaToken(user, { uid: undefined });
    expect((await call(bindings, '/v1/revoke', { method: 'POST', admin: true, body: new URLSearchParams({ token: noUid }) })).status).toBe(
      200,
    );
    expect(await lookup(user.login)).toMatchObject({ version: 0, revokedTokens: [] });
  });

  it('RFC 7009 denylists the token under the uid; logout everywhere revokes the uid', async () => {
    const user = oktaUser();
    const token = await oktaToken(user);
    const revoked = await call(bindings, '/v1/revoke', { method: 'POST', admin: true, body: new URLSearchParams({ token }) });
    expect(revoked.status).toBe(200);
    expect(await reasonOf(token, false)).toBe('revoked_token');
    expect(await reasonOf(token, true)).toBe('revoked_token');
    expect((await lookup(user.uid)).revokedTokens).toEqual([expect.objectContaining({ iss: OKTA })]);
    expect((await lookup(user.login)).revokedTokens).toEqual([]);

    const other = await oktaToken(user);
    const logout = await call(bindings, '/v1/logout', { method: 'POST', bearer: other, body: '{"everywhere":true}' });
    expect(logout).toMatchObject({ status: 200, body: { revoked: 'user' } });
    expect([(await lookup(user.uid)).version, (await lookup(user.login)).version]).toEqual([1, 0]);
    expect(await reasonOf(other, true)).toBe('revoked_user');
  });

  it("introspection names the user id (uid) as user; revoking that user refuses the token, and stats show the issuer's userClaim", async () => {
    const user = oktaUser();
    const token = await oktaToken(user);
    const introspect = () => call(bindings, '/v1/introspect', { method: 'POST', admin: true, body: new URLSearchParams({ token }) });
    const active = await introspect();
    expect(active.body).toMatchObject({ active: true, sub: user.login, user: user.uid });
    expect(active.body).not.toHaveProperty('namespace');
    // What the console and the CLI do with a pasted token: revoke its `user`, not its `sub`.
    const revoked = await call(bindings, '/v1/admin/users/revoke', {
      method: 'POST',
      admin: true,
      body: JSON.stringify({ sub: active.body.user }),
    });
    expect(revoked.body).toMatchObject({ sub: user.uid, user: user.uid, version: 1 });
    expect((await introspect()).body).toEqual({ active: false });
    expect(await reasonOf(token, false)).toBe('revoked_user');

    const stats = (await call(bindings, '/v1/admin/stats', { admin: true })).body as { issuers: { issuer: string; userClaim: string }[] };
    expect(stats.issuers.find((i) => i.issuer === OKTA)).toMatchObject({ userClaim: 'uid' });
  });

  it("log lines keep naming the sub, and add the user id; a sub-keyed issuer's lines have no user", async () => {
    const lines: Record<string, unknown>[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: unknown) => {
      lines.push(JSON.parse(String(line)) as Record<string, unknown>);
    });
    const user = oktaUser();
    const token = await oktaToken(user);
    await verify(bindings, token);
    await revokeUser(bindings, user.uid);
    await verify(bindings, token, true);
    const sub = `log-${crypto.randomUUID()}`;
    await verify(bindings, await mint('es256-1', { claims: { sub } }));
    const about = (s: string) => lines.filter((l) => String(l.route).startsWith('/v1/verify') && l.sub === s);
    expect(about(user.login).map((l) => [l.status, l.user])).toEqual([
      [200, user.uid],
      [401, user.uid],
    ]);
    expect(about(sub)).toEqual([expect.not.objectContaining({ user: expect.anything() })]);
    expect(lines.some((l) => JSON.stringify(l).includes(token))).toBe(false);
  });

  it("ids are one namespace across issuers (as sub always was): revoking a uid refuses a sub-keyed issuer's token with that sub", async () => {
    const user = oktaUser();
    const sameId = await mint('es256-1', { claims: { sub: user.uid } });
    await revokeUser(bindings, user.uid);
    expect(await reasonOf(sameId, true)).toBe('revoked_user');
  });
});

describe("Shared Signals: a SET naming Okta's user id", () => {
  const pushTo = (set: string) =>
    app.fetch(
      new Request(`${BASE}/v1/ssf/${STREAM.id}/events`, {
        method: 'POST',
        body: set,
        headers: { Authorization: `Bearer ${SSF_OKTA_SECRET}`, 'Content-Type': 'application/secevent+jwt' },
      }),
      bindings,
      createExecutionContext(),
    );

  it('a CAEP session-revoked with iss_sub {sub: uid} refuses the tokens carrying that uid; one naming the login does not', async () => {
    const user = oktaUser();
    const token = await oktaToken(user);
    const set = (sub: string) => oktaSet('session-revoked', sub, {}, { aud: STREAM.audience });

    expect((await pushTo(await set(user.login))).status).toBe(202);
    expect(await reasonOf(token, true)).toBe('active');

    expect((await pushTo(await set(user.uid))).status).toBe(202);
    expect(await reasonOf(token, true)).toBe('revoked_user');
    expect(await reasonOf(token, false)).toBe('revoked_user');
    expect((await lookup(user.uid)).version).toBe(1);
  });
});

describe('bounded mode: the mirror is keyed by the uid', () => {
  it("revoking the uid puts the uid's user key on the feed and refuses at a cold location; revoking the login does not", async () => {
    const bounded = boundedEnv(overrides);
    const user = oktaUser();
    const token = await oktaToken(user);
    expect(await checkAt(location(), token, bounded)).toBe('active');

    await revokeUser(bounded, user.login);
    expect(await checkAt(location(), token, bounded)).toBe('active');

    await revokeUser(bounded, user.uid);
    const fp = fingerprintOf(await userKvKey(user.uid));
    const read = await replicaRead(0, 0);
    expect(read.entries.some((e) => e.kind === 'user' && e.fp === fp)).toBe(true);
    expect(await checkAt(location(), token, bounded)).toBe('revoked_user');
    expect((await verify(bounded, token)).body).toMatchObject({ reason: 'revoked_user' }); // the handling isolate
  });
});
