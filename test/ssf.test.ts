/**
 * reference §7: the Shared Signals receiver, POST /v1/ssf/{id}/events (RFC 8935), against the two
 * SSF_STREAMS of test/helpers/fixtures.ts: "okta" (push secret, Okta-shaped CAEP SETs) and
 * "google" (signature only, RISC SETs without `typ`). Tokens of the user a SET names are then
 * checked at /v1/verify (strict, so no replica lag is involved) and in the audit trails.
 */
import { base64url, exportJWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { BASE, KEYS, SSF, SSF_JWKS_PATHS, SSF_OKTA_SECRET } from './helpers/fixtures';
import { publishKeys } from './helpers/jwks-server';
import { env } from 'cloudflare:workers';
import { createExecutionContext } from 'cloudflare:test';
import { app } from '../src/app';
import { counted } from './helpers/faults';
import { CAEP, googleSet, oktaSet, push, RISC, signSet, SSF_EVENT, ssfAdmin as admin, ssfEnv, worker } from './helpers/ssf';
import { b64, mint, now, uniqueSub } from './helpers/tokens';

const userState = async (sub: string) =>
  (await admin(`/v1/admin/users/${encodeURIComponent(sub)}`)).json<{ version: number; revokedBefore: number }>();
const verify = async (token: string) => {
  const res = await worker(`${BASE}/v1/verify?strict=1`, { headers: { Authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json<{ reason?: string }>() };
};
/** A token of the inline issuer (the Okta stream's token issuer) for `sub`, issued at `iat`. */
const tokenOf = (sub: string, iat = now() - 60) => mint('rs256-1', { claims: { sub, iat, exp: iat + 3600 } });
const streamAudit = async (stream: string) =>
  (await admin(`/v1/admin/ssf/streams/${stream}/audit`)).json<{
    events: { action: string; sub: string | null; jti?: string; actor: string; reason?: string }[];
  }>();

// The first request of a file starts the worker and its Durable Objects.
beforeAll(async () => {
  await push('okta', 'warm-up');
}, 30_000);

async function expectSetError(res: Response, err: string) {
  expect(res.status).toBe(400);
  expect(res.headers.get('Content-Type')).toMatch(/^application\/json/);
  const body = await res.json<Record<string, unknown>>();
  expect(body).toEqual({ err, description: expect.any(String) });
}

describe('push: stream, secret, size, media type (cheap checks first)', () => {
  it('an unknown stream is 404, before the secret is looked at', async () => {
    const res = await push('nope', await oktaSet('session-revoked', 'x'), { secret: null });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'not_found' });
    expect((await push('bad id!', 'x')).status).toBe(404);
  });

  it('a missing and a wrong push secret get the same 401, byte for byte', async () => {
    const set = await oktaSet('session-revoked', uniqueSub('secret'));
    const answers = await Promise.all([
      push('okta', set, { secret: null }),
      push('okta', set, { secret: 'wrong-secret-0123456789' }),
      push('okta', set, { secret: `${SSF_OKTA_SECRET}x` }),
      push('okta', set, { secret: '' }),
    ]);
    const snapshots = await Promise.all(
      answers.map(async (r) => ({
        status: r.status,
        headers: [...r.headers].filter(([n]) => n !== 'date').sort(),
        body: await r.text(),
      })),
    );
    expect(snapshots[0]!.status).toBe(401);
    expect(JSON.parse(snapshots[0]!.body)).toEqual({ err: 'authentication_failed', description: expect.any(String) });
    for (const s of snapshots) expect(s).toEqual(snapshots[0]);
  });

  it('a body over 16 KiB is 413; a body that is not a SET media type is 400', async () => {
    const big = await signSet({ events: { [`${CAEP}session-revoked`]: { pad: 'a'.repeat(17 * 1024) } } });
    expect((await push('okta', big)).status).toBe(413);
    await expectSetError(await push('okta', await oktaSet('session-revoked', 'x'), { contentType: 'application/json' }), 'invalid_request');
  });
});

describe('push: every RFC 8935 error code', () => {
  const sessionRevoked = { sub_id: { format: 'iss_sub', iss: SSF.okta.issuer, sub: 'nobody' }, events: { [`${CAEP}session-revoked`]: {} } };

  it('invalid_request: not a JWS, alg not allowed, wrong typ, no jti, no iat, no events, iat in the future', async () => {
    await expectSetError(await push('okta', 'not-a-jws'), 'invalid_request');
    await expectSetError(await push('okta', `${await signSet(sessionRevoked)}.x`), 'invalid_request');
    await expectSetError(
      await push('okta', await signSet(sessionRevoked, { header: { alg: 'ES256', kid: 'es256-1' }, key: 'es256-1' })),
      'invalid_request',
    );
    await expectSetError(await push('okta', await signSet(sessionRevoked, { header: { typ: 'JWT' } })), 'invalid_request');
    await expectSetError(await push('okta', await signSet(sessionRevoked, { header: { typ: undefined } })), 'invalid_request');
    await expectSetError(await push('okta', await signSet({ ...sessionRevoked, jti: undefined })), 'invalid_request');
    await expectSetError(await push('okta', await signSet({ ...sessionRevoked, iat: undefined })), 'invalid_request');
    await expectSetError(await push('okta', await signSet({ ...sessionRevoked, events: {} })), 'invalid_request');
    await expectSetError(
      await push('okta', await signSet({ ...sessionRevoked, events: { [`${CAEP}session-revoked`]: 'x' } })),
      'invalid_request',
    );
    await expectSetError(await push('okta', await signSet({ ...sessionRevoked, iat: now() + 120 })), 'invalid_request');
    // Within the clock tolerance (30 s) it is fine; and no `exp` is ever required.
    const sub = uniqueSub('tolerance');
    expect((await push('okta', await oktaSet('session-revoked', sub, {}, { iat: now() + 10 }))).status).toBe(202);
    expect(await userState(sub)).toMatchObject({ version: 1 });
  });

  it('invalid_key: a kid the transmitter does not publish, and an RSA key under 2048 bits', async () => {
    await expectSetError(await push('okta', await signSet(sessionRevoked, { header: { kid: 'unknown-kid' } })), 'invalid_key');
    // jose will not make a key this weak; WebCrypto will. The google stream's keys are first
    // fetched here, with the weak key in them: its size, not its kid, is what is refused.
    const weak = (await crypto.subtle.generateKey(
      { name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
      true,
      ['sign', 'verify'],
    )) as CryptoKeyPair;
    const jwk = { ...(await exportJWK(weak.publicKey)), kid: 'weak', alg: 'RS256' };
    await publishKeys(SSF_JWKS_PATHS.google, [KEYS['rs256-1'].public, jwk]);
    const input = `${b64(JSON.stringify({ alg: 'RS256', kid: 'weak' }))}.${b64(
      JSON.stringify({
        iss: SSF.google.issuer,
        aud: SSF.google.audience,
        iat: now(),
        jti: crypto.randomUUID(),
        events: { [`${RISC}account-disabled`]: { subject: { subject_type: 'iss-sub', iss: SSF.google.issuer, sub: 'w' } } },
      }),
    )}`;
    const signature = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', weak.privateKey, new TextEncoder().encode(input));
    const set = `${input}.${base64url.encode(new Uint8Array(signature))}`;
    await expectSetError(await push('google', set, { secret: null }), 'invalid_key');
  });

  it('authentication_failed: a signature that does not verify', async () => {
    const set = await signSet(sessionRevoked);
    const [h, p, sig] = set.split('.');
    const flipped = base64url.encode(base64url.decode(sig!).map((b, i) => (i === 10 ? b ^ 1 : b)));
    await expectSetError(await push('okta', `${h}.${p}.${flipped}`), 'authentication_failed');
  });

  it('invalid_issuer and invalid_audience', async () => {
    await expectSetError(await push('okta', await signSet({ ...sessionRevoked, iss: 'https://evil.test' })), 'invalid_issuer');
    await expectSetError(await push('okta', await signSet({ ...sessionRevoked, aud: SSF.google.audience })), 'invalid_audience');
    await expectSetError(await push('okta', await signSet({ ...sessionRevoked, aud: undefined })), 'invalid_audience');
  });

  it('nothing refused changed any state', async () => {
    expect(await userState('nobody')).toMatchObject({ version: 0, revokedBefore: 0 });
  });
});

describe('push → revocation: the time rule', () => {
  it("end to end: Okta pushes session-revoked, the user's token is refused at /v1/verify, later tokens work", async () => {
    const sub = uniqueSub('e2e');
    const token = await tokenOf(sub);
    expect((await verify(token)).status).toBe(200);
    const res = await push('okta', await oktaSet('session-revoked', sub));
    expect(res.status).toBe(202);
    expect(await res.text()).toBe('');
    expect(await verify(token)).toEqual({ status: 401, body: expect.objectContaining({ reason: 'revoked_user' }) });
    // The replica too (cached mode reads KV, written through before the 202).
    const cached = await worker(`${BASE}/v1/verify`, { headers: { Authorization: `Bearer ${token}` } });
    expect(cached.status).toBe(401);
    expect((await verify(await tokenOf(sub, now() + 3))).status).toBe(200); // past REVOCATION_IAT_MARGIN_SECONDS (2)
    // Audited in the user's trail (by stream, never the SET) and in the stream's.
    const trail = await (await admin(`/v1/admin/audit?sub=${sub}`)).json<{ events: { action: string; actor: string; reason: string }[] }>();
    expect(trail.events[0]).toMatchObject({ action: 'ssf_event', actor: 'ssf:okta', reason: expect.stringContaining('session-revoked') });
    expect(JSON.stringify(trail)).not.toMatch(/eyJ/);
  });

  it('a duplicate SET (same iss and jti) revokes once', async () => {
    const sub = uniqueSub('dup');
    const set = await oktaSet('session-revoked', sub);
    expect((await push('okta', set)).status).toBe(202);
    const first = await userState(sub);
    expect(first.version).toBe(1);
    expect((await push('okta', set)).status).toBe(202);
    expect(await userState(sub)).toEqual(first);
    const audit = await (await admin(`/v1/admin/audit?sub=${sub}`)).json<{ events: unknown[] }>();
    expect(audit.events).toHaveLength(1);
  });

  it("a no-op SET (the user is already revoked by then) is counted on the stream's trail, never the user's", async () => {
    const sub = uniqueSub('noop');
    const t = now();
    expect((await push('okta', await oktaSet('session-revoked', sub, { event_timestamp: t * 1000 }, { iat: t }))).status).toBe(202);
    // Older events under new jtis: nothing to revoke, so the user's trail (10,000 entries, admin history) is untouched.
    for (const ago of [10, 20, 30]) {
      const older = await oktaSet('session-revoked', sub, { event_timestamp: (t - ago) * 1000 }, { iat: t - ago });
      expect((await push('okta', older)).status).toBe(202);
    }
    expect(await userState(sub)).toMatchObject({ version: 1 });
    const audit = await (await admin(`/v1/admin/audit?sub=${sub}`)).json<{ events: unknown[] }>();
    expect(audit.events).toHaveLength(1);
    const stream = (await streamAudit('okta')).events.filter((e) => e.sub === sub);
    expect(stream).toHaveLength(4);
    expect(stream.filter((e) => e.reason?.includes('already revoked by then'))).toHaveLength(3);
  });

  it('an old SET, replayed or late, never refuses a token issued after its event', async () => {
    const sub = uniqueSub('replay');
    const t = now();
    const old = await signSet({
      iat: t - 300,
      sub_id: { format: 'iss_sub', iss: SSF.okta.issuer, sub },
      events: { [`${CAEP}session-revoked`]: { event_timestamp: (t - 310) * 1000 } },
    });
    expect((await push('okta', old)).status).toBe(202);
    expect(await userState(sub)).toMatchObject({ version: 1, revokedBefore: t - 300 });
    expect((await verify(await tokenOf(sub, t - 400))).body.reason).toBe('revoked_user');
    expect((await verify(await tokenOf(sub, t - 200))).status).toBe(200);
    // A newer event, then the old one again under a new jti: nothing moves back or up.
    expect(
      (await push('okta', await oktaSet('session-revoked', sub, { event_timestamp: (t - 100) * 1000 }, { iat: t - 100 }))).status,
    ).toBe(202);
    const after = await userState(sub);
    expect(after).toMatchObject({ version: 2, revokedBefore: t - 100 });
    const replay = await signSet({
      iat: t - 300,
      sub_id: { format: 'iss_sub', iss: SSF.okta.issuer, sub },
      events: { [`${CAEP}session-revoked`]: {} },
    });
    expect((await push('okta', replay)).status).toBe(202);
    expect(await userState(sub)).toEqual(after);
    expect((await verify(await tokenOf(sub, t - 50))).status).toBe(200);
  });

  it('an event_timestamp after now is clamped to now; in seconds it is read as seconds', async () => {
    const sub = uniqueSub('clamp');
    const t = now();
    expect((await push('okta', await oktaSet('session-revoked', sub, { event_timestamp: t + 5000 }))).status).toBe(202);
    const state = await userState(sub);
    expect(state.revokedBefore).toBeGreaterThanOrEqual(t);
    expect(state.revokedBefore).toBeLessThanOrEqual(now());
    // Clamped, then covered by the iat margin like any revocation: the IdP's clock runs ahead.
    expect(await verify(await tokenOf(sub, state.revokedBefore + 2))).toEqual({
      status: 401,
      body: expect.objectContaining({ reason: 'revoked_user' }),
    });
    expect((await verify(await tokenOf(sub, state.revokedBefore + 3))).status).toBe(200);
  });
});

describe('events and subjects', () => {
  const revoked = async (sub: string) => (await userState(sub)).version > 0;

  it('Okta: complex subject without format, credential-change update revokes and create does not, assurance decrease revokes', async () => {
    const [a, b, c, d] = [uniqueSub('cx'), uniqueSub('cc-create'), uniqueSub('cc-update'), uniqueSub('al')];
    const complex = await signSet({
      events: {
        [`${CAEP}session-revoked`]: {
          subject: { user: { format: 'iss_sub', iss: SSF.okta.issuer, sub: a }, session: { format: 'opaque', id: 's1' } },
          event_timestamp: Date.now(),
        },
      },
    });
    expect((await push('okta', complex)).status).toBe(202);
    expect(await revoked(a)).toBe(true);
    expect(
      (await push('okta', await oktaSet('credential-change', b, { change_type: 'create', credential_type: 'fido2-roaming' }))).status,
    ).toBe(202);
    expect(await revoked(b)).toBe(false);
    expect((await push('okta', await oktaSet('credential-change', c, { change_type: 'update', credential_type: 'password' }))).status).toBe(
      202,
    );
    expect(await revoked(c)).toBe(true);
    expect(
      (await push('okta', await oktaSet('assurance-level-change', d, { change_direction: 'increase', current_level: 'aal2' }))).status,
    ).toBe(202);
    expect(await revoked(d)).toBe(false);
    expect(
      (await push('okta', await oktaSet('assurance-level-change', d, { change_direction: 'decrease', current_level: 'aal1' }))).status,
    ).toBe(202);
    expect(await revoked(d)).toBe(true);
  });

  it('Google: RISC account-disabled and sessions-revoked revoke, account-enabled never un-revokes', async () => {
    const sub = uniqueSub('google');
    const token = await mint('second-1', { claims: { sub, iat: now() - 60 } });
    expect((await verify(token)).status).toBe(200);
    expect((await push('google', await googleSet(`${RISC}account-disabled`, sub, { reason: 'hijacking' }), { secret: null })).status).toBe(
      202,
    );
    expect((await verify(token)).body.reason).toBe('revoked_user');
    expect((await push('google', await googleSet(`${RISC}account-enabled`, sub), { secret: null })).status).toBe(202);
    expect((await verify(token)).body.reason).toBe('revoked_user');
    const other = uniqueSub('google-sessions');
    expect((await push('google', await googleSet(`${RISC}sessions-revoked`, other), { secret: null })).status).toBe(202);
    expect(await revoked(other)).toBe(true);
    const audit = await streamAudit('google');
    expect(audit.events.find((e) => e.sub === sub && e.reason?.startsWith('account-enabled'))).toMatchObject({
      reason: expect.stringContaining('audited only'),
    });
  });

  it('OAuth tokens-revoked and RISC credential-compromise revoke; aliases revoke each member', async () => {
    const [a, b, c, d] = [uniqueSub('tok'), uniqueSub('cred'), uniqueSub('alias1'), uniqueSub('alias2')];
    const event = (uri: string, sub: string) =>
      signSet({ sub_id: { format: 'iss_sub', iss: SSF.okta.issuer, sub }, events: { [uri]: {} } });
    expect((await push('okta', await event('https://schemas.openid.net/secevent/oauth/event-type/tokens-revoked', a))).status).toBe(202);
    expect((await push('okta', await event(`${RISC}credential-compromise`, b))).status).toBe(202);
    const aliases = await signSet({
      sub_id: {
        format: 'aliases',
        identifiers: [
          { format: 'iss_sub', iss: SSF.okta.issuer, sub: c },
          { format: 'phone_number', phone_number: '+12065550100' },
          { format: 'iss_sub', iss: SSF.okta.issuer, sub: d },
        ],
      },
      events: { [`${RISC}account-purged`]: {} },
    });
    expect((await push('okta', aliases)).status).toBe(202);
    for (const sub of [a, b, c, d]) expect(await revoked(sub), sub).toBe(true);
  });

  it('unknown events and unknown subjects: 202, nobody revoked, audited on the stream', async () => {
    const sub = uniqueSub('unknown');
    const unknownEvent = await signSet({
      sub_id: { format: 'iss_sub', iss: SSF.okta.issuer, sub },
      events: { 'https://example.com/event/new-thing': {} },
    });
    expect((await push('okta', unknownEvent)).status).toBe(202);
    const unmapped = await signSet({
      sub_id: { format: 'iss_sub', iss: 'https://other-idp.test', sub },
      events: { [`${CAEP}session-revoked`]: {} },
    });
    expect((await push('okta', unmapped)).status).toBe(202);
    const phone = await signSet({ sub_id: { format: 'phone_number', phone_number: '+1' }, events: { [`${CAEP}session-revoked`]: {} } });
    expect((await push('okta', phone)).status).toBe(202);
    expect(await revoked(sub)).toBe(false);
    const reasons = (await streamAudit('okta')).events.map((e) => e.reason ?? '');
    expect(reasons).toContainEqual(expect.stringMatching(/^new-thing .*: audited only$/));
    expect(reasons).toContainEqual(expect.stringMatching(/other-idp\.test .*\(iss not mapped\): revoke_user, no user mapped$/));
    expect(reasons).toContainEqual(expect.stringMatching(/phone_number \(not mapped\)/));
  });

  it('email subjects: off by default (google stream), on where configured (okta stream)', async () => {
    const email = `${uniqueSub('mail')}@example.com`;
    const googleEmail = await signSet(
      {
        iss: SSF.google.issuer,
        aud: SSF.google.audience,
        events: { [`${RISC}account-disabled`]: { subject: { subject_type: 'email', email } } },
      },
      { header: { typ: undefined } },
    );
    expect((await push('google', googleEmail, { secret: null })).status).toBe(202);
    expect(await revoked(email)).toBe(false);
    const oktaEmail = await signSet({ sub_id: { format: 'email', email }, events: { [`${CAEP}session-revoked`]: {} } });
    expect((await push('okta', oktaEmail)).status).toBe(202);
    expect(await revoked(email)).toBe(true);
  });

  it('token-claims-change naming a token: without MAX_TOKEN_LIFETIME_SECONDS the user is revoked (the safe side)', async () => {
    const sub = uniqueSub('claims');
    const set = await signSet({
      sub_id: { format: 'iss_sub', iss: SSF.okta.issuer, sub },
      events: {
        [`${CAEP}token-claims-change`]: {
          subject: { format: 'jwt_id', iss: 'https://inline.test', jti: 'tok-1' },
          claims: { role: 'guest' },
        },
      },
    });
    expect((await push('okta', set)).status).toBe(202);
    expect(await revoked(sub)).toBe(true);
  });
});

describe('stream verification (SSF 1.0 §8.1.4)', () => {
  const status = async (stream: string) =>
    (
      await (
        await admin(`/v1/admin/ssf/streams/${stream}`)
      ).json<{ status: { verifiedAt: number | null; verificationPending: boolean; verificationProblem: string | null } }>()
    ).status;
  const verification = (state?: string) =>
    signSet({
      sub_id: { format: 'opaque', id: 'okta' },
      events: { [`${SSF_EVENT}verification`]: state === undefined ? {} : { state } },
    });

  it('with the state asked for: verified; with a wrong or no state: not, and the request stays pending', async () => {
    const asked = await admin('/v1/admin/ssf/streams/okta/verify', { method: 'POST' });
    expect(asked.status).toBe(200);
    const { state, requested } = await asked.json<{ state: string; requested: boolean }>();
    expect(requested).toBe(false); // an SSF_STREAMS stream: the operator passes the state on
    expect(state).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(await status('okta')).toMatchObject({ verificationPending: true });

    expect((await push('okta', await verification('wrong-state'))).status).toBe(202);
    expect(await status('okta')).toMatchObject({ verificationPending: true, verificationProblem: expect.stringContaining('wrong state') });
    expect((await push('okta', await verification())).status).toBe(202);
    expect(await status('okta')).toMatchObject({
      verificationPending: true,
      verificationProblem: expect.stringContaining('without a state'),
    });

    expect((await push('okta', await verification(state))).status).toBe(202);
    const done = await status('okta');
    expect(done).toMatchObject({ verificationPending: false, verificationProblem: null });
    expect(done.verifiedAt).toBeGreaterThanOrEqual(now() - 5);
  });

  it("Google's RISC verification event, unsolicited and without state, is accepted and audited", async () => {
    const set = await signSet(
      {
        iss: SSF.google.issuer,
        aud: SSF.google.audience,
        events: { [`${RISC}verification`]: { state: 'x' } },
      },
      { header: { typ: undefined } },
    );
    expect((await push('google', set, { secret: null })).status).toBe(202);
    expect((await streamAudit('google')).events[0]).toMatchObject({
      action: 'ssf_event',
      actor: 'ssf:google',
      reason: expect.stringContaining('verification'),
    });
  });

  it("stream-updated records the transmitter's status", async () => {
    const set = await signSet({
      sub_id: { format: 'opaque', id: 'okta' },
      events: { [`${SSF_EVENT}stream-updated`]: { status: 'paused', reason: 'maintenance' } },
    });
    expect((await push('okta', set)).status).toBe(202);
    expect(
      (await (await admin('/v1/admin/ssf/streams/okta')).json<{ status: { transmitterStatus: string } }>()).status.transmitterStatus,
    ).toBe('paused');
  });
});

/** The worker under another configuration or with a wrapped binding. */
const withEnv = (vars: Record<string, unknown>) => (stream: string, set: string) =>
  worker(
    `${BASE}/v1/ssf/${stream}/events`,
    {
      method: 'POST',
      body: set,
      headers: { Authorization: `Bearer ${SSF_OKTA_SECRET}`, 'Content-Type': 'application/secevent+jwt' },
    },
    vars,
  );

describe('unknown streams', () => {
  it('a flood of made-up stream ids shares one registry read (404s, one Durable Object call)', async () => {
    const counts: Record<string, number> = {};
    const flood = { ...ssfEnv, SSF_STREAM: counted(env.SSF_STREAM, counts, 'registry') } as Env;
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        app.fetch(new Request(`${BASE}/v1/ssf/nope-${crypto.randomUUID()}/events`, { method: 'POST' }), flood, createExecutionContext()),
      ),
    );
    expect(answers.map((res) => res.status)).toEqual(Array(20).fill(404));
    expect(counts.registry).toBe(1);
  });
});

