/**
 * FeedCore's primary (src/feed/feed-core.ts) over MemoryFeedStore, its replicas real FeedCores
 * reached through a transport that records, delays, fails or stalls pushes (issue 18: replica
 * heads that survive a restart, a replica far behind catching up in one append, leases, the
 * heartbeat stopping when nobody reads).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FEED_READ_MAX_ENTRIES, type FeedChange, type FeedEntry } from '../src/feed/feed-change';
import {
  FEED_IDLE_MS,
  FEED_LEASE_ASK_MS,
  FEED_LEASE_RENEW_MS,
  FEED_PUSH_SLOW_MS,
  FEED_SNAPSHOT_INTERVAL_MS,
  FeedCore,
  type ReplicaTransport,
} from '../src/feed/feed-core';
import { MemoryFeedStore } from '../src/feed/memory-feed-store';

const logged: string[] = [];
/** The injected clock of every core: real time plus what a test skips (the idle heartbeat's minutes). */
let skipped = 0;
const now = () => Date.now() + skipped;
beforeEach(() => {
  skipped = 0;
  logged.length = 0;
  vi.spyOn(console, 'log').mockImplementation((line: unknown) => void logged.push(String(line)));
});
afterEach(() => {
  vi.restoreAllMocks();
});

const REPLICAS = 4;
/** Short leases, so a test waits for them in real time. */
const LEASE_MS = 300;
const SKEW_MS = 100;
const change = (n: number): FeedChange => ({ kind: 'token', fp: n.toString(16).padStart(16, '0'), until: 2_000_000_000 });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Replica {
  readonly core: FeedCore;
  readonly store: MemoryFeedStore;
  /** This replica's clock minus the primary's. */
  skew: number;
  /** Its requests for a lease, and what answers them (none by default: a test wires the primary's `renew`). */
  asks: number;
  ask: () => Promise<void>;
}

function replicaSet(leaseMs: number): Replica[] {
  return Array.from({ length: REPLICAS }, () => {
    const store = new MemoryFeedStore();
    const replica: Replica = {
      store,
      skew: 0,
      asks: 0,
      ask: async () => {},
      core: new FeedCore({
        store,
        clock: () => now() + replica.skew,
        leaseMs,
        clockSkewMs: SKEW_MS,
        primary: {
          lease: () => {
            replica.asks++;
            return replica.ask();
          },
        },
      }),
    };
    return replica;
  });
}

/**
 * A primary over `store` and REPLICAS replica cores; `down` replicas reject pushes, `stalled`
 * ones never answer; every push is recorded.
 */
function feed(store = new MemoryFeedStore(), leaseMs = LEASE_MS, replicas = replicaSet(leaseMs)) {
  const pushes: { replica: number; entries: FeedEntry[]; leased: boolean }[] = [];
  const down = new Set<number>();
  const stalled = new Set<number>();
  const transport: ReplicaTransport = {
    count: REPLICAS,
    async push(i, entries, resetTo, prunableThrough, lease) {
      pushes.push({ replica: i, entries, leased: lease !== undefined });
      await sleep(5); // a round trip: appends arrive meanwhile
      if (stalled.has(i)) return new Promise<never>(() => undefined);
      if (down.has(i)) throw new Error(`injected fault: replica ${i} unreachable`);
      return replicas[i]!.core.push(entries, resetTo, prunableThrough, lease);
    },
  };
  const primary = new FeedCore({ store, clock: now, leaseMs, replicas: transport, snapshots: { put: async () => {} } });
  return { primary, replicas, pushes, down, stalled, store, restart: () => feed(store, leaseMs, replicas) };
}

/** The head replica `r` answers a read with; undefined when it refuses ({ notLeased: true }). */
async function headOf(replica: Replica): Promise<number | undefined> {
  const read = await replica.core.read(0);
  return 'notLeased' in read ? undefined : read.head;
}

/** Appends one change; its answer and how long it took. */
async function timedAppend(primary: FeedCore, n: number) {
  const start = Date.now();
  const answer = await primary.append([change(n)]);
  return { ...answer, at: Date.now(), ms: Date.now() - start };
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

  it('a replica behind by several batches catches up from the pushes of one append (which waits only for leased replicas)', async () => {
    const { primary, replicas, down } = feed();
    await primary.append([change(0)]);
    down.add(2);
    const behind = 3 * FEED_READ_MAX_ENTRIES + 500;
    // Acknowledged once replica 2's lease has expired: it refuses reads from then on.
    expect((await primary.append(Array.from({ length: behind }, (_, n) => change(n + 1)))).replicated).toBe(true);
    expect(replicas[2]!.store.meta().head).toBe(1);
    expect(await replicas[2]!.core.read(0)).toEqual({ notLeased: true });
    down.delete(2);
    const { seq, replicated } = await primary.append([change(behind + 1)]);
    expect(replicated).toBe(true);
    // Its pushes go on after the ack; the last one brings it to the head, with a lease.
    await vi.waitFor(async () => expect(await headOf(replicas[2]!)).toBe(seq));
  });
});

