/**
 * docs/security-events.md §6 (issue 19 item 5): a stream created through the admin API can always
 * be removed here, whatever its transmitter answers (the answer says what it said), and a stored
 * stream that is off (unusable under today's TRUSTED_ISSUERS) is listed with why and deletable.
 */
import { inject } from 'vitest';
import { describe, expect, it } from 'vitest';
import { ADMIN_KEY, BASE, ISSUERS, KEYS, trustedIssuers } from './helpers/fixtures';
import { jwksBase, publishKeys } from './helpers/jwks-server';
import { ssfAdmin as admin, worker } from './helpers/ssf';

const TX_TOKEN = 'tx-token';
const txIssuer = (name: string) => `${jwksBase()}/ssf-tx/${name}`;
const misbehave = (name: string, how: Record<string, unknown>) =>
  fetch(`${jwksBase()}/__control/ssf-tx?name=${name}`, { method: 'POST', body: JSON.stringify(how) });
const txStreams = async (name: string) =>
  (await (await fetch(`${jwksBase()}/__control/ssf-tx?name=${name}`)).json<{ streams: { stream_id: string }[] }>()).streams;

async function managedStream(): Promise<{ name: string; id: string; pushEndpoint: string }> {
  const name = `tx-${crypto.randomUUID().slice(0, 8)}`;
  await publishKeys(`/jwks/ssf-tx-${name}`, [KEYS['rs256-1'].public]);
  const created = await admin('/v1/admin/ssf/streams', {
    method: 'POST',
    json: {
      transmitter: txIssuer(name),
      transmitterToken: TX_TOKEN,
      subjects: { iss_sub: { [txIssuer(name)]: { issuer: ISSUERS.inline } } },
    },
  });
  expect(created.status).toBe(201);
  return { name, ...(await created.json<{ id: string; pushEndpoint: string }>()) };
}

const listed = async (bindings: Record<string, unknown> = {}) =>
  (await worker(`${BASE}/v1/admin/ssf/streams`, { headers: { Authorization: `Bearer ${ADMIN_KEY}` } }, bindings)).json<{
    streams: { id: string }[];
    unusable: { id: string; why: string }[];
  }>();

describe('a managed stream is removed here whatever its transmitter answers', () => {
  it('a transmitter that is down: 200, deleted here, the answer says what the transmitter said', async () => {
    const { name, id, pushEndpoint } = await managedStream();
    await misbehave(name, { status: 503 });
    const res = await admin(`/v1/admin/ssf/streams/${id}`, { method: 'DELETE', json: { transmitterToken: TX_TOKEN } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id, deleted: true, transmitter: expect.stringMatching(/^not deleted: .*status 503$/) });
    expect((await listed()).streams.map((s) => s.id)).not.toContain(id);
    expect((await worker(pushEndpoint, { method: 'POST', body: 'x' })).status).toBe(404);
  });

  it('a refused transmitter token, or none: deleted here; with a good token the transmitter deletes too', async () => {
    const refused = await managedStream();
    const wrong = await admin(`/v1/admin/ssf/streams/${refused.id}`, { method: 'DELETE', json: { transmitterToken: 'nope' } });
    expect(await wrong.json()).toEqual({ id: refused.id, deleted: true, transmitter: expect.stringContaining('status 401') });
    expect(await txStreams(refused.name)).toHaveLength(1); // still there: the transmitter refused

    const none = await managedStream();
    const res = await admin(`/v1/admin/ssf/streams/${none.id}`, { method: 'DELETE', json: {} });
    expect(await res.json()).toEqual({ id: none.id, deleted: true, transmitter: 'not asked: no transmitterToken' });

    const good = await managedStream();
    const ok = await admin(`/v1/admin/ssf/streams/${good.id}`, { method: 'DELETE', json: { transmitterToken: TX_TOKEN } });
    expect(await ok.json()).toEqual({ id: good.id, deleted: true, transmitter: 'deleted' });
    expect(await txStreams(good.name)).toEqual([]);
    const ids = (await listed()).streams.map((s) => s.id);
    for (const s of [refused, none, good]) expect(ids).not.toContain(s.id);
  });
});

describe('a stored stream that is off', () => {
  it('is listed with why instead of hidden, and deleted instead of 404', async () => {
    const created = await admin('/v1/admin/ssf/streams', {
      method: 'POST',
      json: {
        issuer: 'https://off-idp.test',
        jwksUri: `${jwksBase()}/jwks/ssf-okta`,
        audience: `off-${crypto.randomUUID()}`,
        subjects: { iss_sub: { 'https://off-idp.test': { issuer: ISSUERS.remote } } },
      },
    });
    expect(created.status).toBe(201);
    const { id } = await created.json<{ id: string }>();
    // The issuer it maps to left TRUSTED_ISSUERS: the stream maps nobody right, so it is off.
    const withoutRemote = {
      TRUSTED_ISSUERS: JSON.stringify(trustedIssuers(inject('jwksPort')).filter((i) => i.issuer !== ISSUERS.remote)),
    };
    const list = await listed(withoutRemote);
    expect(list.streams.map((s) => s.id)).not.toContain(id);
    expect(list.unusable).toContainEqual({ id, why: expect.stringContaining('TRUSTED_ISSUERS') });

    const del = await worker(
      `${BASE}/v1/admin/ssf/streams/${id}`,
      { method: 'DELETE', headers: { Authorization: `Bearer ${ADMIN_KEY}` } },
      withoutRemote,
    );
    expect(del.status).toBe(200);
    expect(await del.json()).toEqual({ id, deleted: true, transmitter: 'not asked: the stream is unusable' });
    expect((await listed(withoutRemote)).unusable.map((s) => s.id)).not.toContain(id);
    expect((await listed()).streams.map((s) => s.id)).not.toContain(id);
    expect((await admin('/v1/admin/ssf/streams/no-such-stream', { method: 'DELETE' })).status).toBe(404);
  });
});
