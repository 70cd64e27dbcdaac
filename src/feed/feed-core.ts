import { DEFAULT_FEED_CLOCK_SKEW_MS } from '../config/config';
import { logEvent } from '../log/logger';
import {
  FEED_READ_MAX_ENTRIES,
  type FeedChange,
  type FeedEntry,
  type FeedLease,
  type FeedNotLeased,
  type FeedPushAnswer,
  type FeedRead,
} from './feed-change';
import { encodeActiveSet } from './feed-snapshot';
import type { FeedStore } from './feed-store';
import { withTimeout } from '../revocation/timeout';

/** The log is kept at least this long (and until a snapshot covering it is visible everywhere). */
export const FEED_RETENTION_MS = 5 * 60_000;
/** How often the primary rewrites the KV snapshot when something changed (and prunes). */
export const FEED_SNAPSHOT_INTERVAL_MS = 60_000;
/** KV's propagation bound (60 s) plus margin: only then does every location see a snapshot. */
export const SNAPSHOT_VISIBLE_AFTER_MS = 90_000;
/** One push to a replica fails past this. */
export const FEED_REPLICATE_TIMEOUT_MS = 1_500;
/**
 * A replica's lease (docs/consistency.md "Leases"): it serves reads until this long after the
 * primary sent the push that granted it, less FEED_CLOCK_SKEW_MS. It bounds how long one slow
 * or lost replica delays acknowledgements; shorter costs more renewals (FEED_LEASE_RENEW_MS).
 */
export const FEED_LEASE_MS = 2_000;
/** The primary's heartbeat: leases renewed four times per lease, so a renewal or two may be lost or late. */
export const FEED_LEASE_RENEW_MS = FEED_LEASE_MS / 4;
/**
 * The heartbeat stops once no replica has got a read for this long (docs/consistency.md
 * "Leases"): a feed nobody reads (cached or strict mode: writers append in every mode) costs
 * nothing, and the next read pays one round trip (cold start). 5 min: a deployment with traffic
 * reads the feed every half bound (0.5 s by default) from each busy location, so only one
 * without traffic stops; keeping the heartbeat that long after the last read costs ~3,000
 * requests, and sparse traffic (a read every few minutes) finds the replicas warm.
 */
export const FEED_IDLE_MS = 5 * 60_000;
/** A replica with a push outstanding longer than this (or whose last push failed) is offered no lease. */
export const FEED_PUSH_SLOW_MS = 500;
/**
 * The primary reports an append unreplicated past this: the longest a lease it offered a replica
 * that stopped answering can delay the ack (the lease, plus the offers made before the replica
 * counted as slow), plus a margin for the pushes to the healthy replicas.
 */
export const FEED_ACK_TIMEOUT_MS = FEED_LEASE_MS + FEED_PUSH_SLOW_MS + 500;
/**
 * A read at a replica holding no lease waits this long at most for the one it asks the primary
 * for: less than a mirror's FEED_READ_TIMEOUT_MS (700 ms), so the mirror hears the refusal and
 * tries the next replica itself.
 */
export const FEED_LEASE_ASK_MS = 500;

/** How the primary reaches its replicas (the DO: stubs by name and location hint; the sim: its network). */
export interface ReplicaTransport {
  readonly count: number;
  push(
    replica: number,
    entries: FeedEntry[],
    resetTo: number | undefined,
    prunableThrough: number,
    lease: FeedLease | undefined,
  ): Promise<FeedPushAnswer>;
}

/** How a replica reaches the primary: a read that finds it holding no lease asks for one (a cold or idle feed). */
export interface PrimaryTransport {
  /** The primary's `renew` for this replica: resolves once its push (with a lease if offered) has landed here. */
  lease(): Promise<void>;
}

/** Where the primary writes the snapshot for cold mirrors (the DO: KV FEED_SNAPSHOT_KV_KEY). */
export interface SnapshotSink {
  put(snapshot: ArrayBuffer): Promise<void>;
}

export interface FeedCoreDeps {
  readonly store: FeedStore;
  /** This machine's clock, ms since the epoch. */
  readonly clock: () => number;
  /** Primary only. */
  readonly replicas?: ReplicaTransport;
  /** Primary only. */
  readonly snapshots?: SnapshotSink;
  /** Replica only. */
  readonly primary?: PrimaryTransport;
  /** How long a lease lasts (default FEED_LEASE_MS). Infinity is write-all: the simulation's baseline. */
  readonly leaseMs?: number;
  /** Replica: FEED_CLOCK_SKEW_MS, the most its clock and the primary's differ (default DEFAULT_FEED_CLOCK_SKEW_MS). */
  readonly clockSkewMs?: number;
}