describe('FeedCore leases (docs/consistency.md "Leases")', () => {
  it('an ack waits for a leased replica that stopped answering until its lease expires, not past it', async () => {
    const { primary, store, stalled } = feed();
    expect((await timedAppend(primary, 1)).replicated).toBe(true);
    stalled.add(0);
    const { replicated, at } = await timedAppend(primary, 2);
    expect(replicated).toBe(true);
    const deadline = store.replicaLease(0);
    expect(at).toBeGreaterThanOrEqual(deadline);
    expect(at - deadline).toBeLessThan(100);
  });

  it('an unleased replica does not delay acks: none is offered to one whose last push failed or that is slow', async () => {
    const { primary, store, down, stalled, pushes } = feed();
    await primary.append([change(1)]);
    down.add(0);
    expect((await timedAppend(primary, 2)).replicated).toBe(true); // waited for the lease replica 0 held
    const lease = store.replicaLease(0);
    pushes.length = 0;
    const fast = await timedAppend(primary, 3);
    expect(fast).toMatchObject({ replicated: true });
    expect(fast.ms).toBeLessThan(LEASE_MS / 2);
    expect(pushes.filter((p) => p.replica === 0)).toMatchObject([{ leased: false }]);
    expect(store.replicaLease(0)).toBe(lease);

    // A lease-less push that succeeds makes it eligible again.
    down.delete(0);
    await primary.append([change(4)]);
    pushes.length = 0;
    await primary.append([change(5)]);
    expect(pushes.filter((p) => p.replica === 0)).toMatchObject([{ leased: true }]);

    // A push outstanding past FEED_PUSH_SLOW_MS: the next pushes carry no lease.
    stalled.add(1);
    await primary.append([change(6)]);
    await sleep(FEED_PUSH_SLOW_MS + 50);
    const slowLease = store.replicaLease(1);
    pushes.length = 0;
    const unwaited = await timedAppend(primary, 7);
    expect(unwaited.ms).toBeLessThan(LEASE_MS / 2);
    expect(pushes.filter((p) => p.replica === 1)).toMatchObject([{ leased: false }]);
    expect(store.replicaLease(1)).toBe(slowLease);
  });

  it('a replica past its lease (less the skew margin) refuses reads, says so once and asks the primary', async () => {
    const { primary, replicas, store } = feed();
    await primary.append([change(1)]);
    const replica = replicas[3]!;
    const deadline = store.replicaLease(3);
    expect(replica.store.lease()).toBe(deadline);
    replica.skew = deadline - SKEW_MS - Date.now() - 1; // its clock just inside the margin
    expect(await headOf(replica)).toBe(1);
    replica.skew += 1;
    // A value, not an error: thrown across RPC, workerd logs it as an uncaught exception per read.
    expect(await replica.core.read(0)).toEqual({ notLeased: true });
    expect(await replica.core.read(0)).toEqual({ notLeased: true });
    expect(replica.asks).toBe(1);
    const said = logged.filter((line) => line.includes('feed_replica_not_leased'));
    expect(said.length).toBe(1);
  });

  it('a cold replica asks the primary once for concurrent reads, and they answer after its pushes (one round trip)', async () => {
    const { primary, replicas, store, pushes, down } = feed();
    replicas.forEach((replica, i) => (replica.ask = () => primary.renew(i)));
    // Entries no replica got (every push failed: no lease offered, so the append waits for none).
    for (let i = 0; i < REPLICAS; i++) down.add(i);
    const behind = 2 * FEED_READ_MAX_ENTRIES + 500;
    await primary.append(Array.from({ length: behind }, (_, n) => change(n)));
    await sleep(20); // its pushes, not waited for, have failed
    down.clear();
    store.alarmAt = null; // an idle feed: the heartbeat off
    pushes.length = 0;
    const reads = await Promise.all(Array.from({ length: 24 }, () => headOf(replicas[1]!)));
    expect(reads).toEqual(Array(24).fill(behind));
    expect(replicas[1]!.asks).toBe(1);
    // Three batches, the last with the lease (recorded by the primary before it was sent); the heartbeat on again.
    expect(pushes.map((p) => [p.replica, p.leased])).toEqual([
      [1, false],
      [1, false],
      [1, true],
    ]);
    expect(replicas[1]!.store.lease()).toBe(store.replicaLease(1));
    expect(store.alarmAt).not.toBeNull();
  });

  it('renew resolves, not rejects, when the replica cannot be pushed (a rejection crossing RPC is logged by workerd)', async () => {
    const { primary, down } = feed();
    down.add(1);
    await expect(primary.renew(1)).resolves.toBeUndefined();
    expect(logged.filter((line) => line.includes('feed_push_failed'))).toHaveLength(1);
  });

  it('a replica whose request for a lease goes unanswered refuses after FEED_LEASE_ASK_MS, logs once, asks again later', async () => {
    const replica = replicaSet(LEASE_MS)[0]!;
    replica.ask = () => new Promise<never>(() => undefined);
    const start = Date.now();
    const refused = await Promise.all(Array.from({ length: 5 }, () => replica.core.read(0)));
    expect(refused).toEqual(Array(5).fill({ notLeased: true }));
    expect(Date.now() - start).toBeGreaterThanOrEqual(FEED_LEASE_ASK_MS - 5);
    expect(Date.now() - start).toBeLessThan(FEED_LEASE_ASK_MS + 100);
    expect(replica.asks).toBe(1);
    expect(await replica.core.read(0)).toEqual({ notLeased: true }); // at once: the last request is recent
    expect(replica.asks).toBe(1);
    await sleep(FEED_LEASE_RENEW_MS);
    replica.ask = async () => {};
    await replica.core.read(0);
    expect(replica.asks).toBe(2);
    expect(logged.filter((line) => line.includes('feed_replica_not_leased')).length).toBe(1);
  });

  it('a replica takes a lease only when it holds the log through the head it was offered with', async () => {
    const replica = replicaSet(LEASE_MS)[0]!;
    const until = Date.now() + 10_000;
    replica.core.push([{ ...change(1), seq: 1 }], undefined, 0, { until, through: 2 });
    expect(replica.store.lease()).toBe(0);
    expect(await headOf(replica)).toBeUndefined();
    replica.core.push([{ ...change(2), seq: 2 }], undefined, 0, { until, through: 2 });
    expect(replica.store.lease()).toBe(until);
    expect(await headOf(replica)).toBe(2);
  });

  it('a primary restart keeps honouring outstanding leases (stored before they were sent)', async () => {
    const store = new MemoryFeedStore();
    const first = feed(store, 1_000);
    await first.primary.append([change(1)]);
    const deadline = store.replicaLease(2);
    // The restarted primary offers 1 ms leases: only the stored one can make its ack wait.
    const restarted = feed(store, 1, first.replicas);
    restarted.stalled.add(2);
    const { replicated, at } = await timedAppend(restarted.primary, 2);
    expect(replicated).toBe(true);
    expect(at).toBeGreaterThanOrEqual(deadline);
  });

  it('the heartbeat renews every lease without appends, every FEED_LEASE_RENEW_MS, and a replica stays readable', async () => {
    const { primary, replicas, store, pushes } = feed(new MemoryFeedStore(), 1_000);
    await primary.wake();
    expect(store.alarmAt).not.toBeNull();
    let renewals = 0;
    for (const end = Date.now() + 1_500; Date.now() < end; await sleep(20)) {
      if (store.alarmAt !== null && store.alarmAt <= Date.now()) {
        const before = Date.now();
        const alarm = primary.alarm();
        const after = Date.now();
        await alarm;
        renewals++;
        expect(store.alarmAt).toBeGreaterThanOrEqual(before + FEED_LEASE_RENEW_MS);
        expect(store.alarmAt).toBeLessThanOrEqual(after + FEED_LEASE_RENEW_MS);
      }
      for (const replica of replicas) expect(await headOf(replica)).toBe(0);
    }
    expect(renewals).toBeGreaterThanOrEqual(2);
    expect(pushes.every((p) => p.leased && p.entries.length === 0)).toBe(true);
  });
});

