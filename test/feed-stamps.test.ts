/**
 * Issue 18 "stamps by the feed, a stated skew margin, nothing trusted unauthenticated" (break 4):
 * a mirror ages a location's cached head from the stamp the feed replica made, less
 * FEED_CLOCK_SKEW_MS, never from the fetching isolate's clock; and a head put in the location's
 * cache by anyone without FEED_MAC_KEY (another Worker on the zone) is ignored and counted.
 */
import { describe, expect, it } from 'vitest';
import { cacheBucketMs } from '../src/feed/mirror';
import { feedCache } from '../src/feed/feed-client';
import { FEED_MAC_KEY } from './helpers/fixtures';
import { authenticatedCache, FEED_MAC_HEADER } from '../src/feed/head-mac';
import { feedCacheUrl } from '../src/revocation/storage-keys';
import { boundedEnv, checkAt, location, quietLogs, revokeToken, sleep } from './helpers/bounded';

import { mint, uniqueSub } from './helpers/tokens';

quietLogs();

describe("a location's cached feed head", () => {
  it("a fetcher whose clock runs 300 ms fast does not make its readers' data look younger", async () => {
    const shared = `loc-fast-${crypto.randomUUID()}`;
    // A long bound: the head stays usable however loaded the machine (this test is about the age).
    const fetcher = location({ boundMs: 5000, skewMs: 300, cache: shared });
    const reader = location({ boundMs: 5000, cache: shared });
    const token = await mint('es256-1', { claims: { sub: uniqueSub('fast') } });
    const fetchedAt = Date.now();
    expect(await checkAt(fetcher, token)).toBe('active');
    await sleep(350); // its head is under its own clock's time bucket, 300 ms ahead
    expect(await checkAt(reader, token)).toBe('active');
    expect(reader.mirror.stats().cacheHits).toBe(1); // the location's copy
    expect(reader.feed.reads.length).toBe(0);
    // Aged from the replica's stamp (at or after fetchedAt, on true time) less the 100 ms margin:
    // at least the 350 ms since, plus the margin. From the fetcher's clock it would look ~50 ms old.
    const margin = reader.feed.clockSkewMs;
    expect(margin).toBe(100);
    expect(reader.mirror.ageMs()).toBeGreaterThanOrEqual(350 + margin - 5);
    expect(reader.mirror.ageMs()).toBeLessThanOrEqual(Date.now() - fetchedAt + margin);
  });

  it('a head put without FEED_MAC_KEY (or with another key) is ignored and counted; the mirror reads the feed and refuses', async () => {
    const name = `loc-forged-${crypto.randomUUID()}`;
    const token = await mint('es256-1', { claims: { sub: uniqueSub('forged') } });
    expect((await revokeToken(boundedEnv(), token)).status).toBe(200);
    // "Fresh, nothing new": valid in the old format (asOf) and the new (stamp).
    // The readers' bound (so their cache time bucket): the forged heads go under theirs and its neighbours.
    const boundMs = 1000;
    const bucket = Math.floor(Date.now() / cacheBucketMs(boundMs));
    const forged = () => JSON.stringify({ asOf: Date.now(), stamp: Date.now() + 200, from: 0, head: 0, entries: [] });
    const cache = await caches.open(name);
    const otherKey = await crypto.subtle.importKey(
      'raw',
      new TextEncoder().encode('x'.repeat(32)),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign'],
    );
    for (const b of [bucket - 1, bucket, bucket + 1]) {
      await cache.put(
        feedCacheUrl(b),
        new Response(forged(), { headers: { 'Content-Type': 'application/json', 'Cache-Control': 'max-age=5' } }),
      );
    }
    const reader = location({ boundMs, cache: name });
    expect(await checkAt(reader, token)).toBe('revoked_token');
    expect(reader.mirror.stats()).toMatchObject({ forgedHeads: 1, cacheHits: 0 });
    expect(reader.feed.reads.length).toBeGreaterThan(0);

    // Signed with a key that is not FEED_MAC_KEY: the same.
    const wrong = authenticatedCache(cache, otherKey);
    for (const b of [bucket - 1, bucket, bucket + 1])
      await wrong.put(feedCacheUrl(b), new Response(forged(), { headers: { 'Cache-Control': 'max-age=5' } }));
    expect((await cache.match(feedCacheUrl(bucket)))?.headers.get(FEED_MAC_HEADER)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const second = location({ boundMs, cache: name });
    expect(await checkAt(second, token)).toBe('revoked_token');
    expect(second.mirror.stats()).toMatchObject({ forgedHeads: 1, cacheHits: 0 });
  });

  it('without FEED_MAC_KEY there is no location cache: nothing is put, nothing unauthenticated is read', async () => {
    expect(await feedCache({ feedMacKey: undefined })).toBeUndefined();
    expect(await feedCache({ feedMacKey: FEED_MAC_KEY })).toBeDefined();
  });

  it("a genuine head from the same location's cache is taken (the MAC verifies)", async () => {
    const name = `loc-genuine-${crypto.randomUUID()}`;
    const [a, b] = [location({ cache: name, boundMs: 5000 }), location({ cache: name, boundMs: 5000 })];
    const token = await mint('es256-1', { claims: { sub: uniqueSub('genuine') } });
    expect((await revokeToken(boundedEnv(), token)).status).toBe(200);
    expect(await checkAt(a, token)).toBe('revoked_token');
    expect(await checkAt(b, token)).toBe('revoked_token');
    expect(b.mirror.stats()).toMatchObject({ cacheHits: 1, forgedHeads: 0 });
    expect(b.feed.reads.length).toBe(0);
  });
});