/** The primary's view of the pushes to one replica in flight (in memory: a restarted primary offers again). */
interface ReplicaLink {
  readonly pending: Set<{ readonly sentAt: number }>;
  failed: boolean;
}

/** Resolves after `ms` (never when not finite), or once `work` settles if it is given. */
function pause(ms: number, work?: Promise<unknown>): Promise<void> {
  return new Promise((resolve) => {
    const timer = Number.isFinite(ms) ? setTimeout(resolve, ms) : undefined;
    const done = () => {
      if (timer !== undefined) clearTimeout(timer);
      resolve();
    };
    void work?.then(done, done);
  });
}

/**
 * Bounded mode's feed, outside any runtime (docs/reference.md §4.1; docs/consistency.md; src/feed/README.md).
 * One class, two roles:
 * - the primary gives every change a contiguous sequence number, keeps the active set, writes
 *   the snapshot, and pushes each change to every replica; `append` reports it replicated once
 *   every replica holds it or has no lease left to serve reads under (docs/consistency.md "Leases");
 * - a replica holds the recent log and answers reads while its lease holds; mirrors read one of them.
 */
export class FeedCore {
  private readonly links: ReplicaLink[] = [];
  /** Primary: the last snapshot-and-prune (in memory: a restarted primary does it at its first alarm). */
  private housekeptAt = -Infinity;
  /** Primary: what replicas may prune, computed with the housekeeping (a lower value only prunes later). */
  private prunable = 0;
  /** Replica: the request for a lease in flight, which every read that finds none waits on. */
  private asking: Promise<void> | undefined;
  /** Replica: when its last request for a lease ended (the next not sooner than FEED_LEASE_RENEW_MS), and it last logged a refusal (once per FEED_LEASE_MS). */
  private askedAt = -Infinity;
  private refusedAt = -Infinity;
  /**
   * Primary: the latest time (its clock) a replica is known to have got a read, from the push
   * answers and `renew`. Undefined in a restarted primary until `reading` first looks (in memory).
   */
  private readAt: number | undefined;
  /** Replica: when it last got a read (its clock; in memory: a restarted replica reports none). */
  private lastReadAt = -Infinity;

  constructor(private readonly deps: FeedCoreDeps) {}

  private get leaseMs(): number {
    return this.deps.leaseMs ?? FEED_LEASE_MS;
  }

  private get store(): FeedStore {
    return this.deps.store;
  }

  // ---- primary -------------------------------------------------------------------------------

  /** Numbers `changes` and pushes them to every replica; `replicated` once each holds them or its lease expired. */
  async append(changes: FeedChange[]): Promise<{ seq: number; replicated: boolean }> {
    const { store } = this;
    const { head, floor } = store.meta();
    let seq = head;
    const at = this.deps.clock();
    for (const change of changes) {
      seq++;
      store.appendLog(seq, at, change);
      store.materialize(change);
    }
    store.setMeta(seq, floor);
    await this.arm(at);
    const replicated = await withTimeout(this.replicate(seq), FEED_ACK_TIMEOUT_MS, 'feed replication').catch((error: unknown) => {
      logEvent('feed_replication_failed', { error: error instanceof Error ? error.message : 'unknown' });
      return false;
    });
    return { seq, replicated };
  }

  private transport(): ReplicaTransport {
    if (this.deps.replicas === undefined) throw new Error('feed: only the primary reaches replicas');
    return this.deps.replicas;
  }

  /** The heartbeat on, for FEED_IDLE_MS at least (a replica asked for a lease: a read is waiting). */
  async wake(): Promise<void> {
    const now = this.deps.clock();
    this.readAt = now;
    await this.arm(now);
  }

  /**
   * Makes sure an alarm is due: the heartbeat's at once while replicas are read (bringing the
   * housekeeping one forward), else the housekeeping one (snapshot, prune) when next due. An
   * append while idle thus pushes, and starts no heartbeat.
   */
  private async arm(now: number): Promise<void> {
    const at = this.reading(now) ? now : Math.max(now, this.housekeptAt + FEED_SNAPSHOT_INTERVAL_MS);
    const set = await this.store.getAlarm();
    if (set === null || set > at + FEED_LEASE_RENEW_MS) await this.store.setAlarm(at);
  }