describe('token-claims-change and durability', () => {
  it("with MAX_TOKEN_LIFETIME_SECONDS: the named token is denied, the user's other tokens still work", async () => {
    const sub = uniqueSub('deny');
    const named = await mint('rs256-1', { claims: { sub, jti: `tok-${sub}` } });
    const other = await tokenOf(sub);
    const set = await signSet({
      sub_id: { format: 'iss_sub', iss: SSF.okta.issuer, sub },
      events: {
        [`${CAEP}token-claims-change`]: {
          subject: { format: 'jwt_id', iss: 'https://inline.test', jti: `tok-${sub}` },
          claims: { role: 'guest' },
        },
      },
    });
    const before = now();
    expect((await withEnv({ MAX_TOKEN_LIFETIME_SECONDS: '7200' })('okta', set)).status).toBe(202);
    expect((await verify(named)).body.reason).toBe('revoked_token');
    // Kept as long as such a token can be accepted: issued up to the tolerance (30 s) ahead, living 7200 s.
    const { revokedTokens } = await (
      await admin(`/v1/admin/users/${encodeURIComponent(sub)}`)
    ).json<{ revokedTokens: { exp: number }[] }>();
    expect(revokedTokens[0]!.exp - before).toBeGreaterThanOrEqual(7200 + 30);
    expect((await verify(other)).status).toBe(200);
    expect(await userState(sub)).toMatchObject({ version: 0 });
  });

  it("a user Durable Object out of reach: 503, no 202; the transmitter's retry then revokes (nothing was marked seen)", async () => {
    const sub = uniqueSub('down');
    const set = await oktaSet('session-revoked', sub);
    const unreachable = { getByName: () => ({ revokeIssuedBefore: () => Promise.reject(new Error('injected')) }) };
    const res = await withEnv({ USER_STATE: unreachable })('okta', set);
    expect(res.status).toBe(503);
    expect(res.headers.get('Retry-After')).toBe('1'); // RFC 8935 §2.4: the transmitter retries
    expect(await res.json()).toEqual({ error: 'temporarily_unavailable' });
    expect(await userState(sub)).toMatchObject({ version: 0 });
    expect((await push('okta', set)).status).toBe(202);
    expect(await userState(sub)).toMatchObject({ version: 1 });
  });
});
