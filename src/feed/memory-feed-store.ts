import type { FeedChange, FeedEntry } from './feed-change';
import type { ActiveSet, FeedStore } from './feed-store';

/**
 * A FeedStore in memory, for the simulation (sim/) and unit tests: what SqlFeedStore keeps in
 * SQLite, with the same semantics. It survives a restart of the core that uses it (build a new
 * FeedCore over the same store); `alarmAt` is for the driver to fire (call core.alarm()).
 */
export class MemoryFeedStore implements FeedStore {
  private head = 0;
  private floor = 0;
  private log: { seq: number; at: number; change: FeedChange }[] = [];
  private global = 0;
  private readonly users = new Map<string, [version: number, revokedBefore: number, until: number]>();
  private readonly tokens = new Map<string, number>();
  private snapshots: { seq: number; writtenAt: number }[] = [];
  private readonly replicaHeads = new Map<number, number>();
  private readonly replicaLeases = new Map<number, number>();
  private leaseUntil = 0;
  alarmAt: number | null = null;

  meta() {
    return { head: this.head, floor: this.floor };
  }

  setMeta(head: number, floor: number): void {
    this.head = head;
    this.floor = floor;
  }

  appendLog(seq: number, at: number, change: FeedChange): void {
    const last = this.log[this.log.length - 1];
    if (last !== undefined && last.seq >= seq) throw new Error(`UNIQUE constraint failed: feed_log.seq (${seq})`);
    this.log.push({ seq, at, change });
  }

  entries(after: number, limit: number): FeedEntry[] {
    return this.log
      .filter((row) => row.seq > after)
      .slice(0, limit)
      .map((row) => ({ ...row.change, seq: row.seq }));
  }

  lastSeqBefore(at: number): number {
    return this.log.reduce((max, row) => (row.at < at ? Math.max(max, row.seq) : max), 0);
  }

  deleteLogThrough(seq: number): void {
    this.log = this.log.filter((row) => row.seq > seq);
  }

  clearLog(): void {
    this.log = [];
  }

  materialize(change: FeedChange): void {
    if (change.kind === 'global') this.global = Math.max(this.global, change.revokedBefore);
    else if (change.kind === 'user') {
      const [v, r, u] = this.users.get(change.fp) ?? [0, 0, 0];
      this.users.set(change.fp, [Math.max(v, change.version), Math.max(r, change.revokedBefore), Math.max(u, change.until)]);
    } else this.tokens.set(change.fp, Math.max(this.tokens.get(change.fp) ?? 0, change.until));
  }

  dropExpired(nowSeconds: number): void {
    for (const [fp, [, , until]] of this.users) if (until <= nowSeconds) this.users.delete(fp);
    for (const [fp, until] of this.tokens) if (until <= nowSeconds) this.tokens.delete(fp);
  }

  activeSet(): ActiveSet {
    const { users, tokens } = this;
    return {
      globalRevokedBefore: this.global,
      userCount: users.size,
      tokenCount: tokens.size,
      forEachUser: (row) => users.forEach(([v, r, u], fp) => row(fp, v, r, u)),
      forEachToken: (row) => tokens.forEach((until, fp) => row(fp, until)),
    };
  }

  recordSnapshot(seq: number, writtenAt: number): void {
    this.snapshots.push({ seq, writtenAt });
  }

  lastSnapshotSeq(writtenBy = Number.MAX_SAFE_INTEGER): number {
    return this.snapshots.reduce((max, s) => (s.writtenAt <= writtenBy ? Math.max(max, s.seq) : max), 0);
  }

  forgetSnapshotsBefore(writtenAt: number): void {
    this.snapshots = this.snapshots.filter((s) => s.writtenAt >= writtenAt);
  }

  replicaHead(replica: number): number | undefined {
    return this.replicaHeads.get(replica);
  }

  setReplicaHead(replica: number, head: number): void {
    this.replicaHeads.set(replica, head);
  }

  replicaLease(replica: number): number {
    return this.replicaLeases.get(replica) ?? 0;
  }

  setReplicaLease(replica: number, until: number): void {
    this.replicaLeases.set(replica, until);
  }

  lease(): number {
    return this.leaseUntil;
  }

  setLease(until: number): void {
    this.leaseUntil = until;
  }

  getAlarm(): Promise<number | null> {
    return Promise.resolve(this.alarmAt);
  }

  setAlarm(at: number): Promise<void> {
    this.alarmAt = at;
    return Promise.resolve();
  }
}
