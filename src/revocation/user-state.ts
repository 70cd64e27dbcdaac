import { DurableObject } from 'cloudflare:workers';
import { AuditLog, type AuditAction, type AuditPage } from './audit-log';
import { UNTIL_NEVER, type FeedChange } from '../feed/feed-change';
import { RefreshFamilies, type AccessTokenRef, type SessionRef, type SessionSummary } from './refresh-families';
import { fingerprintOf, idempotentRequestDigest, issuerTokenKvKey, tokenKvKey, userKvKey } from './storage-keys';
import { nowSeconds } from '../clock';
import { WriteThrough } from './write-through';

export interface RevokeUserInput {
  readonly sub: string;
  /** The user's namespace (src/revocation/storage-keys.ts); undefined: the shared one. */
  readonly namespace?: string;
  readonly actor: string;
  readonly reason?: string;
  /**
   * How long after the change the user's feed entry matters: MAX_TOKEN_LIFETIME_SECONDS +
   * 2 × CLOCK_TOLERANCE_SECONDS (every token minted before it has expired by then). Absent: forever.
   */
  readonly entryLifetimeSeconds?: number;
  /**
   * A retried call with the same key (24 h) from the same admin identity (`actor`, a key
   * fingerprint, never the key) and the same body returns the first call's answer instead of
   * bumping again; the same key with another body is a conflict.
   */
  readonly idempotencyKey?: string;
}

/** How an `Idempotency-Key` was used: absent on a first call (or without a key). */
export type IdempotentOutcome = 'replayed' | 'conflict';

/** docs/reference.md §7: revoke what was issued up to `instant` (a security event's time), not up to now. */
export interface RevokeIssuedBeforeInput {
  readonly sub: string;
  /** The user's namespace (src/revocation/storage-keys.ts); undefined: the shared one. */
  readonly namespace?: string;
  /** NumericDate: max(the SET's iat, its event_timestamp). */
  readonly instant: number;
  readonly actor: string;
  readonly reason: string;
  /** As RevokeUserInput's: the feed entry lives this long from the change, not from `instant`. */
  readonly entryLifetimeSeconds?: number;
}
export interface UserSnapshot {
  readonly sub: string;
  readonly version: number;
  readonly revokedBefore: number;
}

/**
 * What a writer reports besides its answer: the feed entries of the change (for the handling
 * isolate's own mirror) and whether the feed had every queued change when it answered.
 */
export interface Propagation {
  readonly propagated: boolean;
  readonly changes: readonly FeedChange[];
}

/** Idempotency keys of user revocations are remembered this long. */
export const IDEMPOTENCY_RETENTION_SECONDS = 24 * 3600;

export interface RevokeTokenInput {
  readonly sub: string;
  /** The user's namespace (src/revocation/storage-keys.ts); undefined: the shared one. */
  readonly namespace?: string;
  /** The token's issuer; null revokes this id for every issuer. */
  readonly iss: string | null;
  /** The `jti`, or `sha256:<digest>` for a token without one. */
  readonly tokenId: string;
  readonly exp: number;
  /** When the entry may be forgotten: `exp` plus the clock tolerance. */
  readonly forgetAt: number;
  readonly actor: string;
  readonly reason?: string;
}

/** A token named by (`iss`, `jti`) alone, whoever its user (storage-keys.ts issuerTokenKvKey). */
export type IssuerTokenInput = Omit<RevokeTokenInput, 'sub' | 'namespace' | 'iss'> & { readonly iss: string };

export interface RevokedToken {
  readonly jti: string;
  readonly iss: string | null;
  readonly exp: number;
  readonly revokedAt: number;
  readonly reason: string | null;
}

export interface StartSessionInput {
  readonly sub: string;
  readonly familyId: string;
  /** SHA-256 of the refresh token: the token itself never reaches storage. */
  readonly digest: string;
  readonly scope?: string;
  readonly claims?: Record<string, unknown>;
  readonly tokenTtl: number;
  readonly familyMaxAge: number;
  readonly access: AccessTokenRef;
}

