/**
 * The mirror's memory is bounded by the live set (issue 18 "Memory that stays bounded by the
 * live set"): a table rebuild drops the expired entries before it is sized, and the cap
 * (Mirror's maxEntries, MIRROR_MAX_ENTRIES in the Worker) counts unexpired entries only, in the
 * feed's changes and in a snapshot alike. Hours pass on an injected clock; the feed is an
 * in-test FeedAccess that serves, in order, the changes appended since the mirror's last read
 * (what a replica answers), so that three simulated hours of churn run in seconds.
 */
import { describe, expect, it } from 'vitest';
import type { FeedChange, FeedEntry } from '../src/feed/feed-change';
import { encodeSnapshot } from '../src/feed/feed-snapshot';
import { FingerprintTable, fingerprintWords } from '../src/feed/fingerprint-table';
import { Mirror, type FeedAccess } from '../src/feed/mirror';

const fp = (n: number) => n.toString(16).padStart(16, '0');

/** A feed of `perSecond` revocations a second (one in ten a user's), each live for `lifetimeS`. */
class Churn {
  private seq = 0;
  private unread: FeedEntry[] = [];
  private next = 1;
  snapshot: ArrayBuffer | null = null;

  constructor(
    private readonly perSecond: number,
    private readonly lifetimeS: number,
  ) {}

  /** One simulated second's revocations, made at `nowS`. */
  second(nowS: number): void {
    this.stampMs = (nowS + 1) * 1000; // the replica's clock as the simulated second ends
    for (let i = 0; i < this.perSecond; i++, this.next++) {
      const until = nowS + this.lifetimeS;
      const change: FeedChange =
        this.next % 10 === 0
          ? { kind: 'user', fp: fp(this.next), version: 1, revokedBefore: nowS, until }
          : { kind: 'token', fp: fp(this.next), until };
      this.unread.push({ ...change, seq: ++this.seq });
    }
  }

  /** The replica's clock when it answers (FeedRead.stamp). */
  stampMs = 0;

  readonly access: FeedAccess = {
    replicas: 1,
    clockSkewMs: 0,
    read: (_replica, after) => {
      this.unread = this.unread.filter((entry) => entry.seq > after);
      return Promise.resolve({ head: this.seq, floor: 0, entries: this.unread.slice(0, 1000), stamp: this.stampMs });
    },
    snapshot: () => Promise.resolve(this.snapshot),
    cache: () => Promise.resolve(undefined),
  };

  /** The token fingerprint revoked `agoS` seconds before the last second (index 1 of that second). */
  recentToken(agoS: number): readonly [number, number] {
    return fingerprintWords(fp(this.next - (agoS + 1) * this.perSecond + 1));
  }
}

/** Runs `hours` of churn through a mirror; returns the largest table footprint and entry count seen after the first 10 minutes. */
async function churn(mirror: Mirror, feed: Churn, clock: { ms: number }, hours: number) {
  let maxBytes = 0;
  let maxEntries = 0;
  for (let s = 0; s < hours * 3600; s++) {
    feed.second(Math.floor(clock.ms / 1000));
    clock.ms += 1000;
    expect(await mirror.refresh(feed.access)).toBe(true);
    const stats = mirror.stats();
    expect(stats.overCap, `over the cap after ${s} s with ${stats.users + stats.tokens} entries`).toBe(false);
    if (s >= 600) {
      maxBytes = Math.max(maxBytes, stats.tableBytes);
      maxEntries = Math.max(maxEntries, stats.users + stats.tokens);
    }
    if (s % 600 === 599) {
      // Live entries are found; one expired a second ago is not.
      const nowS = Math.floor(clock.ms / 1000);
      const [hi, lo] = feed.recentToken(10);
      expect(mirror.answer([0, 0, hi, lo, 0, 1], nowS)).toMatchObject({ kind: 'fresh', state: { tokenRevoked: true } });
      const [oldHi, oldLo] = feed.recentToken(301);
      expect(mirror.answer([0, 0, oldHi, oldLo, 0, 1], nowS)).toMatchObject({ kind: 'fresh', state: { tokenRevoked: false } });
    }
  }
  return { maxBytes, maxEntries };
}

