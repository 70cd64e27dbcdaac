/**
 * The feed primary's snapshot writer over the real Durable Object SQLite (issue 18 "Memory"):
 * expired rows are dropped before the snapshot is sized, and the rows are streamed off the
 * cursor into the binary format (its peak heap for 1,000,000 rows: scripts/snapshot-heap.mjs).
 * The object is a throwaway one of the feed's class, so the real feed is left alone.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { FeedCore } from '../src/feed/feed-core';
import { decodeSnapshot } from '../src/feed/feed-snapshot';
import { fingerprintWords } from '../src/feed/fingerprint-table';
import { SqlFeedStore } from '../src/feed/sql-feed-store';

const fp = (n: number) => n.toString(16).padStart(16, '0');

describe('the feed snapshot writer on the real Durable Object storage', () => {
  it('writes every live row once and no expired one', async () => {
    const stub = env.REVOCATION_FEED.getByName('snapshot-writer-test');
    const { snapshot, nowS } = await runInDurableObject(stub, async (_instance, state) => {
      const store = new SqlFeedStore(state.storage);
      const clock = Date.now();
      const nowS = Math.floor(clock / 1000);
      for (let i = 1; i <= 20_000; i++) {
        // One in ten a user; every fourth row expired a second ago.
        const until = i % 4 === 0 ? nowS - 1 : nowS + 300;
        if (i % 10 === 0) store.materialize({ kind: 'user', fp: fp(i), version: 2, revokedBefore: nowS - 5, until });
        else store.materialize({ kind: 'token', fp: fp(i), until });
      }
      store.setMeta(1, 0);
      let written: ArrayBuffer | undefined;
      const core = new FeedCore({ store, clock: () => clock, snapshots: { put: async (buffer) => void (written = buffer) } });
      await core.alarm();
      return { snapshot: written === undefined ? undefined : decodeSnapshot(written), nowS };
    });
    expect(snapshot).toBeDefined();
    expect(snapshot!.seq).toBe(1);
    // Rows 1..20,000: users at multiples of 10 (half of them, those at multiples of 20, expired), tokens the rest (a quarter expired).
    const live = (n: number) => n % 4 !== 0;
    const userRows = Array.from({ length: 2_000 }, (_, i) => 10 * (i + 1)).filter(live);
    const tokenRows = Array.from({ length: 20_000 }, (_, i) => i + 1).filter((n) => n % 10 !== 0 && live(n));
    expect(snapshot!.users.length / 5).toBe(userRows.length);
    expect(snapshot!.tokens.length / 3).toBe(tokenRows.length);
    const key = (words: Uint32Array, at: number) => `${words[at]}:${words[at + 1]}`;
    const tokens = new Set(Array.from({ length: tokenRows.length }, (_, i) => key(snapshot!.tokens, 3 * i)));
    for (const n of tokenRows) expect(tokens.has(fingerprintWords(fp(n)).join(':'))).toBe(true);
    for (let i = 0; i < userRows.length; i++) {
      expect(Array.from(snapshot!.users.subarray(5 * i + 2, 5 * i + 5))).toEqual([2, nowS - 5, nowS + 300]);
    }
  }, 60_000);
});
