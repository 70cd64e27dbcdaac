import type { FeedChange, FeedEntry } from './feed-change';
import type { ActiveSet, FeedStore } from './feed-store';

/** The feed's storage in the Durable Object's SQLite (docs/storage.md "RevocationFeed"). */
export class SqlFeedStore implements FeedStore {
  private readonly sql: SqlStorage;

  constructor(private readonly storage: DurableObjectStorage) {
    const sql = (this.sql = storage.sql);
    sql.exec('CREATE TABLE IF NOT EXISTS feed_log (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, change TEXT NOT NULL)');
    sql.exec(`CREATE TABLE IF NOT EXISTS feed_meta (
      id INTEGER PRIMARY KEY CHECK (id = 1), head INTEGER NOT NULL, floor INTEGER NOT NULL)`);
    // The primary's active set (absolute states, merged with max) and its snapshot history.
    sql.exec('CREATE TABLE IF NOT EXISTS feed_global (id INTEGER PRIMARY KEY CHECK (id = 1), revoked_before INTEGER NOT NULL)');
    sql.exec(`CREATE TABLE IF NOT EXISTS feed_users (
      fp TEXT PRIMARY KEY, version INTEGER NOT NULL, revoked_before INTEGER NOT NULL, until INTEGER NOT NULL)`);
    sql.exec('CREATE TABLE IF NOT EXISTS feed_tokens (fp TEXT PRIMARY KEY, until INTEGER NOT NULL)');
    sql.exec('CREATE TABLE IF NOT EXISTS feed_snapshots (seq INTEGER NOT NULL, written_at INTEGER NOT NULL)');
    // The primary's view of each replica, kept across a restart.
    sql.exec('CREATE TABLE IF NOT EXISTS feed_replicas (replica INTEGER PRIMARY KEY, head INTEGER NOT NULL)');
    // The primary's lease offers (a table of their own: a lease is recorded before the replica's head is known).
    sql.exec('CREATE TABLE IF NOT EXISTS feed_replica_leases (replica INTEGER PRIMARY KEY, until INTEGER NOT NULL)');
    // A replica's own lease, kept across its restarts (a deploy): it serves reads only inside it.
    sql.exec('CREATE TABLE IF NOT EXISTS feed_lease (id INTEGER PRIMARY KEY CHECK (id = 1), until INTEGER NOT NULL)');
  }

  meta(): { head: number; floor: number } {
    return this.sql.exec<{ head: number; floor: number }>('SELECT head, floor FROM feed_meta').toArray()[0] ?? { head: 0, floor: 0 };
  }

  setMeta(head: number, floor: number): void {
    this.sql.exec('INSERT OR REPLACE INTO feed_meta (id, head, floor) VALUES (1, ?, ?)', head, floor);
  }

  appendLog(seq: number, at: number, change: FeedChange): void {
    this.sql.exec('INSERT INTO feed_log (seq, at, change) VALUES (?, ?, ?)', seq, at, JSON.stringify(change));
  }

  entries(after: number, limit: number): FeedEntry[] {
    return this.sql
      .exec<{ seq: number; change: string }>('SELECT seq, change FROM feed_log WHERE seq > ? ORDER BY seq LIMIT ?', after, limit)
      .toArray()
      .map((row) => ({ ...(JSON.parse(row.change) as FeedChange), seq: row.seq }));
  }

  lastSeqBefore(at: number): number {
    return this.sql.exec<{ seq: number | null }>('SELECT MAX(seq) AS seq FROM feed_log WHERE at < ?', at).one().seq ?? 0;
  }

  deleteLogThrough(seq: number): void {
    this.sql.exec('DELETE FROM feed_log WHERE seq <= ?', seq);
  }

  clearLog(): void {
    this.sql.exec('DELETE FROM feed_log');
  }

  materialize(change: FeedChange): void {
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

  dropExpired(nowSeconds: number): void {
    this.sql.exec('DELETE FROM feed_users WHERE until <= ?', nowSeconds);
    this.sql.exec('DELETE FROM feed_tokens WHERE until <= ?', nowSeconds);
  }

  activeSet(): ActiveSet {
    const { sql } = this;
    const count = (table: string) => sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`).one().n;
    return {
      globalRevokedBefore: sql.exec<{ r: number | null }>('SELECT MAX(revoked_before) AS r FROM feed_global').one().r ?? 0,
      userCount: count('feed_users'),
      tokenCount: count('feed_tokens'),
      // raw() rows, one at a time off the cursor: nothing holds the whole table as objects.
      forEachUser(row) {
        for (const [fp, version, revokedBefore, until] of sql
          .exec<{ fp: string; version: number; revoked_before: number; until: number }>(
            'SELECT fp, version, revoked_before, until FROM feed_users',
          )
          .raw())
          row(fp as string, version as number, revokedBefore as number, until as number);
      },
      forEachToken(row) {
        for (const [fp, until] of sql.exec<{ fp: string; until: number }>('SELECT fp, until FROM feed_tokens').raw())
          row(fp as string, until as number);
      },
    };
  }

  recordSnapshot(seq: number, writtenAt: number): void {
    this.sql.exec('INSERT INTO feed_snapshots (seq, written_at) VALUES (?, ?)', seq, writtenAt);
  }

  lastSnapshotSeq(writtenBy = Number.MAX_SAFE_INTEGER): number {
    return (
      this.sql.exec<{ seq: number | null }>('SELECT MAX(seq) AS seq FROM feed_snapshots WHERE written_at <= ?', writtenBy).one().seq ?? 0
    );
  }

  forgetSnapshotsBefore(writtenAt: number): void {
    this.sql.exec('DELETE FROM feed_snapshots WHERE written_at < ?', writtenAt);
  }

  replicaHead(replica: number): number | undefined {
    return this.sql.exec<{ head: number }>('SELECT head FROM feed_replicas WHERE replica = ?', replica).toArray()[0]?.head;
  }

  setReplicaHead(replica: number, head: number): void {
    this.sql.exec('INSERT OR REPLACE INTO feed_replicas (replica, head) VALUES (?, ?)', replica, head);
  }

  replicaLease(replica: number): number {
    return this.sql.exec<{ until: number }>('SELECT until FROM feed_replica_leases WHERE replica = ?', replica).toArray()[0]?.until ?? 0;
  }

  setReplicaLease(replica: number, until: number): void {
    this.sql.exec('INSERT OR REPLACE INTO feed_replica_leases (replica, until) VALUES (?, ?)', replica, until);
  }

  lease(): number {
    return this.sql.exec<{ until: number }>('SELECT until FROM feed_lease').toArray()[0]?.until ?? 0;
  }

  setLease(until: number): void {
    this.sql.exec('INSERT OR REPLACE INTO feed_lease (id, until) VALUES (1, ?)', until);
  }

  getAlarm(): Promise<number | null> {
    return this.storage.getAlarm();
  }

  async setAlarm(at: number): Promise<void> {
    await this.storage.setAlarm(at);
  }
}