describe('mirror memory bounded by the live set', () => {
  it('300 revocations/s of 5-minute tokens for 3 simulated hours: ~90k live, the tables stop growing, never over the cap', async () => {
    const clock = { ms: Date.UTC(2026, 0, 1) };
    const mirror = new Mirror(1000, () => clock.ms);
    const { maxBytes, maxEntries } = await churn(mirror, new Churn(300, 300), clock, 3);
    // 90,000 live; between two rebuilds the expired ones wait for the next: at most a table's half.
    expect(maxEntries).toBeLessThanOrEqual(300_000);
    // Sized from the live set (users 9,000 and tokens 81,000 live): a rebuild sizes a table for
    // 1.125 × its live entries, within slotsFor(2 × live). Before, the tables doubled at every rebuild.
    const bound = FingerprintTable.bytesFor(2 * 9_000, 3) + FingerprintTable.bytesFor(2 * 81_000, 1);
    expect(maxBytes).toBeLessThanOrEqual(bound);
    console.error(`mirror-memory churn ${JSON.stringify({ maxEntries, maxBytes, bound })}`);
  }, 120_000);

  it('a cap just over the live set is never reached by expired entries (origin client: maxEntries)', async () => {
    const clock = { ms: Date.UTC(2026, 0, 1) };
    // 200/s for 5 minutes: 60,000 live; the cap at 70,000.
    const mirror = new Mirror(1000, () => clock.ms, 70_000);
    await churn(mirror, new Churn(200, 300), clock, 0.5);
  }, 60_000);

  it('a live set over the cap still turns the mirror over_cap', async () => {
    const clock = { ms: Date.UTC(2026, 0, 1) };
    const mirror = new Mirror(1000, () => clock.ms, 10_000);
    const feed = new Churn(200, 300);
    for (let s = 0; s < 60; s++) {
      feed.second(Math.floor(clock.ms / 1000));
      clock.ms += 1000;
      await mirror.refresh(feed.access);
    }
    expect(mirror.stats().overCap).toBe(true);
    expect(mirror.answer([0, 0, 0, 0, 0, 1], Math.floor(clock.ms / 1000))).toMatchObject({ kind: 'over_cap' });
  });

  it('an empty mirror is small (thousands of isolates each build one), and its tables double as entries come', async () => {
    const clock = { ms: Date.UTC(2026, 0, 1) };
    const mirror = new Mirror(1000, () => clock.ms);
    expect(mirror.stats().tableBytes).toBeLessThanOrEqual(1024);
    const feed = new Churn(100, 300);
    for (let s = 0; s < 10; s++) {
      feed.second(Math.floor(clock.ms / 1000));
      clock.ms += 1000;
      expect(await mirror.refresh(feed.access)).toBe(true);
    }
    // 1,000 live entries (100 users, 900 tokens): tables sized for them, as a snapshot load would.
    expect(mirror.stats()).toMatchObject({ users: 100, tokens: 900 });
    expect(mirror.stats().tableBytes).toBeLessThanOrEqual(FingerprintTable.bytesFor(2 * 100, 3) + FingerprintTable.bytesFor(2 * 900, 1));
  });

  it("a snapshot's expired rows are neither counted against the cap nor loaded", async () => {
    const clock = { ms: Date.UTC(2026, 0, 1) };
    const nowS = Math.floor(clock.ms / 1000);
    // 9,000 rows, 6,000 of them expired (a snapshot written a while ago): 3,000 live under a cap of 5,000.
    const tokens = Array.from({ length: 9_000 }, (_, i) => ({ fp: fp(i + 1), until: i < 6_000 ? nowS - 1 : nowS + 300 }));
    const feed = new Churn(0, 300);
    feed.snapshot = encodeSnapshot({ seq: 0, writtenAt: clock.ms, globalRevokedBefore: 0, users: [], tokens });
    feed.stampMs = clock.ms;
    const mirror = new Mirror(1000, () => clock.ms, 5_000);
    expect(await mirror.refresh(feed.access)).toBe(true);
    const stats = mirror.stats();
    expect(stats.overCap).toBe(false);
    expect(stats.tokens).toBe(3_000);
    expect(stats.tableBytes).toBe(FingerprintTable.bytesFor(0, 3) + FingerprintTable.bytesFor(3_000, 1));
    const [hi, lo] = fingerprintWords(fp(9_000));
    expect(mirror.answer([0, 0, hi, lo, 0, 1], nowS)).toMatchObject({ kind: 'fresh', state: { tokenRevoked: true } });
  });
});
