/**
 * FeedCore's primary (src/feed/feed-core.ts) over MemoryFeedStore, its replicas real FeedCores
 * reached through a transport that records, delays or fails pushes (issue 18: replica heads
 * that survive a restart, a replica far behind catching up in one append).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FeedChange, FeedEntry } from '../src/feed/feed-change';
import { FEED_READ_MAX_ENTRIES } from '../src/feed/feed-change';
import { FeedCore, type ReplicaTransport } from '../src/feed/feed-core';
import { MemoryFeedStore } from '../src/feed/memory-feed-store';

beforeEach(() => {
  vi.spyOn(console, 'log').mockImplementation(() => {});
});
afterEach(() => {
  vi.restoreAllMocks();
});

const REPLICAS = 4;
const change = (n: number): FeedChange => ({ kind: 'token', fp: n.toString(16).padStart(16, '0'), until: 2_000_000_000 });

/** A primary over `store` and REPLICAS replica cores; `down` replicas reject pushes; every push is recorded. */
function feed(
  store = new MemoryFeedStore(),
  replicas = Array.from({ length: REPLICAS }, () => new FeedCore({ store: new MemoryFeedStore(), clock: Date.now })),
) {
  const pushes: { replica: number; entries: FeedEntry[] }[] = [];
  const down = new Set<number>();
  const transport: ReplicaTransport = {
    count: REPLICAS,
    async push(i, entries, resetTo, prunableThrough) {
      pushes.push({ replica: i, entries });
      await new Promise((resolve) => setTimeout(resolve, 5)); // a round trip: appends arrive meanwhile
      if (down.has(i)) throw new Error(`injected fault: replica ${i} unreachable`);
      return replicas[i]!.push(entries, resetTo, prunableThrough);
    },
  };
  const primary = new FeedCore({ store, clock: Date.now, replicas: transport, snapshots: { put: async () => {} } });
  return { primary, replicas, pushes, down, store, restart: () => feed(store, replicas) };
}

describe('FeedCore primary: replica heads', () => {
  it('survive a primary restart: the first push after it continues from the stored head, no probe', async () => {
    const first = feed();
    await first.primary.append([change(1), change(2)]);
    const restarted = first.restart();
    expect((await restarted.primary.append([change(3)])).replicated).toBe(true);
    expect(restarted.pushes.length).toBe(REPLICAS); // one push each, not an empty "what is your head?" first
    for (const push of restarted.pushes) expect(push.entries.map((e) => e.seq)).toEqual([3]);
  });

  it('a replica behind by several batches catches up within one append', async () => {
    const { primary, replicas, down } = feed();
    await primary.append([change(0)]);
    down.add(2);
    const behind = 3 * FEED_READ_MAX_ENTRIES + 500;
    expect((await primary.append(Array.from({ length: behind }, (_, n) => change(n + 1)))).replicated).toBe(false);
    expect(replicas[2]!.read(0).head).toBe(1);
    down.delete(2);
    const { seq, replicated } = await primary.append([change(behind + 1)]);
    expect(replicated).toBe(true);
    expect(replicas[2]!.read(0).head).toBe(seq);
  });
});
