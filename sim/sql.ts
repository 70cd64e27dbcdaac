/**
 * An in-memory SqlStorage for the feed's Durable Object (src/revocation/revocation-feed.ts), so
 * its real code runs in the simulation. It knows exactly the statements that code runs (matched
 * whitespace-insensitively) and throws on any other: a changed query fails loudly, never silently
 * does something else. Storage survives an object restart; the object's memory does not.
 */
type Row = Record<string, unknown>;
type Handler = (params: unknown[]) => Row[];

interface LogRow {
  seq: number;
  at: number;
  change: string;
}

export class SimSql {
  private log: LogRow[] = [];
  private meta: { head: number; floor: number } | undefined;
  private global: number | undefined;
  private readonly users = new Map<string, { version: number; revoked_before: number; until: number }>();
  private readonly tokens = new Map<string, number>();
  private snapshots: { seq: number; written_at: number }[] = [];
  private readonly handlers = new Map<string, Handler>();

  constructor() {
    const num = (value: unknown) => value as number;
    const max = (values: number[]) => (values.length === 0 ? null : Math.max(...values));
    const on = (sql: string, handler: Handler) => this.handlers.set(normalise(sql), handler);
    on('SELECT head, floor FROM feed_meta', () => (this.meta === undefined ? [] : [{ ...this.meta }]));
    on('INSERT OR REPLACE INTO feed_meta (id, head, floor) VALUES (1, ?, ?)', ([head, floor]) => {
      this.meta = { head: num(head), floor: num(floor) };
      return [];
    });
    on('SELECT seq, change FROM feed_log WHERE seq > ? ORDER BY seq LIMIT ?', ([after, limit]) => {
      const start = this.firstAfter(num(after));
      return this.log.slice(start, start + num(limit)).map((row) => ({ seq: row.seq, change: row.change }));
    });
    on('INSERT INTO feed_log (seq, at, change) VALUES (?, ?, ?)', ([seq, at, change]) => {
      const last = this.log[this.log.length - 1];
      if (last !== undefined && last.seq >= num(seq)) throw new Error(`UNIQUE constraint failed: feed_log.seq (${String(seq)})`);
      this.log.push({ seq: num(seq), at: num(at), change: change as string });
      return [];
    });
    on('DELETE FROM feed_log WHERE seq <= ?', ([through]) => {
      this.log = this.log.slice(this.firstAfter(num(through)));
      return [];
    });
    on('DELETE FROM feed_log', () => {
      this.log = [];
      return [];
    });
    on('SELECT MAX(seq) AS seq FROM feed_log WHERE at < ?', ([before]) => [
      { seq: max(this.log.filter((row) => row.at < num(before)).map((row) => row.seq)) },
    ]);
    on(
      `INSERT INTO feed_global (id, revoked_before) VALUES (1, ?)
         ON CONFLICT (id) DO UPDATE SET revoked_before = max(revoked_before, excluded.revoked_before)`,
      ([revokedBefore]) => {
        this.global = Math.max(this.global ?? 0, num(revokedBefore));
        return [];
      },
    );
    on(
      `INSERT INTO feed_users (fp, version, revoked_before, until) VALUES (?, ?, ?, ?)
         ON CONFLICT (fp) DO UPDATE SET version = max(version, excluded.version),
           revoked_before = max(revoked_before, excluded.revoked_before), until = max(until, excluded.until)`,
      ([fp, version, revokedBefore, until]) => {
        const old = this.users.get(fp as string) ?? { version: 0, revoked_before: 0, until: 0 };
        this.users.set(fp as string, {
          version: Math.max(old.version, num(version)),
          revoked_before: Math.max(old.revoked_before, num(revokedBefore)),
          until: Math.max(old.until, num(until)),
        });
        return [];
      },
    );
    on(
      'INSERT INTO feed_tokens (fp, until) VALUES (?, ?) ON CONFLICT (fp) DO UPDATE SET until = max(until, excluded.until)',
      ([fp, until]) => {
        this.tokens.set(fp as string, Math.max(this.tokens.get(fp as string) ?? 0, num(until)));
        return [];
      },
    );
    on('SELECT MAX(seq) AS seq FROM feed_snapshots WHERE written_at <= ?', ([at]) => [
      { seq: max(this.snapshots.filter((row) => row.written_at <= num(at)).map((row) => row.seq)) },
    ]);
    on('SELECT MAX(seq) AS seq FROM feed_snapshots', () => [{ seq: max(this.snapshots.map((row) => row.seq)) }]);
    on('INSERT INTO feed_snapshots (seq, written_at) VALUES (?, ?)', ([seq, at]) => {
      this.snapshots.push({ seq: num(seq), written_at: num(at) });
      return [];
    });
    on('DELETE FROM feed_snapshots WHERE written_at < ?', ([at]) => {
      this.snapshots = this.snapshots.filter((row) => row.written_at >= num(at));
      return [];
    });
    on('DELETE FROM feed_users WHERE until <= ?', ([at]) => {
      for (const [fp, user] of this.users) if (user.until <= num(at)) this.users.delete(fp);
      return [];
    });
    on('DELETE FROM feed_tokens WHERE until <= ?', ([at]) => {
      for (const [fp, until] of this.tokens) if (until <= num(at)) this.tokens.delete(fp);
      return [];
    });
    on('SELECT MAX(revoked_before) AS r FROM feed_global', () => [{ r: this.global ?? null }]);
    on('SELECT * FROM feed_users', () => [...this.users].map(([fp, user]) => ({ fp, ...user })));
    on('SELECT fp, until FROM feed_tokens', () => [...this.tokens].map(([fp, until]) => ({ fp, until })));
  }

  exec<T = Row>(sql: string, ...params: unknown[]): { toArray(): T[]; one(): T } {
    const statement = normalise(sql);
    const rows = statement.startsWith('CREATE TABLE') ? [] : this.handler(statement)(params);
    return {
      toArray: () => rows as T[],
      one: () => {
        if (rows.length !== 1) throw new Error(`sim sql: one() on ${rows.length} rows`);
        return rows[0] as T;
      },
    };
  }

  private handler(statement: string): Handler {
    const handler = this.handlers.get(statement);
    if (handler === undefined) throw new Error(`sim sql: a statement the simulation does not know: ${statement}`);
    return handler;
  }

  /** Index of the first log row with seq > `after` (the log is in seq order). */
  private firstAfter(after: number): number {
    let lo = 0;
    let hi = this.log.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.log[mid]!.seq <= after) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function normalise(sql: string): string {
  return sql.replace(/\s+/g, ' ').trim();
}
