import { DurableObject } from 'cloudflare:workers';
import { logEvent } from '../log/logger';
import { FEED_READ_MAX_ENTRIES, type FeedChange, type FeedEntry, type FeedRead } from './feed-change';
import { encodeSnapshot } from './feed-snapshot';
import { FEED_REPLICA_HINTS, FEED_SNAPSHOT_KV_KEY, feedReplicaName } from './storage-keys';
import { withTimeout } from './timeout';
import { nowSeconds } from '../clock';

/**
 * Bounded mode's feed (docs/reference.md §4.1; docs/consistency.md). One class, two roles, by name:
 * - the primary (`feed`) gives every change a contiguous sequence number, keeps the active
 *   set, writes the KV snapshot, and pushes each change to every replica before `append`
 *   reports it replicated ("write all, read one");
 * - the replicas (`feed-replica:<i>`, one per location hint) hold the recent log; mirrors
 *   read one of them, so no single object is on every check's path.
 * The replicas and how to reach them: feed-client.ts.
 */
/** The log is kept at least this long (and until a snapshot covering it is visible everywhere). */
export const FEED_RETENTION_MS = 5 * 60_000;
/** How often the primary rewrites the KV snapshot when something changed. */
export const FEED_SNAPSHOT_INTERVAL_MS = 60_000;
/** KV's propagation bound (60 s) plus margin: only then does every location see a snapshot. */
export const SNAPSHOT_VISIBLE_AFTER_MS = 90_000;
/** The primary waits this long for the replicas before it reports an append unreplicated. */
export const FEED_REPLICATE_TIMEOUT_MS = 1_500;

