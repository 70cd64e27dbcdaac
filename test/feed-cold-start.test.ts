/**
 * A cold feed (docs/consistency.md "Leases", cold start): a replica holding no lease that gets a
 * read asks the primary for one and answers once it landed, one request however many reads wait;
 * one it cannot get is refused with a value, not an error thrown across RPC (which workerd logs
 * as an uncaught exception, one line per read). Real Durable Objects; the replica's
 * REVOCATION_FEED binding is wrapped to count or fail its requests to the primary.
 *
 * The order matters: the first test runs before anything starts the primary's heartbeat (which
 * then leases every replica every 500 ms); this file's storage is its own.
 */
import { env } from 'cloudflare:workers';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { GlobalState, UserState } from '../src/index';
import { feedPrimary, feedReplica } from '../src/feed/feed-client';
import { Mirror } from '../src/feed/mirror';
import { FEED_LEASE_ASK_MS } from '../src/feed/feed-core';
import { feedAt } from './helpers/bounded';
import { intercept, setObjectBindings, withFault } from './helpers/faults';
import { FEED_PRIMARY_NAME, feedReplicaName } from '../src/revocation/storage-keys';

/** Everything written to the console in this isolate (the Durable Objects' too) during a test. */
let output: string[] = [];
beforeEach(() => {
  output = [];
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      output.push(args.map((arg) => (arg instanceof Error ? `${arg.message}\n${arg.stack ?? ''}` : String(arg))).join(' '));
    });
  }
});
afterEach(() => vi.restoreAllMocks());

/** The feed namespace as replica `replica` sees it: its calls of `renew` on the primary go through `around`. */
function primaryCalls(around: (call: () => unknown) => unknown): Env['REVOCATION_FEED'] {
  const primary = env.REVOCATION_FEED.idFromName(FEED_PRIMARY_NAME);
  return intercept(env.REVOCATION_FEED, (method, run) => {
    const stub = run();
    if (method !== 'getByName' || !(stub as DurableObjectStub).id.equals(primary)) return stub;
    return intercept(stub as object, (name, call) => (name === 'renew' ? around(call) : call()));
  });
}

const replicaStub = (i: number) => feedReplica(env.REVOCATION_FEED, i) as unknown as DurableObjectStub<UserState | GlobalState>;

describe('a cold feed', () => {
  it('a replica that cannot reach the primary refuses with { notLeased: true }: no exception, one log line', async () => {
    await setObjectBindings(replicaStub(3), {
      REVOCATION_FEED: primaryCalls(() => Promise.reject(new Error('injected fault: primary unreachable'))),
    });
    try {
      const reads = await Promise.all(Array.from({ length: 10 }, () => feedReplica(env.REVOCATION_FEED, 3).read(0)));
      expect(reads).toEqual(Array(10).fill({ notLeased: true }));
      // A mirror whose nearest replica is that one reads the next, and counts the refusal.
      const mirror = new Mirror(1_000);
      expect(await mirror.refresh({ ...feedAt('cold-loc'), first: 3 })).toBe(true);
      expect(mirror.stats()).toMatchObject({ notLeased: 1, refreshFailures: 0 });
    } finally {
      await setObjectBindings(replicaStub(3), {});
    }
    // Said once per lease period, and nothing else: no error, no stack.
    expect(output.filter((line) => line.includes('feed_replica_not_leased'))).toHaveLength(1);
    expect(output.filter((line) => !line.includes('feed_replica_not_leased') && !line.includes('"feed_'))).toEqual([]);
    expect(output.join('\n')).not.toMatch(/error|exception/i);
  });

  it("24 concurrent reads at a cold replica ask the primary once, and all answer the feed's entries", async () => {
    let renewCalls = 0;
    await setObjectBindings(replicaStub(2), {
      REVOCATION_FEED: primaryCalls((call) => {
        renewCalls++;
        return call();
      }),
    });
    // An entry replica 2 lacks: its pushes fail meanwhile (the append waits out the lease offered to it).
    const cold = env.REVOCATION_FEED.idFromName(feedReplicaName(2));
    const primary = feedPrimary(env.REVOCATION_FEED) as unknown as DurableObjectStub<UserState | GlobalState>;
    await setObjectBindings(primary, {
      REVOCATION_FEED: intercept(env.REVOCATION_FEED, (method, run) => {
        const stub = run();
        if (method !== 'getByName' || !(stub as DurableObjectStub).id.equals(cold)) return stub;
        return withFault(stub as object, ['push'], { fault: 'reject' });
      }),
    });
    await feedPrimary(env.REVOCATION_FEED).append([{ kind: 'global', revokedBefore: 1_700_000_000 }]);
    // Its pushes answer again; the heartbeat's next one carries no lease (its last failed): the reads ask first.
    await setObjectBindings(primary, {});
    try {
      const start = Date.now();
      const reads = await Promise.all(Array.from({ length: 24 }, () => feedReplica(env.REVOCATION_FEED, 2).read(0)));
      for (const read of reads) expect(read).toMatchObject({ head: 1, floor: 0, entries: [{ seq: 1, kind: 'global' }] });
      expect(renewCalls).toBe(1);
      expect(Date.now() - start).toBeLessThan(FEED_LEASE_ASK_MS);
    } finally {
      await setObjectBindings(replicaStub(2), {});
    }
    expect(output.filter((line) => line.includes('feed_replica_not_leased'))).toEqual([]);
  });

  it('a replica answers a push with how long since its last read, over RPC (the primary stops its heartbeat on that)', async () => {
    const replica = feedReplica(env.REVOCATION_FEED, 1);
    await replica.read(0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const { idleMs } = await replica.push([], undefined, 0);
    expect(idleMs).toBeGreaterThanOrEqual(45);
    expect(idleMs).toBeLessThan(5_000);
  });
});
