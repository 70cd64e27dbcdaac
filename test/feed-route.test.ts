/**
 * GET /v1/feed and /v1/feed/snapshot (docs/reference.md §9): what mirrors outside the edge read,
 * behind FEED_API_KEYS. Each answer: the page with the edge's stamp, 400 for a bad `after`, the
 * one 401 (missing, wrong, admin key, no keys configured), 410 behind the floor, 503 without a
 * replica, and the location's cache in front of the feed.
 */
import { env } from 'cloudflare:workers';
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { app } from '../src/app';
import { ConfigError, parseConfig } from '../src/config/config';
import { feedReplica } from '../src/feed/feed-client';
import { decodeSnapshot } from '../src/feed/feed-snapshot';
import { CACHE_BUCKET_MS } from '../src/feed/mirror';
import { FEED_REPLICA_HINTS } from '../src/revocation/storage-keys';
import { boundedEnv, sleep, snapshotNow } from './helpers/bounded';
import { counted, unreachable, type Switch } from './helpers/faults';
import { ADMIN_KEY, BASE, FEED_KEY, FEED_KEY_ROTATED } from './helpers/fixtures';

async function get(bindings: Env, path: string, key: string | null = FEED_KEY): Promise<Response> {
  const headers: Record<string, string> = key === null ? {} : { Authorization: `Bearer ${key}` };
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`${BASE}${path}`, { headers }), bindings, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

const revokeUser = (bindings: Env, sub: string) =>
  app.fetch(
    new Request(`${BASE}/v1/admin/users/revoke`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ sub }),
    }),
    bindings,
    createExecutionContext(),
  );

/** Just after a cache bucket starts, so a few requests fall into one bucket. */
const bucketStart = () => sleep(CACHE_BUCKET_MS - (Date.now() % CACHE_BUCKET_MS) + 5);

interface Page {
  stamp: number;
  head: number;
  floor: number;
  entries: { seq: number; kind: string }[];
}

