import { DurableObject } from 'cloudflare:workers';
import { AuditLog, type AuditAction, type AuditPage } from './audit-log';
import type { FeedChange } from './feed-change';
import { KvOutbox, kvSink } from './kv-outbox';
import { feedSink } from './feed-client';
import { GLOBAL_KV_KEY } from './storage-keys';
import type { Propagation } from './user-state';
import { nowSeconds } from '../clock';

/** The single writer of the global "revoke everything issued before T" (one instance). */
export class GlobalState extends DurableObject<Env> {
  private readonly outbox: KvOutbox;
  /** Bounded mode's feed, fed by the same commit as KV (docs/reference.md §4.1). */
  private readonly feedOutbox: KvOutbox;
  private readonly audit: AuditLog;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS global_state (
      id INTEGER PRIMARY KEY CHECK (id = 1), revoked_before INTEGER NOT NULL)`);
    this.outbox = new KvOutbox(
      ctx.storage,
      kvSink(() => this.env.REVOCATIONS),
    );
    this.feedOutbox = new KvOutbox(
      ctx.storage,
      feedSink(() => this.env.REVOCATION_FEED),
      'feed_outbox',
      'feed_append_failed',
    );
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
    this.outbox.enqueue(GLOBAL_KV_KEY, { revokedBefore });
    const change: FeedChange = { kind: 'global', revokedBefore };
    this.feedOutbox.enqueue(GLOBAL_KV_KEY, change);
    return { revokedBefore, propagated: await this.writeThrough(), changes: [change] };
  }

  auditPage(limit: number, cursor?: string, action?: AuditAction): AuditPage {
    return this.audit.page(limit, cursor, action);
  }

  override async alarm(): Promise<void> {
    await this.writeThrough();
  }

  /** True when the feed has every change. */
  private async writeThrough(): Promise<boolean> {
    const [, propagated] = await Promise.all([this.outbox.flush(), this.feedOutbox.flush()]);
    const retries = [this.outbox.retryAt(), this.feedOutbox.retryAt()].filter((t): t is number => t !== undefined);
    if (retries.length > 0) await this.ctx.storage.setAlarm(Math.min(...retries));
    else await this.ctx.storage.deleteAlarm(); // the one armed before the flush
    return propagated;
  }
}
