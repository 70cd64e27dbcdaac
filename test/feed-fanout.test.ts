/**
 * Issue 18 "fan-out that does not grow with isolates" (break 1): mirrors sharing one location
 * cache — standing for busy isolates of one location — read the REAL feed replicas about as often
 * with 100 of them as with one (jittered refresh points; the first to miss a time bucket claims
 * it, the others wait for its head); the replica tried first is the reader's nearest, and a
 * failing one hands over to the others at random, never to one fixed neighbour.
 */
import { describe, expect, it } from 'vitest';
import { firstReplica, nearestReplica } from '../src/feed/feed-client';
import { FEED_REPLICA_HINTS } from '../src/revocation/storage-keys';
import { location, quietLogs, sleep, type Location } from './helpers/bounded';

quietLogs();

/** `count` busy isolates of one location for `ms`: every 5 ms a few of them serve a check (freshen). */
async function busy(count: number, ms: number): Promise<{ reads: number; stale: number; locations: Location[] }> {
  const cache = `loc-busy-${count}-${crypto.randomUUID()}`;
  const locations = Array.from({ length: count }, () => location({ boundMs: 1000, delayMs: 60, cache }));
  // Cold start first (a snapshot load and one read each), then count the steady state.
  await Promise.all(locations.map((at) => at.mirror.refresh(at.feed)));
  const before = locations.reduce((n, at) => n + at.feed.reads.length, 0);
  let stale = 0;
  const until = Date.now() + ms;
  while (Date.now() < until) {
    for (let i = 0; i < Math.min(count, 5); i++) {
      const at = locations[Math.floor(Math.random() * count)]!;
      await at.mirror.freshen(at.feed, (promise) => at.background.push(promise));
      if (at.mirror.ageMs() > at.mirror.boundMs) stale++;
    }
    await sleep(5);
  }
  await Promise.all(locations.flatMap((at) => at.background));
  return { reads: locations.reduce((n, at) => n + at.feed.reads.length, 0) - before, stale, locations };
}

describe('feed reads per location', () => {
  it('stay flat from 1 to 100 busy isolates sharing one location cache, and no check finds its mirror past the bound', async () => {
    const one = await busy(1, 3_000);
    const hundred = await busy(100, 3_000);
    // One isolate refreshes every 0.3–0.6 B (+ a 60 ms read): ~5 reads in 3 s. A hundred, with the
    // cache, at most about one per 250 ms bucket; without it ~100 per refresh cycle.
    expect(one.reads).toBeGreaterThanOrEqual(3);
    expect(hundred.reads).toBeLessThanOrEqual(2 * one.reads + 6);
    expect(hundred.stale).toBe(0);
    expect(hundred.locations.reduce((n, at) => n + at.mirror.stats().cacheHits, 0)).toBeGreaterThan(50);
  }, 30_000);
});

describe('the claim of a time bucket', () => {
  it('an isolate whose feed read failed marks its claim: the next one reads the feed at once instead of waiting on it', async () => {
    const cache = `loc-failed-claim-${crypto.randomUUID()}`;
    const [a, b] = [location({ cache, drop: 1 }), location({ cache, drop: 1 })];
    // Cold mirrors load the (real) snapshot first; then both look at the same bucket.
    expect(await a.mirror.refresh(a.feed)).toBe(false); // claims the bucket, every replica fails
    const started = Date.now();
    expect(await b.mirror.refresh(b.feed)).toBe(false);
    expect(b.feed.reads.length).toBe(4); // it read the feed itself
    expect(Date.now() - started).toBeLessThan(400); // not the 700 ms a live claim is waited on
  });
});

describe('replica choice', () => {
  it("reads the replica of the reader's continent first", () => {
    const index = (hint: string) => FEED_REPLICA_HINTS.findIndex((h) => h === hint);
    expect(nearestReplica({ continent: 'EU' })).toBe(index('weur'));
    expect(nearestReplica({ continent: 'AF' })).toBe(index('weur'));
    expect(nearestReplica({ continent: 'AS' })).toBe(index('apac'));
    expect(nearestReplica({ continent: 'OC' })).toBe(index('apac'));
    expect(nearestReplica({ continent: 'NA', longitude: '-122.4' })).toBe(index('wnam'));
    expect(nearestReplica({ continent: 'NA', longitude: '-74.0' })).toBe(index('enam'));
    expect(nearestReplica({ continent: 'SA' })).toBe(index('enam'));
    expect(nearestReplica(undefined)).toBeUndefined();
  });

  it("spreads a continent's locations evenly over every replica by data centre when the bound has room for a far read; the nearest under a tight bound", () => {
    const config = { revocationMaxStalenessMs: 1000, feedClockSkewMs: 100 };
    const counts = [0, 0, 0, 0];
    // 130 European data centres (under nearest-first, all on weur).
    for (let i = 0; i < 130; i++) {
      const colo = `E${i.toString(36).toUpperCase()}`;
      const first = firstReplica({ continent: 'EU', colo }, config)!;
      expect(firstReplica({ continent: 'EU', colo }, config)).toBe(first); // every isolate of a location alike
      counts[first]!++;
    }
    for (const count of counts) expect(count).toBeGreaterThan(130 / 4 / 1.5);
    const weur = FEED_REPLICA_HINTS.findIndex((h) => h === 'weur');
    // B = 500 ms: a bucket, an ocean both ways and the skew margin do not fit: the nearest.
    expect(firstReplica({ continent: 'EU', colo: 'AMS' }, { ...config, revocationMaxStalenessMs: 500 })).toBe(weur);
    expect(firstReplica({ continent: 'EU' }, config)).toBe(weur);
    expect(firstReplica(undefined, config)).toBeUndefined();
  });

  it('a mirror reads its nearest replica; when it fails, the others take over in random order, not one fixed neighbour', async () => {
    const nearest = FEED_REPLICA_HINTS.findIndex((h) => h === 'weur');
    const seconds = new Map<number, number>();
    for (let i = 0; i < 40; i++) {
      const at = location({ cache: 'missing', drop: (replica) => replica === nearest });
      const feed = { ...at.feed, first: nearest };
      expect(await at.mirror.refresh(feed)).toBe(true);
      expect(at.feed.reads[0]).toBe(nearest);
      const second = at.feed.reads[1]!;
      seconds.set(second, (seconds.get(second) ?? 0) + 1);
    }
    // Spread over the three others (each ~13 of 40), none taking all of the failover.
    expect([...seconds.keys()].sort()).toEqual([0, 1, 2, 3].filter((i) => i !== nearest));
    for (const count of seconds.values()) expect(count).toBeLessThan(30);
  });
});