describe('FeedCore heartbeat: it stops when nobody reads (docs/consistency.md "Leases", Cost)', () => {
  /** Fires the primary's alarm as the runtime does (it is cleared first). */
  async function fire(primary: FeedCore, store: MemoryFeedStore): Promise<void> {
    store.alarmAt = null;
    await primary.alarm();
  }
  /** How far ahead the primary's alarm is (null: none). */
  const alarmIn = (store: MemoryFeedStore) => (store.alarmAt === null ? null : store.alarmAt - now());

  it('no read for FEED_IDLE_MS: no more renewals, only the housekeeping alarm while the log has entries, none once it is empty', async () => {
    const { primary, replicas, store, pushes } = feed();
    await primary.wake();
    await fire(primary, store);
    skipped += 60_000; // past FEED_IDLE_MS of the wake below: only the read keeps the heartbeat on
    await fire(primary, store);
    expect(await headOf(replicas[0]!)).toBe(0); // a read, reported in the answer to the next push
    await fire(primary, store);
    expect(alarmIn(store)).toBeLessThanOrEqual(FEED_LEASE_RENEW_MS);
    // Just inside FEED_IDLE_MS of that read: the heartbeat still runs.
    skipped += FEED_IDLE_MS - 2_000;
    await fire(primary, store);
    expect(alarmIn(store)).toBeLessThanOrEqual(FEED_LEASE_RENEW_MS);
    const { seq, replicated } = await primary.append([change(1)]);
    expect(replicated).toBe(true);

    // Past it: the alarm is the next housekeeping (60 s after the last), and it pushes nobody.
    skipped += 4_000;
    pushes.length = 0;
    await fire(primary, store);
    expect(alarmIn(store)).toBeGreaterThan(FEED_SNAPSHOT_INTERVAL_MS - 5_000);
    expect(alarmIn(store)).toBeLessThanOrEqual(FEED_SNAPSHOT_INTERVAL_MS);
    for (const replica of replicas) expect(replica.store.lease()).toBeLessThan(now()); // run out, not renewed
    for (let alarms = 0; store.alarmAt !== null; alarms++) {
      expect(alarms).toBeLessThan(10);
      skipped += store.alarmAt - now();
      await fire(primary, store);
      if (store.alarmAt !== null) expect(alarmIn(store)).toBeGreaterThan(FEED_SNAPSHOT_INTERVAL_MS - 1_000);
    }
    expect(store.meta()).toEqual({ head: seq, floor: seq }); // pruned: nothing left to housekeep
    expect(pushes).toEqual([]);
  });

  it('an idle feed: appends are pushed and acknowledged and start no heartbeat; a read gets a lease via renew and restarts it', async () => {
    const { primary, replicas, store, pushes } = feed();
    replicas.forEach((replica, i) => (replica.ask = () => primary.renew(i)));
    // A feed nobody reads (cached mode appends too): its first append arms the housekeeping alarm only.
    await primary.append([change(1)]);
    await fire(primary, store);
    expect(alarmIn(store)).toBeGreaterThan(FEED_SNAPSHOT_INTERVAL_MS - 1_000);

    skipped += LEASE_MS; // the leases its pushes offered ran out
    pushes.length = 0;
    const idle = await timedAppend(primary, 2);
    expect(idle).toMatchObject({ seq: 2, replicated: true });
    expect(idle.ms).toBeLessThan(LEASE_MS / 2); // a push's round trip
    expect(pushes.map((p) => [p.replica, p.leased])).toEqual([
      [0, true],
      [1, true],
      [2, true],
      [3, true],
    ]);
    expect(alarmIn(store)).toBeGreaterThan(FEED_SNAPSHOT_INTERVAL_MS - 5_000);

    // A read at a replica whose lease ran out: it asks, renew pushes it a lease and brings the heartbeat forward.
    skipped += LEASE_MS;
    pushes.length = 0;
    expect(await headOf(replicas[2]!)).toBe(2);
    expect(replicas[2]!.asks).toBe(1);
    expect(pushes.map((p) => [p.replica, p.leased])).toEqual([[2, true]]);
    expect(alarmIn(store)).toBeLessThanOrEqual(0);
    pushes.length = 0;
    await fire(primary, store);
    expect(alarmIn(store)).toBeLessThanOrEqual(FEED_LEASE_RENEW_MS);
    expect(pushes.map((p) => p.replica).sort()).toEqual([0, 1, 2, 3]);
    expect(pushes.every((p) => p.leased)).toBe(true);
  });

  it('an idle housekeeping alarm still pushes a replica behind the head, and only it', async () => {
    const { primary, store, pushes, down } = feed();
    down.add(3);
    await primary.append([change(1)]); // acknowledged once the lease offered to replica 3 ran out
    down.delete(3);
    pushes.length = 0;
    await fire(primary, store);
    expect(pushes.map((p) => p.replica)).toEqual([3]);
    expect(alarmIn(store)).toBeGreaterThan(FEED_SNAPSHOT_INTERVAL_MS - 1_000);
  });

  it('a restarted primary keeps a heartbeat it finds running (a lease it offered still runs), not one that had stopped', async () => {
    const first = feed();
    await first.primary.wake();
    await fire(first.primary, first.store);
    const restarted = first.restart();
    await fire(restarted.primary, restarted.store);
    expect(alarmIn(restarted.store)).toBeLessThanOrEqual(FEED_LEASE_RENEW_MS);
    skipped += FEED_IDLE_MS;
    await fire(restarted.primary, restarted.store);
    expect(restarted.store.alarmAt).toBeNull(); // no read, and an empty log: nothing to do
    const again = restarted.restart();
    await again.primary.append([change(1)]);
    await fire(again.primary, again.store);
    expect(alarmIn(again.store)).toBeGreaterThan(FEED_SNAPSHOT_INTERVAL_MS - 1_000);
  });
});
