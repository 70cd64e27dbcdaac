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
import { ConfigError, getConfig, parseConfig } from '../src/config/config';
import { feedCache, feedReplica } from '../src/feed/feed-client';
import { decodeSnapshot } from '../src/feed/feed-snapshot';
import { cacheBucketMs, claimBucket, failClaim, FEED_READ_TIMEOUT_MS, matchHead, putHead } from '../src/feed/mirror';
import { authenticatedCache } from '../src/feed/head-mac';
import { FEED_REPLICA_HINTS, feedCacheUrl } from '../src/revocation/storage-keys';
import { boundedEnv, replicaRead, sleep, snapshotNow } from './helpers/bounded';
import { counted, unreachable, verify, type Switch } from './helpers/faults';
import { ADMIN_KEY, BASE, FEED_KEY, FEED_KEY_ROTATED } from './helpers/fixtures';
import { mint, uniqueSub } from './helpers/tokens';

/** The route's and the mirrors' cache bucket at the test bound (boundedEnv: REVOCATION_MAX_STALENESS_MS 500). */
const CACHE_BUCKET_MS = cacheBucketMs(500);

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

  it('no replica answers: 503 temporarily_unavailable', async () => {
    const sw: Switch = { fault: 'reject' };
    const bindings = { ...boundedEnv(), REVOCATION_FEED: unreachable(env.REVOCATION_FEED, sw) } as Env;
    const res = await get(bindings, '/v1/feed?after=987654');
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: 'temporarily_unavailable', error_description: 'no feed replica answered' });
  });

  it("origins at different `after`s within one time bucket cost the feed at most one read: the location's head answers them", async () => {
    const seed = boundedEnv();
    for (let i = 0; i < 3; i++) expect((await revokeUser(seed, `feed-origins-${crypto.randomUUID()}`)).status).toBe(200);
    const { head } = await replicaRead(0, 0);
    const counts: Record<string, number> = {};
    const bindings = { ...boundedEnv(), REVOCATION_FEED: counted(env.REVOCATION_FEED, counts, 'feed') } as Env;
    await bucketStart();
    const afters = [head - 3, head - 2, head - 1, head, head - 3];
    const first = await (await get(bindings, `/v1/feed?after=${afters[0]}`)).json<Page>();
    const rest = await Promise.all(afters.slice(1).map(async (after) => (await get(bindings, `/v1/feed?after=${after}`)).json<Page>()));
    expect(counts.feed).toBeLessThanOrEqual(1);
    for (const [i, page] of [first, ...rest].entries()) {
      // Each its own entries, all the head's, with the one stamp of the one read.
      expect(page.stamp).toBe(first.stamp);
      expect(page.head).toBeGreaterThanOrEqual(head);
      expect(page.entries.map((e) => e.seq)).toEqual(first.entries.map((e) => e.seq).filter((seq) => seq > afters[i]!));
    }
  });

  it("answers from the head an isolate's mirror cached, with that head's stamp (never a younger one), reading no replica", async () => {
    const token = await mint('es256-1', { claims: { sub: uniqueSub('feed-isolate') } });
    await bucketStart();
    // A cold isolate mirror (a new bindings object: its own config) refreshes and caches the location's head.
    const isolate = boundedEnv();
    expect((await verify(isolate, token)).status).toBe(200);
    const bucket = Math.floor(Date.now() / CACHE_BUCKET_MS);
    const cache = (await feedCache(getConfig(isolate)))!;
    const found = (await matchHead(cache, [bucket, bucket - 1]))!;
    const cached = found.head;
    const counts: Record<string, number> = {};
    const bindings = { ...boundedEnv(), REVOCATION_FEED: counted(env.REVOCATION_FEED, counts, 'feed') } as Env;
    const asked = Date.now();
    const res = await get(bindings, `/v1/feed?after=${cached.from}`);
    expect(res.status).toBe(200);
    // The cached head may be the previous bucket's; a page is served only from this bucket's (or the next's).
    if (Math.floor(asked / CACHE_BUCKET_MS) === found.bucket) {
      const page = await res.json<Page>();
      expect(counts.feed).toBe(0);
      expect(page).toEqual({ stamp: cached.stamp, head: cached.head, floor: cached.floor, entries: cached.entries });
      expect(page.stamp).toBeLessThan(asked);
    }
  });

  it('a forged head (no MAC, or another key) is never served; a genuine one is', async () => {
    const { head, floor, entries, stamp } = await replicaRead(0, 0);
    const lie = { stamp: Date.now() + 200, from: 0, head: head + 1000, floor: 0, entries: [] };
    const otherKey = await crypto.subtle.importKey(
      'raw',
      new TextEncoder().encode('x'.repeat(32)),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    );
    const counts: Record<string, number> = {};
    const bindings = { ...boundedEnv(), REVOCATION_FEED: counted(env.REVOCATION_FEED, counts, 'feed') } as Env;
    for (const forge of [
      (url: string) => caches.default.put(url, new Response(JSON.stringify(lie), { headers: { 'Cache-Control': 'max-age=5' } })),
      (url: string) =>
        authenticatedCache(caches.default, otherKey).put(
          url,
          new Response(JSON.stringify(lie), { headers: { 'Cache-Control': 'max-age=5' } }),
        ),
    ]) {
      await bucketStart();
      const bucket = Math.floor(Date.now() / CACHE_BUCKET_MS);
      for (const b of [bucket, bucket + 1]) await forge(feedCacheUrl(b));
      const reads = counts.feed!;
      const page = await (await get(bindings, '/v1/feed?after=0')).json<Page>();
      expect(page.head).toBeLessThan(head + 1000);
      expect(page.stamp).toBeLessThanOrEqual(Date.now());
      expect(counts.feed).toBeGreaterThan(reads);
    }
    // The real key: served as it is, with its own (older) stamp, and no replica read.
    await bucketStart();
    const bucket = Math.floor(Date.now() / CACHE_BUCKET_MS);
    const genuine = { stamp: stamp - 300, from: 0, head, floor, entries };
    await putHead((await feedCache(getConfig(bindings)))!, bucket, genuine);
    const reads = counts.feed!;
    const page = await (await get(bindings, '/v1/feed?after=0')).json<Page>();
    expect(counts.feed).toBe(reads);
    expect(page).toEqual({ stamp: stamp - 300, head, floor, entries });
  });
  it("joins the location's claim: while another reader reads the feed it waits for that head; a failed or hung claim, it reads itself", async () => {
    const { floor } = await replicaRead(0, 0);
    const read = await replicaRead(0, floor);
    const counts: Record<string, number> = {};
    const bindings = { ...boundedEnv(), REVOCATION_FEED: counted(env.REVOCATION_FEED, counts, 'feed') } as Env;
    const cache = (await feedCache(getConfig(bindings)))!;
    await bucketStart();
    let bucket = Math.floor(Date.now() / CACHE_BUCKET_MS);
    expect(await claimBucket(cache, bucket)).toBe('ours'); // an isolate's claim
    const waiting = get(bindings, `/v1/feed?after=${floor}`);
    await sleep(60);
    await putHead(cache, bucket, { stamp: read.stamp, from: floor, head: read.head, floor: read.floor, entries: read.entries });
    expect(await (await waiting).json<Page>()).toEqual({ stamp: read.stamp, head: read.head, floor: read.floor, entries: read.entries });
    expect(counts.feed).toBe(0);

    await bucketStart();
    bucket = Math.floor(Date.now() / CACHE_BUCKET_MS);
    expect(await claimBucket(cache, bucket)).toBe('ours');
    const started = Date.now();
    const reading = get(bindings, `/v1/feed?after=${floor}`);
    await sleep(60);
    await failClaim(cache, bucket); // that isolate's feed read failed
    expect((await reading).status).toBe(200);
    expect(counts.feed).toBe(1);
    expect(Date.now() - started).toBeLessThan(FEED_READ_TIMEOUT_MS);

    // A claimer that hangs: the route reads the feed itself in time for a client's read timeout (FEED_READ_TIMEOUT_MS).
    await bucketStart();
    expect(await claimBucket(cache, Math.floor(Date.now() / CACHE_BUCKET_MS))).toBe('ours');
    const hung = Date.now();
    expect((await get(bindings, `/v1/feed?after=${floor}`)).status).toBe(200);
    expect(counts.feed).toBe(2);
    expect(Date.now() - hung).toBeLessThan(FEED_READ_TIMEOUT_MS);
  });

  // Last: it moves every replica's floor past the log the tests above read.
  it('`after` behind the floor: 410 snapshot_required, telling the client to start from the snapshot', async () => {
    const bindings = boundedEnv();
    expect((await revokeUser(bindings, `feed-floor-${crypto.randomUUID()}`)).status).toBe(200);
    const { head } = await replicaRead(0, 0);
    // Every replica starts over at the head (what a replica that lost the pruned log does).
    for (let i = 0; i < FEED_REPLICA_HINTS.length; i++) await feedReplica(env.REVOCATION_FEED, i).push([], head + 1, 0);
    await bucketStart(); // past the cached heads
    // The location's head starts after `after`: it does not serve it, the feed does.
    await putHead((await feedCache(getConfig(bindings)))!, Math.floor(Date.now() / CACHE_BUCKET_MS), {
      stamp: Date.now(),
      from: head,
      head,
      floor: 0,
      entries: [],
    });
    const res = await get(bindings, `/v1/feed?after=${head - 1}`);
    expect(res.status, await res.clone().text()).toBe(410);
    expect(await res.json()).toEqual({
      error: 'snapshot_required',
      error_description: `entries after ${head - 1} were pruned: start from GET /v1/feed/snapshot`,
      floor: head + 1,
      head: head + 1,
    });
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
