/** Audit events are kept this long, and at most this many per Durable Object. */
export const AUDIT_RETENTION_SECONDS = 90 * 24 * 3600;
export const AUDIT_MAX_EVENTS = 10_000;
export const AUDIT_PAGE_MAX = 200;

export const AUDIT_ACTIONS = [
  'revoke_user',
  'revoke_user_replay',
  'revoke_token',
  'revoke_all',
  'revoke_session',
  'refresh_reuse',
  'ssf_event',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface AuditEvent {
  readonly at: number;
  readonly action: AuditAction;
  readonly sub: string | null;
  readonly jti?: string;
  readonly actor: string;
  readonly reason?: string;
}

export interface AuditPage {
  readonly events: AuditEvent[];
  /** Pass back to get the next (older) page; absent on the last page. */
  readonly cursor?: string;
}

type AuditRow = {
  id: number;
  at: number;
  action: AuditAction;
  sub: string | null;
  jti: string | null;
  actor: string;
  reason: string | null;
};

/**
 * The audit trail of one Durable Object, in its SQLite storage, newest first. Never holds a
 * token or a key: actors are key fingerprints, tokens are their `jti` or digest.
 */
export class AuditLog {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS audit (
      id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, action TEXT NOT NULL,
      sub TEXT, jti TEXT, actor TEXT NOT NULL, reason TEXT)`);
    sql.exec('CREATE INDEX IF NOT EXISTS audit_at ON audit (at)');
  }

  append(event: AuditEvent): void {
    this.sql.exec(
      'INSERT INTO audit (at, action, sub, jti, actor, reason) VALUES (?, ?, ?, ?, ?, ?)',
      event.at,
      event.action,
      event.sub,
      event.jti ?? null,
      event.actor,
      event.reason ?? null,
    );
    this.sql.exec('DELETE FROM audit WHERE at < ?', event.at - AUDIT_RETENTION_SECONDS);
    this.sql.exec('DELETE FROM audit WHERE id <= (SELECT MAX(id) FROM audit) - ?', AUDIT_MAX_EVENTS);
  }

  /** `cursor` is the opaque value from the previous page; `action` keeps only events of that kind. */
  page(limit: number, cursor?: string, action?: AuditAction): AuditPage {
    const before = cursor === undefined ? Number.MAX_SAFE_INTEGER : Number(cursor);
    const rows = (
      action === undefined
        ? this.sql.exec<AuditRow>('SELECT * FROM audit WHERE id < ? ORDER BY id DESC LIMIT ?', before, limit + 1)
        : this.sql.exec<AuditRow>('SELECT * FROM audit WHERE id < ? AND action = ? ORDER BY id DESC LIMIT ?', before, action, limit + 1)
    ).toArray();
    const events = rows.slice(0, limit).map((row): AuditEvent => ({
      at: row.at,
      action: row.action,
      sub: row.sub,
      actor: row.actor,
      ...(row.jti === null ? {} : { jti: row.jti }),
      ...(row.reason === null ? {} : { reason: row.reason }),
    }));
    const last = rows[limit - 1];
    return rows.length > limit && last !== undefined ? { events, cursor: String(last.id) } : { events };
  }
}
