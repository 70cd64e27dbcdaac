/**
 * reference §7: Shared Signals streams through the admin API, against the local transmitter of
 * test/global-setup.ts (discovery, stream creation, verification, status, delete), and the
 * manual mode. SETs are signed here with jose-imported keys and pushed to the endpoint the
 * transmitter was given, with the authorization it was given.
 */
import { env } from 'cloudflare:workers';
import { inject } from 'vitest';
import { beforeAll, describe, expect, it } from 'vitest';
import { call } from './helpers/faults';
import { BASE, KEYS } from './helpers/fixtures';
import { jwksBase, publishKeys } from './helpers/jwks-server';
import { CAEP, signSet, SSF_EVENT, ssfAdmin as admin, worker } from './helpers/ssf';
import { mint, now } from './helpers/tokens';

const TX_TOKEN = 'tx-token';
const txIssuer = (name: string) => `${jwksBase()}/ssf-tx/${name}`;

interface TxStream {
  stream_id: string;
  aud: string;
  delivery: { endpoint_url: string; authorization_header: string };
}
async function transmitter(name: string): Promise<{ streams: TxStream[]; verifications: { stream_id: string; state: string }[] }> {
  return (await fetch(`${jwksBase()}/__control/ssf-tx?name=${name}`)).json();
}
const misbehave = (name: string, how: Record<string, unknown>) =>
  fetch(`${jwksBase()}/__control/ssf-tx?name=${name}`, { method: 'POST', body: JSON.stringify(how) });

const subjects = (name: string) => ({ iss_sub: { [txIssuer(name)]: { issuer: 'https://inline.test', claim: 'sub' } } });

beforeAll(async () => {
  expect(inject('jwksPort')).toBeGreaterThan(0);
  await admin('/v1/admin/ssf/streams');
}, 30_000);