export interface RefreshInput {
  readonly sub: string;
  readonly digest: string;
  readonly newDigest: string;
  readonly tokenTtl: number;
  readonly access: AccessTokenRef;
  /** CLOCK_TOLERANCE_SECONDS, for denylisting the family's access token on a replay. */
  readonly clockTolerance: number;
  /** The global revoked-before: sessions that started at or before it are over. */
  readonly startedAfter: number;
}

/** A successful refresh: what the new access token carries. Claims travel as JSON text. */
export interface RefreshGrant {
  readonly familyId: string;
  readonly version: number;
  readonly scope: string | null;
  readonly claimsJson: string | null;
}

export interface UserCheck {
  readonly version: number;
  readonly revokedBefore: number;
  readonly tokenRevoked: boolean;
}

/**
 * The single writer of one user's revocation state (one instance per `sub`). Its methods
 * run one at a time against SQLite with no await between read and write, so concurrent
 * revocations serialize: N bumps raise the version by exactly N. Every change is queued for
 * KV in the same step and written through before the call returns (or retried by alarm).
 */
export class UserState extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** KV and bounded mode's feed, fed by the same commit (docs/reference.md §4.1). */
  private readonly outboxes: WriteThrough;
  private readonly audit: AuditLog;
  private readonly sessions: RefreshFamilies;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS user_state (
      id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL, revoked_before INTEGER NOT NULL)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS revoked_tokens (
      kv_key TEXT PRIMARY KEY, iss TEXT, token_id TEXT NOT NULL, exp INTEGER NOT NULL,
      forget_at INTEGER NOT NULL, revoked_at INTEGER NOT NULL, reason TEXT)`);
    // Pruning and the next-expiry alarm look rows up by forget_at on every write.
    this.sql.exec('CREATE INDEX IF NOT EXISTS revoked_tokens_forget_at ON revoked_tokens (forget_at)');
    // v1 kept keys by the header alone (any admin's retry with another body replayed): dropped,
    // a lost key costs at most one extra bump of a retried revocation.
    this.sql.exec('DROP TABLE IF EXISTS idempotency_keys');
    this.sql.exec(`CREATE TABLE IF NOT EXISTS idempotent_revocations (
      actor TEXT NOT NULL, key TEXT NOT NULL, request TEXT NOT NULL, at INTEGER NOT NULL, result TEXT NOT NULL,
      PRIMARY KEY (actor, key))`);
    this.outboxes = new WriteThrough(ctx.storage, () => this.env);
    this.audit = new AuditLog(this.sql);
    this.sessions = new RefreshFamilies(this.sql);
  }

  private current(): { version: number; revokedBefore: number } {
    const row = this.sql.exec<{ version: number; revoked_before: number }>('SELECT version, revoked_before FROM user_state').toArray()[0];
    return { version: row?.version ?? 0, revokedBefore: row?.revoked_before ?? 0 };
  }

  /** Bumps the version and sets revoked-before to now (never backwards). */
  async revokeUser(input: RevokeUserInput): Promise<UserSnapshot & Propagation & { idempotent?: IdempotentOutcome }> {
    // Awaits come before the read-modify-write: nothing may interleave between the two.
    const key = await userKvKey(input.sub, input.namespace);
    const request = input.idempotencyKey === undefined ? '' : await idempotentRequestDigest(input.sub, input.reason ?? null);
    const now = nowSeconds();
    if (input.idempotencyKey !== undefined) {
      const first = this.idempotentResult(input.actor, input.idempotencyKey, now);
      if (first !== undefined && first.request !== request) {
        return { sub: input.sub, ...this.current(), idempotent: 'conflict', propagated: true, changes: [] };
      }
      if (first !== undefined) {
        this.audit.append({ at: now, action: 'revoke_user_replay', sub: input.sub, actor: input.actor, reason: input.reason });
        return { ...first.result, idempotent: 'replayed', propagated: await this.writeThrough(), changes: [] };
      }
    }
    const before = this.current();
    const state = { version: before.version + 1, revokedBefore: Math.max(before.revokedBefore, now) };
    this.sql.exec('INSERT OR REPLACE INTO user_state (id, version, revoked_before) VALUES (1, ?, ?)', state.version, state.revokedBefore);
    this.sessions.revokeAll(now);
    this.audit.append({ at: now, action: 'revoke_user', sub: input.sub, actor: input.actor, reason: input.reason });
    const until = input.entryLifetimeSeconds === undefined ? UNTIL_NEVER : now + input.entryLifetimeSeconds;
    const change: FeedChange = { kind: 'user', fp: fingerprintOf(key), ...state, until };
    this.outboxes.enqueue(key, state, change);
    const answer = { sub: input.sub, ...state };
    if (input.idempotencyKey !== undefined) {
      this.sql.exec(
        'INSERT OR REPLACE INTO idempotent_revocations (actor, key, request, at, result) VALUES (?, ?, ?, ?, ?)',
        input.actor,
        input.idempotencyKey,
        request,
        now,
        JSON.stringify(answer),
      );
    }
    return { ...answer, propagated: await this.writeThrough(), changes: [change] };
  }

  private idempotentResult(actor: string, key: string, now: number): { request: string; result: UserSnapshot } | undefined {
    const row = this.sql
      .exec<{ request: string; result: string }>(
        'SELECT request, result FROM idempotent_revocations WHERE actor = ? AND key = ? AND at > ?',
        actor,
        key,
        now - IDEMPOTENCY_RETENTION_SECONDS,
      )
      .toArray()[0];
    return row === undefined ? undefined : { request: row.request, result: JSON.parse(row.result) as UserSnapshot };
  }

  /**
   * docs/reference.md §7's time rule: revoked-before becomes max(current, min(now, instant)), and the
   * version rises only when that moved. A replayed or late event never refuses a token
   * issued after the event, and a duplicate changes nothing. Sessions started by then end.
   */
  async revokeIssuedBefore(input: RevokeIssuedBeforeInput): Promise<UserSnapshot & { moved: boolean } & Propagation> {
    const key = await userKvKey(input.sub, input.namespace);
    const now = nowSeconds();
    const before = this.current();
    const revokedBefore = Math.max(before.revokedBefore, Math.min(now, input.instant));
    const moved = revokedBefore !== before.revokedBefore;
    // A no-op (a retry after a 503, or an event older than the user's last revocation): nothing
    // new to store, nothing for the user's trail (a flood of such SETs would evict admin history:
    // the stream's own trail records it), but the feed may still lack the first change.
    if (!moved) return { sub: input.sub, ...before, moved, propagated: await this.writeThrough(), changes: [] };
    this.audit.append({
      at: now,
      action: 'ssf_event',
      sub: input.sub,
      actor: input.actor,
      reason: `${input.reason}: revoked before ${revokedBefore}`,
    });
    const state = { version: before.version + 1, revokedBefore };
    this.sql.exec('INSERT OR REPLACE INTO user_state (id, version, revoked_before) VALUES (1, ?, ?)', state.version, state.revokedBefore);
    this.sessions.revokeAll(now, revokedBefore);
    // Bounded mode's feed, with the lifetime of an admin revocation's entry: from now (the change), not from `instant`.
    const until = input.entryLifetimeSeconds === undefined ? UNTIL_NEVER : now + input.entryLifetimeSeconds;
    const change: FeedChange = { kind: 'user', fp: fingerprintOf(key), ...state, until };
    this.outboxes.enqueue(key, state, change);
    return { sub: input.sub, ...state, moved, propagated: await this.writeThrough(), changes: [change] };
  }

  /** Denylists one token until `forgetAt`. Revoking it again keeps the first entry. */
  async revokeToken(input: RevokeTokenInput): Promise<{ revokedAt: number } & Propagation> {
    return this.denylist(await tokenKvKey(input.sub, input.iss, input.tokenId, input.namespace), input);
  }

  /** In the object named issuerTokenObjectName(iss, jti): denylists that token for every user. */
  async revokeIssuerToken(input: IssuerTokenInput): Promise<{ revokedAt: number } & Propagation> {
    return this.denylist(await issuerTokenKvKey(input.iss, input.tokenId), { ...input, sub: null });
  }

  /** Strict checks, in the object named issuerTokenObjectName(iss, jti): is that token denylisted. */
  async issuerTokenRevoked(iss: string, jti: string): Promise<boolean> {
    const key = await issuerTokenKvKey(iss, jti);
    return this.sql.exec('SELECT 1 FROM revoked_tokens WHERE kv_key = ? AND forget_at >= ?', key, nowSeconds()).toArray().length > 0;
  }

  private async denylist(
    key: string,
    input: Omit<RevokeTokenInput, 'sub'> & { readonly sub: string | null },
  ): Promise<{ revokedAt: number } & Propagation> {
    const now = nowSeconds();
    const change: FeedChange = { kind: 'token', fp: fingerprintOf(key), until: input.forgetAt };
    const existing = this.sql.exec<{ revoked_at: number }>('SELECT revoked_at FROM revoked_tokens WHERE kv_key = ?', key).toArray()[0];
    // A retry (say after a 503): nothing new to store, but the feed may still lack it.
    if (existing !== undefined) return { revokedAt: existing.revoked_at, propagated: await this.writeThrough(), changes: [change] };
    this.sql.exec(
      'INSERT INTO revoked_tokens (kv_key, iss, token_id, exp, forget_at, revoked_at, reason) VALUES (?, ?, ?, ?, ?, ?, ?)',
      key,
      input.iss,
      input.tokenId,
      input.exp,
      input.forgetAt,
      now,
      input.reason ?? null,
    );
    this.audit.append({
      at: now,
      action: 'revoke_token',
      sub: input.sub,
      jti: input.tokenId,
      actor: input.actor,
      reason: input.reason,
    });
    this.outboxes.enqueue(key, { revokedAt: now, exp: input.exp }, change, input.forgetAt);
    return { revokedAt: now, propagated: await this.writeThrough(), changes: [change] };
  }

  /** A login: a new refresh family. Returns the version to put in the access token. */
  startSession(input: StartSessionInput): { version: number } {
    const now = nowSeconds();
    this.sessions.start({
      familyId: input.familyId,
      digest: input.digest,
      now,
      tokenExpiresAt: now + Math.min(input.tokenTtl, input.familyMaxAge),
      familyExpiresAt: now + input.familyMaxAge,
      scope: input.scope,
      claims: input.claims,
      access: input.access,
    });
    return { version: this.current().version };
  }

  /** RFC 6749 §6 with rotation; a replayed refresh token revokes its whole family. */
  async refresh(input: RefreshInput): Promise<RefreshGrant | null> {
    const now = nowSeconds();
    const result = this.sessions.rotate({
      digest: input.digest,
      newDigest: input.newDigest,
      now,
      tokenTtl: input.tokenTtl,
      access: input.access,
      startedAfter: input.startedAfter,
    });
    if (result.ok) {
      return { familyId: result.familyId, version: this.current().version, scope: result.scope, claimsJson: result.claimsJson };
    }
    if (result.revokedFamily !== undefined) {
      this.audit.append({ at: now, action: 'refresh_reuse', sub: input.sub, actor: 'self', reason: 'refresh token replayed' });
      await this.denylistAccessToken(input.sub, result.revokedFamily.lastAccess, input.clockTolerance, 'refresh token replayed');
    }
    return null;
  }

  /** Ends a session (RFC 7009 for a refresh token, or a logout); `ended` false when nothing was live. */
  async revokeSession(input: {
    sub: string;
    session: SessionRef;
    actor: string;
    reason?: string;
    clockTolerance: number;
  }): Promise<{ ended: boolean } & Propagation> {
    const now = nowSeconds();
    const revoked = this.sessions.revoke(input.session, now);
    // Already ended (a retry after a 503, say): nothing new to store, but the feed may still lack it.
    if (revoked === undefined) return { ended: false, propagated: await this.writeThrough(), changes: [] };
    this.audit.append({ at: now, action: 'revoke_session', sub: input.sub, actor: input.actor, reason: input.reason });
    return { ended: true, ...(await this.denylistAccessToken(input.sub, revoked.lastAccess, input.clockTolerance, input.reason)) };
  }

  private async denylistAccessToken(
    sub: string,
    access: AccessTokenRef | null,
    clockTolerance: number,
    reason?: string,
  ): Promise<Propagation> {
    if (access === null) return { propagated: true, changes: [] };
    return this.revokeToken({
      sub,
      iss: access.iss,
      tokenId: access.jti,
      exp: access.exp,
      forgetAt: access.exp + clockTolerance,
      actor: 'self',
      reason,
    });
  }

  /** The authoritative answer for strict checks and introspection. */
  async check(input: { sub: string; namespace?: string; iss: string; tokenId: string }): Promise<UserCheck> {
    const [exact, anyIssuer] = await Promise.all([
      tokenKvKey(input.sub, input.iss, input.tokenId, input.namespace),
      tokenKvKey(input.sub, null, input.tokenId, input.namespace),
    ]);
    const now = nowSeconds();
    const hit = this.sql.exec('SELECT 1 FROM revoked_tokens WHERE kv_key IN (?, ?) AND forget_at >= ?', exact, anyIssuer, now).toArray();
    return { ...this.current(), tokenRevoked: hit.length > 0 };
  }

  /** `startedAfter`: the global revoked-before, which ends the sessions started before it. */
  state(sub: string, startedAfter = 0): UserSnapshot & { revokedTokens: RevokedToken[]; sessions: SessionSummary[] } {
    this.prune();
    const revokedTokens = this.sql
      .exec<{ token_id: string; iss: string | null; exp: number; revoked_at: number; reason: string | null }>(
        'SELECT token_id, iss, exp, revoked_at, reason FROM revoked_tokens ORDER BY revoked_at DESC, token_id',
      )
      .toArray()
      .map((r) => ({ jti: r.token_id, iss: r.iss, exp: r.exp, revokedAt: r.revoked_at, reason: r.reason }));
    return { sub, ...this.current(), revokedTokens, sessions: this.sessions.list(startedAfter) };
  }

  auditPage(limit: number, cursor?: string, action?: AuditAction): AuditPage {
    return this.audit.page(limit, cursor, action);
  }

  /** Retries KV writes that failed, and forgets denylist entries of expired tokens. */
  override async alarm(): Promise<void> {
    await this.writeThrough();
  }

  private prune(): void {
    const now = nowSeconds();
    this.sql.exec('DELETE FROM revoked_tokens WHERE forget_at < ?', now);
    this.sql.exec('DELETE FROM idempotent_revocations WHERE at <= ?', now - IDEMPOTENCY_RETENTION_SECONDS);
    this.sessions.prune(now);
  }

  /** Flushes the outboxes, then arms the alarm for a retry or the next expiry. True when the feed has every change. */
  private async writeThrough(): Promise<boolean> {
    this.prune();
    return this.outboxes.flush(() => {
      const nextExpiry = this.sql.exec<{ at: number | null }>('SELECT MIN(forget_at) AS at FROM revoked_tokens').one().at;
      return nextExpiry === null ? undefined : (nextExpiry + 1) * 1000;
    });
  }
}