  /**
   * Whether a replica got a read in the last FEED_IDLE_MS. A restarted primary does not know: it
   * takes a lease it offered that still runs (the heartbeat was on) as a read now.
   */
  private reading(now: number): boolean {
    if (this.readAt === undefined) {
      const count = this.deps.replicas?.count ?? 0;
      const leased = Array.from({ length: count }, (_, i) => this.store.replicaLease(i)).some((until) => until > now);
      this.readAt = leased ? now : -Infinity;
    }
    return now - this.readAt < FEED_IDLE_MS;
  }

  /**
   * Replica `i` got a read while holding no lease (a cold feed: the heartbeat off, or a replica
   * just back): the heartbeat on, and pushes to it now until it holds the head, the last with a
   * lease if one is offered (recorded before it is sent, as every lease). Resolves once they
   * landed (or failed), so the replica's read answers after one round trip.
   */
  async renew(i: number): Promise<void> {
    const transport = this.transport();
    if (!Number.isInteger(i) || i < 0 || i >= transport.count) throw new Error(`feed: no replica ${i}`);
    await this.wake();
    try {
      // A replica whose last push failed is offered no lease until a push lands: then one more push.
      let retry = true;
      for (;;) {
        const leased = await this.pushNext(transport, i);
        if ((this.store.replicaHead(i) ?? -1) < this.store.meta().head) continue;
        if (leased || !retry) return;
        retry = false;
      }
    } catch {
      // Logged by pushNext (feed_push_failed); the replica finds no lease and refuses. Not thrown:
      // an error thrown across RPC is one more uncaught-exception line in workerd's log.
    }
  }

  /** True once every replica holds the log up to `target` or can no longer serve a read without it. */
  private async replicate(target: number): Promise<boolean> {
    const transport = this.transport();
    await Promise.all(Array.from({ length: transport.count }, (_, i) => this.held(transport, i, target)));
    return true;
  }

  /**
   * Resolves once replica `i` holds `target`, or once the latest lease offered to it has expired
   * on this clock (it refuses reads from then on: docs/consistency.md "Leases"). Evaluated while
   * waiting, not when the append started: a concurrent push may offer a later lease. A replica
   * that fails may be pushed again by the heartbeat, so the head is looked at every renewal.
   */
  private async held(transport: ReplicaTransport, i: number, target: number): Promise<void> {
    let settled = false;
    const pushing = this.caughtUp(transport, i, target)
      .catch(() => undefined)
      .finally(() => {
        settled = true;
      });
    for (;;) {
      if ((this.store.replicaHead(i) ?? -1) >= target) return;
      const leaseLeft = this.store.replicaLease(i) - this.deps.clock();
      if (leaseLeft <= 0) return;
      await pause(Math.min(leaseLeft, FEED_LEASE_RENEW_MS), settled ? undefined : pushing);
    }
  }

  /**
   * Pushes replica `i` what it lacks until it holds `target`: as many batches of
   * FEED_READ_MAX_ENTRIES as a replica far behind needs (rejects when it cannot be reached).
   * Each append pushes on its own: under load the first pushes carry few entries and answer
   * quickly, where one batch at a time made every waiter wait for the largest (issue 18, break 6).
   */
  private async caughtUp(transport: ReplicaTransport, i: number, target: number): Promise<void> {
    while ((this.store.replicaHead(i) ?? -1) < target) await this.pushNext(transport, i);
  }

  private link(i: number): ReplicaLink {
    return (this.links[i] ??= { pending: new Set(), failed: false });
  }

  /**
   * A lease is offered only to a replica that answers: none while a push to it has been
   * outstanding longer than FEED_PUSH_SLOW_MS or its last push failed, else every retry would
   * extend a stalled replica's lease and acknowledgements would wait for it for ever.
   */
  private offersLease(i: number, now: number): boolean {
    const link = this.link(i);
    if (link.failed) return false;
    for (const push of link.pending) if (now - push.sentAt > FEED_PUSH_SLOW_MS) return false;
    return true;
  }