describe("managed streams: against the transmitter's management API", () => {
  it('create → verify → push → status → delete', async () => {
    const name = `tx-${crypto.randomUUID().slice(0, 8)}`;
    await publishKeys(`/jwks/ssf-tx-${name}`, [KEYS['rs256-1'].public]);
    const created = await admin('/v1/admin/ssf/streams', {
      method: 'POST',
      json: { transmitter: txIssuer(name), transmitterToken: TX_TOKEN, subjects: subjects(name) },
    });
    expect(created.status).toBe(201);
    const stream = await created.json<Record<string, unknown> & { id: string; pushEndpoint: string; audience: string }>();
    expect(stream).toMatchObject({ mode: 'managed', issuer: txIssuer(name), pushSecret: true, transmitterStreamId: expect.any(String) });
    expect(stream).not.toHaveProperty('secret'); // only the transmitter holds it

    // What the transmitter was given: our push endpoint and a bearer secret.
    const [atTx] = (await transmitter(name)).streams;
    expect(atTx!.delivery.endpoint_url).toBe(`${BASE}/v1/ssf/${stream.id}/events`);
    expect(stream.pushEndpoint).toBe(atTx!.delivery.endpoint_url);
    expect(atTx!.delivery.authorization_header).toMatch(/^Bearer [A-Za-z0-9_-]{43}$/);
    expect(stream.audience).toBe(atTx!.aud);

    // The stream is listed, and its secret is not stored anywhere we can read it back.
    const list = await (await admin('/v1/admin/ssf/streams')).text();
    expect(list).toContain(stream.id);
    expect(list).not.toContain(atTx!.delivery.authorization_header.slice(7));

    // Verification: killswitch asks, the transmitter sends a SET with the state.
    const verify = await admin(`/v1/admin/ssf/streams/${stream.id}/verify`, { method: 'POST', json: { transmitterToken: TX_TOKEN } });
    expect(verify.status).toBe(200);
    const { state, requested } = await verify.json<{ state: string; requested: boolean }>();
    expect(requested).toBe(true);
    expect((await transmitter(name)).verifications).toEqual([{ stream_id: atTx!.stream_id, state }]);

    const send = (set: string, authorization = atTx!.delivery.authorization_header) =>
      worker(atTx!.delivery.endpoint_url, {
        method: 'POST',
        headers: { Authorization: authorization, 'Content-Type': 'application/secevent+jwt' },
        body: set,
      });
    const sign = (claims: Record<string, unknown>) => signSet({ iss: txIssuer(name), aud: atTx!.aud, ...claims });
    const verification = (id: string) => sign({ sub_id: { format: 'opaque', id }, events: { [`${SSF_EVENT}verification`]: { state } } });

    // A control event naming another of the transmitter's streams was not meant for us.
    const other = await send(await verification('another-stream'));
    expect(other.status).toBe(400);
    expect(await other.json()).toEqual({ err: 'access_denied', description: expect.any(String) });
    expect((await send(await verification(atTx!.stream_id), 'Bearer wrong-secret-value')).status).toBe(401);
    expect((await send(await verification(atTx!.stream_id))).status).toBe(202);

    const status = await admin(`/v1/admin/ssf/streams/${stream.id}`, { headers: { 'X-Transmitter-Token': TX_TOKEN } });
    expect(status.status).toBe(200);
    expect((await status.json<{ status: Record<string, unknown> }>()).status).toMatchObject({
      verifiedAt: expect.any(Number),
      verificationPending: false,
      transmitterStatus: 'enabled',
    });

    // An IdP-side session revocation is refused at the edge.
    const sub = `managed-${crypto.randomUUID()}`;
    const token = await mint('rs256-1', { claims: { sub, iat: now() - 30 } });
    const revoke = await sign({ sub_id: { format: 'iss_sub', iss: txIssuer(name), sub }, events: { [`${CAEP}session-revoked`]: {} } });
    expect((await send(revoke)).status).toBe(202);
    const check = await worker(`${BASE}/v1/verify?strict=1`, { headers: { Authorization: `Bearer ${token}` } });
    expect(await check.json()).toMatchObject({ active: false, reason: 'revoked_user' });

    // Delete: at the transmitter, then here; the push endpoint is gone.
    const deleted = await admin(`/v1/admin/ssf/streams/${stream.id}`, { method: 'DELETE', json: { transmitterToken: TX_TOKEN } });
    expect(deleted.status).toBe(200);
    expect(await deleted.json()).toEqual({ id: stream.id, deleted: true, transmitter: 'deleted' });
    expect((await transmitter(name)).streams).toEqual([]);
    expect((await send(revoke)).status).toBe(404);
  });

  it('a managed stream is deleted here whatever its transmitter answers (down, or no token given)', async () => {
    const name = `tx-${crypto.randomUUID().slice(0, 8)}`;
    const create = async () => {
      const res = await admin('/v1/admin/ssf/streams', {
        method: 'POST',
        json: { transmitter: txIssuer(name), transmitterToken: TX_TOKEN, subjects: subjects(name) },
      });
      expect(res.status).toBe(201);
      return (await res.json<{ id: string; pushEndpoint: string }>()).id;
    };
    const [down, tokenless] = [await create(), await create()];
    await misbehave(name, { status: 503 });
    const a = await admin(`/v1/admin/ssf/streams/${down}`, { method: 'DELETE', json: { transmitterToken: TX_TOKEN } });
    expect(a.status).toBe(200);
    expect(await a.json()).toEqual({ id: down, deleted: true, transmitter: 'failed' });
    const b = await admin(`/v1/admin/ssf/streams/${tokenless}`, { method: 'DELETE', json: {} });
    expect(await b.json()).toEqual({ id: tokenless, deleted: true, transmitter: 'not_asked' });
    const list = await (await admin('/v1/admin/ssf/streams')).json<{ streams: { id: string }[] }>();
    expect(list.streams.map((s) => s.id)).not.toContain(down);
    expect(list.streams.map((s) => s.id)).not.toContain(tokenless);
    expect((await admin(`/v1/admin/ssf/streams/${down}`)).status).toBe(404);
  });

  it('a stored stream that no longer parses is listed as unusable, with why, and can be deleted', async () => {
    const created = await admin('/v1/admin/ssf/streams', {
      method: 'POST',
      json: {
        issuer: 'https://manual-idp.test',
        jwksUri: `${jwksBase()}/jwks/ssf-okta`,
        audience: `orphan-${crypto.randomUUID()}`,
        subjects: { iss_sub: { 'https://manual-idp.test': { issuer: 'https://inline.test' } } },
      },
    });
    const { id } = await created.json<{ id: string }>();
    // The same deployment after https://inline.test left TRUSTED_ISSUERS: the stream maps nobody right.
    const issuers = (JSON.parse(env.TRUSTED_ISSUERS) as { issuer: string }[]).filter((i) => i.issuer !== 'https://inline.test');
    const without = { ...env, TRUSTED_ISSUERS: JSON.stringify(issuers) };
    const list = await call(without, '/v1/admin/ssf/streams', { admin: true });
    expect((list.body.streams as { id: string }[]).map((s) => s.id)).not.toContain(id);
    expect(list.body.unusable).toContainEqual({ id, problem: expect.stringContaining('TRUSTED_ISSUERS') });
    expect((await call(without, `/v1/admin/ssf/streams/${id}`, { admin: true })).status).toBe(404);
    const deleted = await call(without, `/v1/admin/ssf/streams/${id}`, { method: 'DELETE', admin: true, body: '{}' });
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ id, deleted: true });
    expect((await call(without, '/v1/admin/ssf/streams', { admin: true })).body.unusable).not.toContainEqual(
      expect.objectContaining({ id }),
    );
  });

  it('discovery that names another issuer is refused before any stream is created', async () => {
    const name = `tx-${crypto.randomUUID().slice(0, 8)}`;
    await misbehave(name, { issuer: 'https://impostor.test' });
    const res = await admin('/v1/admin/ssf/streams', {
      method: 'POST',
      json: { transmitter: txIssuer(name), transmitterToken: TX_TOKEN, subjects: subjects(name) },
    });
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({ error: 'transmitter_error', error_description: expect.stringContaining('another issuer') });
    expect((await transmitter(name)).streams).toEqual([]);
  });

  it('a wrong transmitter token, a transmitter that is down, a bad subject table: clear errors, nothing stored', async () => {
    const name = `tx-${crypto.randomUUID().slice(0, 8)}`;
    const create = (json: Record<string, unknown>) => admin('/v1/admin/ssf/streams', { method: 'POST', json });
    const wrongToken = await create({ transmitter: txIssuer(name), transmitterToken: 'nope', subjects: subjects(name) });
    expect(wrongToken.status).toBe(502);
    expect((await wrongToken.json<{ error_description: string }>()).error_description).toContain('status 401');
    const badSubjects = await create({
      transmitter: txIssuer(name),
      transmitterToken: TX_TOKEN,
      subjects: { iss_sub: { [txIssuer(name)]: { issuer: 'https://untrusted.test' } } },
    });
    expect(badSubjects.status).toBe(400);
    expect(await badSubjects.json()).toMatchObject({
      error: 'invalid_request',
      error_description: expect.stringContaining('TRUSTED_ISSUERS'),
    });
    const uidClaim = await create({
      transmitter: txIssuer(name),
      transmitterToken: TX_TOKEN,
      subjects: { iss_sub: { [txIssuer(name)]: { issuer: 'https://inline.test', claim: 'uid' } } },
    });
    expect(uidClaim.status).toBe(400);
    expect(await create({ transmitter: txIssuer(name), subjects: subjects(name) })).toHaveProperty('status', 400);
    await misbehave(name, { status: 503 });
    expect((await create({ transmitter: txIssuer(name), transmitterToken: TX_TOKEN, subjects: subjects(name) })).status).toBe(502);
    expect((await transmitter(name)).streams).toEqual([]);
    const list = await (await admin('/v1/admin/ssf/streams')).json<{ streams: { issuer: string }[] }>();
    expect(list.streams.map((s) => s.issuer)).not.toContain(txIssuer(name));
  });
});

