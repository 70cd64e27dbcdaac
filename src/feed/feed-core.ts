import { logEvent } from '../log/logger';
import { FEED_READ_MAX_ENTRIES, type FeedChange, type FeedEntry, type FeedRead } from './feed-change';
import { encodeActiveSet } from './feed-snapshot';
import type { FeedStore } from './feed-store';
import { withTimeout } from '../revocation/timeout';

/** The log is kept at least this long (and until a snapshot covering it is visible everywhere). */
export const FEED_RETENTION_MS = 5 * 60_000;
/** How often the primary rewrites the KV snapshot when something changed. */
export const FEED_SNAPSHOT_INTERVAL_MS = 60_000;
/** KV's propagation bound (60 s) plus margin: only then does every location see a snapshot. */
export const SNAPSHOT_VISIBLE_AFTER_MS = 90_000;
/** The primary waits this long for the replicas before it reports an append unreplicated. */
export const FEED_REPLICATE_TIMEOUT_MS = 1_500;

/** How the primary reaches its replicas (the DO: stubs by name and location hint; the sim: its network). */
export interface ReplicaTransport {
  readonly count: number;
  push(replica: number, entries: FeedEntry[], resetTo: number | undefined, prunableThrough: number): Promise<{ head: number }>;
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
}

/**
 * Bounded mode's feed, outside any runtime (docs/reference.md §4.1; docs/consistency.md; src/feed/README.md).
 * One class, two roles:
 * - the primary gives every change a contiguous sequence number, keeps the active set, writes
 *   the snapshot, and pushes each change to every replica before `append` reports it replicated;
 * - a replica holds the recent log; mirrors read one of them.
 */
export class FeedCore {
  constructor(private readonly deps: FeedCoreDeps) {}

  private get store(): FeedStore {
    return this.deps.store;
  }

  // ---- primary -------------------------------------------------------------------------------

  /** Numbers `changes` and pushes them to every replica; `replicated` once all of them hold them. */
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
    if ((await store.getAlarm()) === null) await store.setAlarm(at + FEED_SNAPSHOT_INTERVAL_MS);
    const replicated = await withTimeout(this.replicate(seq), FEED_REPLICATE_TIMEOUT_MS, 'feed replication').catch((error: unknown) => {
      logEvent('feed_replication_failed', { error: error instanceof Error ? error.message : 'unknown' });
      return false;
    });
    return { seq, replicated };
  }

  private transport(): ReplicaTransport {
    if (this.deps.replicas === undefined) throw new Error('feed: only the primary reaches replicas');
    return this.deps.replicas;
  }

  /** True once every replica holds the log up to `target` (rejects when one cannot be reached). */
  private async replicate(target: number): Promise<boolean> {
    const transport = this.transport();
    await Promise.all(Array.from({ length: transport.count }, (_, i) => this.caughtUp(transport, i, target)));
    return true;
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

  /** One push: what replica `i` lacks from the head it last confirmed (stored: a restarted primary knows it). */
  private async pushNext(transport: ReplicaTransport, i: number): Promise<void> {
    const known = this.store.replicaHead(i);
    const { floor } = this.store.meta();
    // Entries the replica lacks but the log no longer has: it starts over from the floor.
    const resetTo = known !== undefined && known < floor ? floor : undefined;
    // A replica never heard from gets the log from the floor: it skips what it has (no round trip to ask first).
    const batch = this.store.entries(resetTo ?? known ?? floor, FEED_READ_MAX_ENTRIES);
    // A push that never answers fails in time: the append reports unreplicated and the writer retries.
    const { head } = await withTimeout(
      transport.push(i, batch, resetTo, this.prunableThrough()),
      FEED_REPLICATE_TIMEOUT_MS,
      `feed push ${i}`,
    );
    if (known !== undefined && head <= known && batch.length > 0) throw new Error(`feed replica ${i} took nothing after ${known}`);
    // Answers of concurrent pushes arrive in any order; a replica's head never goes back.
    this.store.setReplicaHead(i, Math.max(this.store.replicaHead(i) ?? 0, head));
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

  /** Writes the snapshot when the head moved, prunes, catches lagging replicas up. */
  async alarm(): Promise<void> {
    const now = this.deps.clock();
    const { head } = this.store.meta();
    if (head > this.store.lastSnapshotSeq()) await this.writeSnapshot(head, now);
    this.prune(this.prunableThrough(now));
    await this.replicate(head).catch(() => false);
    const { floor } = this.store.meta();
    if (head > floor) await this.store.setAlarm(now + FEED_SNAPSHOT_INTERVAL_MS);
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
   * starts over there (readers behind it are told to start from a snapshot).
   */
  push(entries: FeedEntry[], resetTo: number | undefined, prunableThrough: number): { head: number } {
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
    this.prune(Math.min(prunableThrough, head));
    return { head };
  }

  /** The entries after `after` (none when `after` is behind the floor: the reader must reload). */
  read(after: number): FeedRead {
    const { head, floor } = this.store.meta();
    // The stamp after the state was read: the state holds every change acknowledged before it.
    const entries = after < floor ? [] : this.store.entries(after, FEED_READ_MAX_ENTRIES);
    return { head, floor, entries, stamp: this.deps.clock() };
  }
}