  /**
   * One push: what replica `i` lacks from the head it last confirmed (stored: a restarted primary
   * knows it), with a lease when the push brings it to this primary's head. The lease is stored
   * before it is sent: the replica may take it even if its answer is lost. True if it carried one.
   */
  private async pushNext(transport: ReplicaTransport, i: number): Promise<boolean> {
    const { store } = this;
    const known = store.replicaHead(i);
    const { head: primaryHead, floor } = store.meta();
    // Entries the replica lacks but the log no longer has: it starts over from the floor.
    const resetTo = known !== undefined && known < floor ? floor : undefined;
    // A replica never heard from gets the log from the floor: it skips what it has (no round trip to ask first).
    const from = resetTo ?? known ?? floor;
    const batch = store.entries(from, FEED_READ_MAX_ENTRIES);
    const now = this.deps.clock();
    let lease: FeedLease | undefined;
    if ((batch[batch.length - 1]?.seq ?? from) >= primaryHead && this.offersLease(i, now)) {
      lease = { until: now + this.leaseMs, through: primaryHead };
      store.setReplicaLease(i, Math.max(store.replicaLease(i), lease.until));
    }
    const link = this.link(i);
    const push = { sentAt: now };
    link.pending.add(push);
    try {
      // A push that never answers fails in time: the lease it may carry expires, the heartbeat pushes again.
      const { head, idleMs } = await withTimeout(
        transport.push(i, batch, resetTo, this.prunable, lease),
        FEED_REPLICATE_TIMEOUT_MS,
        `feed push ${i}`,
      );
      link.failed = false;
      if (idleMs !== undefined) this.readAt = Math.max(this.readAt ?? -Infinity, this.deps.clock() - idleMs);
      if (known !== undefined && head <= known && batch.length > 0) throw new Error(`feed replica ${i} took nothing after ${known}`);
      // Answers of concurrent pushes arrive in any order; a replica's head never goes back.
      store.setReplicaHead(i, Math.max(store.replicaHead(i) ?? 0, head));
      return lease !== undefined;
    } catch (error) {
      if (!link.failed) logEvent('feed_push_failed', { replica: i, error: error instanceof Error ? error.message : 'unknown' });
      link.failed = true;
      throw error;
    } finally {
      link.pending.delete(push);
    }
  }

  /** The highest seq no reader can still need: older than the retention, and in a snapshot every location sees. */
  private prunableThrough(now = this.deps.clock()): number {
    return Math.min(this.store.lastSnapshotSeq(now - SNAPSHOT_VISIBLE_AFTER_MS), this.store.lastSeqBefore(now - FEED_RETENTION_MS));
  }

  private prune(through: number): void {
    if (through <= 0) return;
    const { head, floor } = this.store.meta();
    if (through <= floor) return;
    this.store.deleteLogThrough(through);
    this.store.setMeta(Math.max(head, through), through);
  }

  /**
   * The heartbeat, every FEED_LEASE_RENEW_MS while a replica got a read in the last
   * FEED_IDLE_MS: renews every replica's lease (a push, empty when it holds everything) and
   * catches lagging replicas up. Past that it stops (the leases run out; a read then asks for
   * one: `renew`), and the alarm only housekeeps, every FEED_SNAPSHOT_INTERVAL_MS while the log
   * has entries: writes the snapshot when the head moved, prunes, and pushes lagging replicas.
   */
  async alarm(): Promise<void> {
    const { store } = this;
    const now = this.deps.clock();
    const transport = this.deps.replicas;
    const beat = transport !== undefined && this.reading(now);
    // First: nothing below may delay the next renewal (a stalled replica's push waits out its timeout).
    if (beat) await store.setAlarm(now + FEED_LEASE_RENEW_MS);
    if (now - this.housekeptAt >= FEED_SNAPSHOT_INTERVAL_MS) {
      this.housekeptAt = now;
      const { head } = store.meta();
      if (head > store.lastSnapshotSeq()) await this.writeSnapshot(head, now);
      this.prunable = this.prunableThrough(now);
      this.prune(this.prunable);
    }
    if (transport === undefined) return;
    const { head, floor } = store.meta();
    // Idle: the housekeeping alarm while the log has entries (arm keeps one a concurrent renew set).
    if (!beat && head > floor) await this.arm(now);
    // Idle: no lease renewed (nobody reads); a replica behind the head is still pushed.
    const due = Array.from({ length: transport.count }, (_, i) => i).filter((i) => beat || (store.replicaHead(i) ?? -1) < head);
    const pushes = due.map((i) => this.pushNext(transport, i).catch(() => undefined));
    // The healthy replicas answer within a round trip; a stalled one is not waited for.
    await pause(FEED_LEASE_RENEW_MS / 2, Promise.all(pushes));
  }