describe("manual streams (Google's stream:update) and SSF_STREAMS", () => {
  it('a manual stream gets an id and its secret once; its pushes need that secret', async () => {
    const res = await admin('/v1/admin/ssf/streams', {
      method: 'POST',
      json: {
        issuer: 'https://manual-idp.test',
        jwksUri: `${jwksBase()}/jwks/ssf-okta`,
        audience: `manual-${crypto.randomUUID()}`,
        subjects: { iss_sub: { 'https://manual-idp.test': { issuer: 'https://inline.test' } } },
      },
    });
    expect(res.status).toBe(201);
    const stream = await res.json<{ id: string; mode: string; secret: string; audience: string; pushEndpoint: string }>();
    expect(stream).toMatchObject({ mode: 'manual', secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    const sub = `manual-${crypto.randomUUID()}`;
    const set = await signSet({
      iss: 'https://manual-idp.test',
      aud: stream.audience,
      sub_id: { format: 'iss_sub', iss: 'https://manual-idp.test', sub },
      events: { [`${CAEP}session-revoked`]: {} },
    });
    const send = (secret: string) =>
      worker(stream.pushEndpoint, {
        method: 'POST',
        headers: { Authorization: `Bearer ${secret}`, 'Content-Type': 'application/secevent+jwt' },
        body: set,
      });
    expect((await send('not-the-secret')).status).toBe(401);
    expect((await send(stream.secret)).status).toBe(202);
    expect((await admin(`/v1/admin/ssf/streams/${stream.id}`, { method: 'DELETE' })).status).toBe(200);
    expect((await send(stream.secret)).status).toBe(404);
  });

  it('two concurrent creates of one audience: one stream, the other 400 (the registry checks and stores atomically)', async () => {
    const audience = `contested-${crypto.randomUUID()}`;
    const create = () =>
      admin('/v1/admin/ssf/streams', {
        method: 'POST',
        json: { issuer: 'https://manual-idp.test', jwksUri: `${jwksBase()}/jwks/ssf-okta`, audience, subjects: { iss_sub: {} } },
      });
    const answers = await Promise.all([create(), create(), create()]);
    expect(answers.map((a) => a.status).sort()).toEqual([201, 400, 400]);
    const refused = answers.find((a) => a.status === 400)!;
    expect(await refused.json()).toMatchObject({ error_description: expect.stringContaining('audience') });
    // And later, one by one, against the stored stream.
    expect((await create()).status).toBe(400);
    const list = await (await admin('/v1/admin/ssf/streams')).json<{ streams: { audience: string }[] }>();
    expect(list.streams.filter((s) => s.audience === audience)).toHaveLength(1);
  });

  it('a manual stream needs issuer, jwksUri and audience; an SSF_STREAMS stream cannot be deleted here', async () => {
    expect((await admin('/v1/admin/ssf/streams', { method: 'POST', json: { issuer: 'https://x.test' } })).status).toBe(400);
    const res = await admin('/v1/admin/ssf/streams/okta', { method: 'DELETE' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error_description: expect.stringContaining('SSF_STREAMS') });
    expect((await admin('/v1/admin/ssf/streams/no-such-stream')).status).toBe(404);
  });

  it('the stream routes are admin-only', async () => {
    for (const [method, path] of [
      ['GET', '/v1/admin/ssf/streams'],
      ['POST', '/v1/admin/ssf/streams'],
      ['GET', '/v1/admin/ssf/streams/okta/audit'],
    ]) {
      const res = await worker(`${BASE}${path}`, { method });
      expect(res.status, `${method} ${path}`).toBe(401);
    }
  });
});