describe('GET /v1/feed', () => {
  it('answers the entries after `after` with the stamp taken before the feed read', async () => {
    const bindings = boundedEnv();
    expect((await revokeUser(bindings, `feed-route-${crypto.randomUUID()}`)).status).toBe(200);
    const before = Date.now();
    const res = await get(bindings, '/v1/feed?after=0');
    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const page = await res.json<Page>();
    expect(page.head).toBeGreaterThanOrEqual(1);
    expect(page.entries[0]).toMatchObject({ seq: 1, kind: 'user' });
    expect(page.entries.at(-1)!.seq).toBe(page.head);
    expect(page.stamp).toBeGreaterThanOrEqual(before - CACHE_BUCKET_MS);
    expect(page.stamp).toBeLessThanOrEqual(Date.now());
    const after = await (await get(bindings, `/v1/feed?after=${page.head}`)).json<Page>();
    expect(after.entries).toEqual([]);
  });

  it('a bad `after` is 400 invalid_request naming the field', async () => {
    for (const query of ['', '?after=', '?after=x', '?after=-1', '?after=1.5', '?after=1e3', `?after=${'9'.repeat(16)}`]) {
      const res = await get(env, `/v1/feed${query}`);
      expect(res.status, query).toBe(400);
      expect(await res.json(), query).toMatchObject({ error: 'invalid_request', error_description: expect.stringMatching(/^"after" /) });
    }
  });

  it('one 401, byte for byte, for a missing key, a wrong key and an admin key; both rotated keys are admitted', async () => {
    const answers = await Promise.all(
      [null, 'wrong-feed-key-0123456789', ADMIN_KEY, `${FEED_KEY}x`].map(async (key) => {
        const res = await get(env, '/v1/feed?after=0', key);
        return { status: res.status, challenge: res.headers.get('WWW-Authenticate'), body: await res.text() };
      }),
    );
    expect(answers[0]).toEqual({ status: 401, challenge: 'Bearer realm="killswitch-feed"', body: '{"error":"unauthorized"}' });
    for (const answer of answers) expect(answer).toEqual(answers[0]);
    expect((await get(env, '/v1/feed?after=0', FEED_KEY)).status).toBe(200);
    expect((await get(env, '/v1/feed?after=0', FEED_KEY_ROTATED)).status).toBe(200);
    // A feed key is no admin key either.
    expect((await get(env, '/v1/admin/stats', FEED_KEY)).status).toBe(401);
  });

  it('FEED_API_KEYS unset or empty admits nobody; one that is also an admin key is a configuration error', async () => {
    for (const keys of [undefined, '', ' , ']) {
      const bindings = { ...env, FEED_API_KEYS: keys } as Env;
      expect((await get(bindings, '/v1/feed?after=0')).status).toBe(401);
      expect((await get(bindings, '/v1/feed/snapshot')).status).toBe(401);
    }
    expect(() => parseConfig({ ...env, FEED_API_KEYS: `${FEED_KEY},${ADMIN_KEY}` })).toThrow(ConfigError);
    expect(() => parseConfig({ ...env, FEED_API_KEYS: 'short' })).toThrow(/FEED_API_KEYS/);
  });

  it('`after` behind the floor: 410 snapshot_required, telling the client to start from the snapshot', async () => {
    const bindings = boundedEnv();
    expect((await revokeUser(bindings, `feed-floor-${crypto.randomUUID()}`)).status).toBe(200);
    const { head } = await feedReplica(env.REVOCATION_FEED, 0).read(0);
    // Every replica starts over at the head (what a replica that lost the pruned log does).
    for (let i = 0; i < FEED_REPLICA_HINTS.length; i++) await feedReplica(env.REVOCATION_FEED, i).push([], head + 1, 0);
    await sleep(CACHE_BUCKET_MS); // past the cached page
    const res = await get(bindings, `/v1/feed?after=${head - 1}`);
    expect(res.status, await res.clone().text()).toBe(410);
    expect(await res.json()).toEqual({
      error: 'snapshot_required',
      error_description: `entries after ${head - 1} were pruned: start from GET /v1/feed/snapshot`,
      floor: head + 1,
      head: head + 1,
    });
  });

  it('no replica answers: 503 temporarily_unavailable', async () => {
    const sw: Switch = { fault: 'reject' };
    const bindings = { ...boundedEnv(), REVOCATION_FEED: unreachable(env.REVOCATION_FEED, sw) } as Env;
    const res = await get(bindings, '/v1/feed?after=987654');
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: 'temporarily_unavailable', error_description: 'no feed replica answered' });
  });

  it('a location reads the feed once per `after` per time bucket: the rest come from its cache, with the same stamp', async () => {
    const counts: Record<string, number> = {};
    const bindings = { ...boundedEnv(), REVOCATION_FEED: counted(env.REVOCATION_FEED, counts, 'feed') } as Env;
    await bucketStart();
    const pages = [];
    for (let i = 0; i < 5; i++) pages.push(await (await get(bindings, `/v1/feed?after=0&n=${i}`)).text());
    const stamps = new Set(pages.map((p) => (JSON.parse(p) as Page).stamp));
    expect(stamps.size).toBe(1);
    expect(counts.feed).toBe(1);
    // Another `after` is another read.
    await get(bindings, '/v1/feed?after=1');
    expect(counts.feed).toBeGreaterThan(1);
  });
});

describe('GET /v1/feed/snapshot', () => {
  it('204 before any snapshot, then the binary snapshot the feed wrote', async () => {
    const bindings = boundedEnv();
    expect((await get(bindings, '/v1/feed/snapshot', null)).status).toBe(401);
    await env.REVOCATIONS.delete('feed-snapshot');
    expect((await get(bindings, '/v1/feed/snapshot')).status).toBe(204);
    expect((await revokeUser(bindings, `feed-snap-${crypto.randomUUID()}`)).status).toBe(200);
    await snapshotNow(1);
    const res = await get(bindings, '/v1/feed/snapshot');
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toBe('application/octet-stream');
    const snapshot = decodeSnapshot(await res.arrayBuffer());
    expect(snapshot?.seq).toBeGreaterThanOrEqual(1);
    expect(snapshot!.users.length).toBeGreaterThan(0);
  });
});