  private async writeSnapshot(seq: number, now: number): Promise<void> {
    const { store } = this;
    store.dropExpired(Math.floor(now / 1000));
    const snapshot = encodeActiveSet(seq, now, store.activeSet());
    try {
      if (this.deps.snapshots === undefined) throw new Error('feed: only the primary writes snapshots');
      await this.deps.snapshots.put(snapshot);
    } catch (error) {
      logEvent('feed_snapshot_failed', { error: error instanceof Error ? error.message : 'unknown' });
      return; // the next alarm tries again; the log is kept until a snapshot covers it
    }
    store.recordSnapshot(seq, now);
    store.forgetSnapshotsBefore(now - 2 * FEED_RETENTION_MS);
  }

  // ---- replica -------------------------------------------------------------------------------

  /**
   * Stores the entries that continue the log (contiguous; a gap stops, the primary resends)
   * and answers the head. `resetTo`: the primary no longer has what this replica lacks, so it
   * starts over there (readers behind it are told to start from a snapshot). `lease`: taken
   * only once this replica holds the log through the primary's head it was offered with.
   */
  push(entries: FeedEntry[], resetTo: number | undefined, prunableThrough: number, lease?: FeedLease): FeedPushAnswer {
    const { store } = this;
    let { head, floor } = store.meta();
    if (resetTo !== undefined && head < resetTo) {
      store.clearLog();
      head = floor = resetTo;
    }
    const at = this.deps.clock();
    for (const entry of entries) {
      if (entry.seq <= head) continue;
      if (entry.seq !== head + 1) break;
      const { seq, ...change } = entry;
      store.appendLog(seq, at, change as FeedChange);
      head = seq;
    }
    store.setMeta(head, floor);
    if (lease !== undefined && head >= lease.through && lease.until > store.lease()) store.setLease(lease.until);
    this.prune(Math.min(prunableThrough, head));
    return this.lastReadAt === -Infinity ? { head } : { head, idleMs: at - this.lastReadAt };
  }

  /**
   * The entries after `after` (none when `after` is behind the floor: the reader must reload),
   * only inside the lease less the skew margin: past it the primary may have acknowledged
   * changes this replica lacks. Holding none, it asks the primary for one and waits (at most
   * FEED_LEASE_ASK_MS); still none: `{ notLeased: true }`.
   */
  async read(after: number): Promise<FeedRead | FeedNotLeased> {
    this.lastReadAt = this.deps.clock();
    if (!this.leased()) await this.askLease();
    if (!this.leased()) {
      const now = this.deps.clock();
      if (now - this.refusedAt >= FEED_LEASE_MS) {
        this.refusedAt = now;
        logEvent('feed_replica_not_leased', { leaseUntil: this.store.lease() });
      }
      return { notLeased: true };
    }
    const { head, floor } = this.store.meta();
    // The stamp after the state was read: the state holds every change acknowledged before it.
    const entries = after < floor ? [] : this.store.entries(after, FEED_READ_MAX_ENTRIES);
    return { head, floor, entries, stamp: this.deps.clock() };
  }

  private leased(): boolean {
    return this.deps.clock() < this.store.lease() - (this.deps.clockSkewMs ?? DEFAULT_FEED_CLOCK_SKEW_MS);
  }

  /**
   * One request to the primary at a time, however many reads wait on it, and at most one per
   * FEED_LEASE_RENEW_MS (a primary that offers none is not asked once per read).
   */
  private askLease(): Promise<void> {
    const { primary } = this.deps;
    const now = this.deps.clock();
    if (this.asking === undefined && primary !== undefined && now - this.askedAt >= FEED_LEASE_RENEW_MS) {
      this.asking = withTimeout(primary.lease(), FEED_LEASE_ASK_MS, 'feed lease request')
        .catch(() => undefined) // refused below; the refusal is logged there
        .finally(() => {
          this.asking = undefined;
          this.askedAt = this.deps.clock();
        });
    }
    return this.asking ?? Promise.resolve();
  }
}
