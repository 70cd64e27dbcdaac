import type { FeedChange, FeedEntry } from './feed-change';

/**
 * What the feed core (feed-core.ts) keeps durably: the log, its head and floor, and (primary
 * only) the active set and the snapshots written. The Durable Object implements it over
 * ctx.storage.sql (sql-feed-store.ts, the schema in docs/storage.md); the simulation and unit
 * tests use MemoryFeedStore (memory-feed-store.ts). Every method is synchronous, like
 * SQLite-backed DO storage: a method never interleaves with another request.
 */
export interface FeedStore {
  meta(): { head: number; floor: number };
  setMeta(head: number, floor: number): void;
  /** Appends one entry (`at`: the store's clock, ms). */
  appendLog(seq: number, at: number, change: FeedChange): void;
  /** Up to `limit` entries after `after`, in order. */
  entries(after: number, limit: number): FeedEntry[];
  /** The highest seq appended before `at` (0: none). */
  lastSeqBefore(at: number): number;
  deleteLogThrough(seq: number): void;
  clearLog(): void;

  /** Primary: merges a change into the active set (max per column). */
  materialize(change: FeedChange): void;
  /** Primary: drops active entries whose `until` (NumericDate) has passed. */
  dropExpired(nowSeconds: number): void;
  /** Primary: the active set, row by row (no array of rows: a million of them would not fit). */
  activeSet(): ActiveSet;

  /** Primary: the snapshots written (seq, ms). */
  recordSnapshot(seq: number, writtenAt: number): void;
  /** The highest snapshot seq (0: none), of those written at or before `writtenBy` when given. */
  lastSnapshotSeq(writtenBy?: number): number;
  forgetSnapshotsBefore(writtenAt: number): void;

  /** Primary: the head replica `replica` last confirmed (undefined: never heard from). */
  replicaHead(replica: number): number | undefined;
  setReplicaHead(replica: number, head: number): void;
  /** Primary: the latest lease deadline (ms, the primary's clock) offered to `replica` (0: none), recorded before it is sent. */
  replicaLease(replica: number): number;
  setReplicaLease(replica: number, until: number): void;

  /** Replica: the lease deadline (ms, the primary's clock) it holds (0: none); it serves reads only inside it. */
  lease(): number;
  setLease(until: number): void;

  /** The object's alarm (ms), as DurableObjectStorage has it. */
  getAlarm(): Promise<number | null>;
  setAlarm(at: number): Promise<void>;
}

export interface ActiveSet {
  readonly globalRevokedBefore: number;
  readonly userCount: number;
  readonly tokenCount: number;
  forEachUser(row: (fp: string, version: number, revokedBefore: number, until: number) => void): void;
  forEachToken(row: (fp: string, until: number) => void): void;
}