export class RevocationFeed extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** Primary only: the head each replica confirmed (unknown after a restart: asked first). */
  private readonly replicaHeads: (number | undefined)[] = [];

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec('CREATE TABLE IF NOT EXISTS feed_log (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, change TEXT NOT NULL)');
    this.sql.exec(`CREATE TABLE IF NOT EXISTS feed_meta (
      id INTEGER PRIMARY KEY CHECK (id = 1), head INTEGER NOT NULL, floor INTEGER NOT NULL)`);
    // The primary's active set (absolute states, merged with max) and its snapshot history.
    this.sql.exec('CREATE TABLE IF NOT EXISTS feed_global (id INTEGER PRIMARY KEY CHECK (id = 1), revoked_before INTEGER NOT NULL)');
    this.sql.exec(`CREATE TABLE IF NOT EXISTS feed_users (
      fp TEXT PRIMARY KEY, version INTEGER NOT NULL, revoked_before INTEGER NOT NULL, until INTEGER NOT NULL)`);
    this.sql.exec('CREATE TABLE IF NOT EXISTS feed_tokens (fp TEXT PRIMARY KEY, until INTEGER NOT NULL)');
    this.sql.exec('CREATE TABLE IF NOT EXISTS feed_snapshots (seq INTEGER NOT NULL, written_at INTEGER NOT NULL)');
  }

  private meta(): { head: number; floor: number } {
    return this.sql.exec<{ head: number; floor: number }>('SELECT head, floor FROM feed_meta').toArray()[0] ?? { head: 0, floor: 0 };
  }

  private setMeta(head: number, floor: number): void {
    this.sql.exec('INSERT OR REPLACE INTO feed_meta (id, head, floor) VALUES (1, ?, ?)', head, floor);
  }

  private entries(after: number, limit: number): FeedEntry[] {
    return this.sql
      .exec<{ seq: number; change: string }>('SELECT seq, change FROM feed_log WHERE seq > ? ORDER BY seq LIMIT ?', after, limit)
      .toArray()
      .map((row) => ({ ...(JSON.parse(row.change) as FeedChange), seq: row.seq }));
  }

  // ---- primary -------------------------------------------------------------------------------

  /** Numbers `changes` and pushes them to every replica; `replicated` once all of them hold them. */
  async append(changes: FeedChange[]): Promise<{ seq: number; replicated: boolean }> {
    const { head, floor } = this.meta();
    let seq = head;
    const at = Date.now();
    for (const change of changes) {
      seq++;
      this.sql.exec('INSERT INTO feed_log (seq, at, change) VALUES (?, ?, ?)', seq, at, JSON.stringify(change));
      this.materialize(change);
    }
    this.setMeta(seq, floor);
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(at + FEED_SNAPSHOT_INTERVAL_MS);
    const replicated = await withTimeout(this.replicate(seq), FEED_REPLICATE_TIMEOUT_MS, 'feed replication').catch((error: unknown) => {
      logEvent('feed_replication_failed', { error: error instanceof Error ? error.message : 'unknown' });
      return false;
    });
    return { seq, replicated };
  }

  private materialize(change: FeedChange): void {
    if (change.kind === 'global') {
      this.sql.exec(
        `INSERT INTO feed_global (id, revoked_before) VALUES (1, ?)
         ON CONFLICT (id) DO UPDATE SET revoked_before = max(revoked_before, excluded.revoked_before)`,
        change.revokedBefore,
      );
    } else if (change.kind === 'user') {
      this.sql.exec(
        `INSERT INTO feed_users (fp, version, revoked_before, until) VALUES (?, ?, ?, ?)
         ON CONFLICT (fp) DO UPDATE SET version = max(version, excluded.version),
           revoked_before = max(revoked_before, excluded.revoked_before), until = max(until, excluded.until)`,
        change.fp,
        change.version,
        change.revokedBefore,
        change.until,
      );
    } else {
      this.sql.exec(
        'INSERT INTO feed_tokens (fp, until) VALUES (?, ?) ON CONFLICT (fp) DO UPDATE SET until = max(until, excluded.until)',
        change.fp,
        change.until,
      );
    }
  }

  /** True once every replica holds the log up to `target`. */
  private async replicate(target: number): Promise<boolean> {
    const done = await Promise.all(FEED_REPLICA_HINTS.map((_, i) => this.syncReplica(i, target)));
    return done.every(Boolean);
  }

  /** Sends replica `i` what it lacks up to the head, from the head it reports (a few rounds at most). */
  private async syncReplica(i: number, target: number): Promise<boolean> {
    const replica = this.env.REVOCATION_FEED.getByName(feedReplicaName(i), { locationHint: FEED_REPLICA_HINTS[i] });
    for (let round = 0; round < 3; round++) {
      const known = this.replicaHeads[i];
      if (known !== undefined && known >= target) return true;
      const { floor } = this.meta();
      // Entries the replica lacks but the log no longer has: it starts over from the floor.
      const resetTo = known !== undefined && known < floor ? floor : undefined;
      const from = resetTo ?? known;
      const batch = from === undefined ? [] : this.entries(from, FEED_READ_MAX_ENTRIES);
      const { head } = await replica.push(batch, resetTo, this.prunableThrough());
      this.replicaHeads[i] = Math.max(this.replicaHeads[i] ?? 0, head);
    }
    return (this.replicaHeads[i] ?? 0) >= target;
  }

  /** The highest seq no reader can still need: older than the retention, and in a snapshot every location sees. */
  private prunableThrough(now = Date.now()): number {
    const visible =
      this.sql
        .exec<{ seq: number | null }>('SELECT MAX(seq) AS seq FROM feed_snapshots WHERE written_at <= ?', now - SNAPSHOT_VISIBLE_AFTER_MS)
        .one().seq ?? 0;
    const old =
      this.sql.exec<{ seq: number | null }>('SELECT MAX(seq) AS seq FROM feed_log WHERE at < ?', now - FEED_RETENTION_MS).one().seq ?? 0;
    return Math.min(visible, old);
  }

  private prune(through: number): void {
    if (through <= 0) return;
    const { head, floor } = this.meta();
    if (through <= floor) return;
    this.sql.exec('DELETE FROM feed_log WHERE seq <= ?', through);
    this.setMeta(Math.max(head, through), through);
  }

  /** Writes the snapshot when the head moved, prunes, catches lagging replicas up. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    const { head } = this.meta();
    const last = this.sql.exec<{ seq: number | null }>('SELECT MAX(seq) AS seq FROM feed_snapshots').one().seq ?? 0;
    if (head > last) await this.writeSnapshot(head, now);
    this.prune(this.prunableThrough(now));
    await this.replicate(head).catch(() => false);
    const { floor } = this.meta();
    if (head > floor) await this.ctx.storage.setAlarm(now + FEED_SNAPSHOT_INTERVAL_MS);
  }

  private async writeSnapshot(seq: number, now: number): Promise<void> {
    const at = nowSeconds();
    this.sql.exec('DELETE FROM feed_users WHERE until <= ?', at);
    this.sql.exec('DELETE FROM feed_tokens WHERE until <= ?', at);
    const snapshot = encodeSnapshot({
      seq,
      writtenAt: now,
      globalRevokedBefore: this.sql.exec<{ r: number | null }>('SELECT MAX(revoked_before) AS r FROM feed_global').one().r ?? 0,
      users: this.sql
        .exec<{ fp: string; version: number; revoked_before: number; until: number }>('SELECT * FROM feed_users')
        .toArray()
        .map((u) => ({ fp: u.fp, version: u.version, revokedBefore: u.revoked_before, until: u.until })),
      tokens: this.sql.exec<{ fp: string; until: number }>('SELECT fp, until FROM feed_tokens').toArray(),
    });
    try {
      await this.env.REVOCATIONS.put(FEED_SNAPSHOT_KV_KEY, snapshot);
    } catch (error) {
      logEvent('feed_snapshot_failed', { error: error instanceof Error ? error.message : 'unknown' });
      return; // the next alarm tries again; the log is kept until a snapshot covers it
    }
    this.sql.exec('INSERT INTO feed_snapshots (seq, written_at) VALUES (?, ?)', seq, now);
    this.sql.exec('DELETE FROM feed_snapshots WHERE written_at < ?', now - 2 * FEED_RETENTION_MS);
  }

  // ---- replica -------------------------------------------------------------------------------

  /**
   * Stores the entries that continue the log (contiguous; a gap stops, the primary resends)
   * and answers the head. `resetTo`: the primary no longer has what this replica lacks, so it
   * starts over there (readers behind it are told to start from a snapshot).
   */
  push(entries: FeedEntry[], resetTo: number | undefined, prunableThrough: number): { head: number } {
    let { head, floor } = this.meta();
    if (resetTo !== undefined && head < resetTo) {
      this.sql.exec('DELETE FROM feed_log');
      head = floor = resetTo;
    }
    const at = Date.now();
    for (const entry of entries) {
      if (entry.seq <= head) continue;
      if (entry.seq !== head + 1) break;
      const { seq, ...change } = entry;
      this.sql.exec('INSERT INTO feed_log (seq, at, change) VALUES (?, ?, ?)', seq, at, JSON.stringify(change));
      head = seq;
    }
    this.setMeta(head, floor);
    this.prune(Math.min(prunableThrough, head));
    return { head };
  }

  /** The entries after `after` (none when `after` is behind the floor: the reader must reload). */
  read(after: number): FeedRead {
    const { head, floor } = this.meta();
    return { head, floor, entries: after < floor ? [] : this.entries(after, FEED_READ_MAX_ENTRIES) };
  }
}
