import { DurableObject } from 'cloudflare:workers';
import { AuditLog, type AuditAction, type AuditPage } from './audit-log';
import { KvOutbox } from './kv-outbox';
import { GLOBAL_KV_KEY } from './storage-keys';

/** The single writer of the global "revoke everything issued before T" (one instance). */
export class GlobalState extends DurableObject<Env> {
  private readonly outbox: KvOutbox;
  private readonly audit: AuditLog;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS global_state (
      id INTEGER PRIMARY KEY CHECK (id = 1), revoked_before INTEGER NOT NULL)`);
    this.outbox = new KvOutbox(ctx.storage, () => this.env.REVOCATIONS);
    this.audit = new AuditLog(ctx.storage.sql);
  }

  state(): { revokedBefore: number } {
    const row = this.ctx.storage.sql
      .exec<{ revoked_before: number }>('SELECT revoked_before FROM global_state')
      .toArray()[0];
    return { revokedBefore: row?.revoked_before ?? 0 };
  }

  async revokeAll(input: { actor: string; reason: string }): Promise<{ revokedBefore: number }> {
    const now = Math.floor(Date.now() / 1000);
    const revokedBefore = Math.max(this.state().revokedBefore, now);
    this.ctx.storage.sql.exec('INSERT OR REPLACE INTO global_state (id, revoked_before) VALUES (1, ?)', revokedBefore);
    this.audit.append({ at: now, action: 'revoke_all', sub: null, actor: input.actor, reason: input.reason });
    this.outbox.enqueue(GLOBAL_KV_KEY, { revokedBefore });
    await this.writeThrough();
    return { revokedBefore };
  }

  auditPage(limit: number, cursor?: string, action?: AuditAction): AuditPage {
    return this.audit.page(limit, cursor, action);
  }

  override async alarm(): Promise<void> {
    await this.writeThrough();
  }

  private async writeThrough(): Promise<void> {
    await this.outbox.flush();
    const retryAt = this.outbox.retryAt();
    if (retryAt !== undefined) await this.ctx.storage.setAlarm(retryAt);
  }
}
