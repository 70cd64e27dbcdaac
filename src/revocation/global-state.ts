import { DurableObject } from 'cloudflare:workers';
import { AuditLog, type AuditAction, type AuditPage } from './audit-log';
import type { FeedChange } from '../feed/feed-change';
import { GLOBAL_KV_KEY } from './storage-keys';
import type { Propagation } from './user-state';
import { WriteThrough } from './write-through';
import { nowSeconds } from '../clock';

/** The single writer of the global "revoke everything issued before T" (one instance). */
export class GlobalState extends DurableObject<Env> {
  /** KV and bounded mode's feed, fed by the same commit (docs/reference.md §4.1). */
  private readonly outboxes: WriteThrough;
  private readonly audit: AuditLog;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS global_state (
      id INTEGER PRIMARY KEY CHECK (id = 1), revoked_before INTEGER NOT NULL)`);
    this.outboxes = new WriteThrough(ctx.storage, () => this.env);
    this.audit = new AuditLog(ctx.storage.sql);
  }

  state(): { revokedBefore: number } {
    const row = this.ctx.storage.sql.exec<{ revoked_before: number }>('SELECT revoked_before FROM global_state').toArray()[0];
    return { revokedBefore: row?.revoked_before ?? 0 };
  }

  async revokeAll(input: { actor: string; reason: string }): Promise<{ revokedBefore: number } & Propagation> {
    const now = nowSeconds();
    const revokedBefore = Math.max(this.state().revokedBefore, now);
    this.ctx.storage.sql.exec('INSERT OR REPLACE INTO global_state (id, revoked_before) VALUES (1, ?)', revokedBefore);
    this.audit.append({ at: now, action: 'revoke_all', sub: null, actor: input.actor, reason: input.reason });
    const change: FeedChange = { kind: 'global', revokedBefore };
    this.outboxes.enqueue(GLOBAL_KV_KEY, { revokedBefore }, change);
    return { revokedBefore, propagated: await this.outboxes.flush(), changes: [change] };
  }

  auditPage(limit: number, cursor?: string, action?: AuditAction): AuditPage {
    return this.audit.page(limit, cursor, action);
  }

  /** Retries what did not land. */
  override async alarm(): Promise<void> {
    await this.outboxes.flush();
  }
}
