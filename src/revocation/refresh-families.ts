/**
 * Refresh-token families (sessions) of one user, in the user's Durable Object (docs/reference.md §6).
 * A family is one login; each refresh rotates its token. Tokens are stored only as SHA-256
 * digests. Presenting a token that was already rotated is a replay: the whole family is
 * revoked (RFC 9700 §4.14). All methods are synchronous, so a refresh is atomic: of two
 * concurrent refreshes with the same token exactly one succeeds.
 */

/** The last access token minted for a family, denylisted when the family is revoked. */
export interface AccessTokenRef {
  readonly iss: string;
  readonly jti: string;
  readonly exp: number;
}

/** A session, named by one of its refresh tokens (digest) or by its id. */
export type SessionRef = { readonly digest: string } | { readonly familyId: string };

export interface SessionGrant {
  readonly familyId: string;
  readonly scope: string | null;
  readonly claimsJson: string | null;
}

export type RotateResult =
  | ({ readonly ok: true } & SessionGrant)
  | { readonly ok: false; readonly revokedFamily?: { id: string; lastAccess: AccessTokenRef | null } };

/** A session as an operator sees it (GET /v1/admin/users/:sub): never a token or its digest. */
export interface SessionSummary {
  readonly id: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly revokedAt: number | null;
  readonly scope: string | null;
  /** `revoked`: this session, or its user, was revoked; `revoked_all`: a revoke-all ended it. */
  readonly state: 'active' | 'revoked' | 'revoked_all';
}

/** The user state lists this many sessions at most, newest first. */
export const MAX_LISTED_SESSIONS = 100;

type FamilyRow = {
  id: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  scope: string | null;
  claims: string | null;
  access_iss: string | null;
  access_jti: string | null;
  access_exp: number | null;
};
type TokenRow = { family: string; expires_at: number; rotated_at: number | null };

export class RefreshFamilies {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS refresh_families (
      id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, revoked_at INTEGER,
      scope TEXT, claims TEXT, access_iss TEXT, access_jti TEXT, access_exp INTEGER)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS refresh_tokens (
      digest TEXT PRIMARY KEY, family TEXT NOT NULL, issued_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL, rotated_at INTEGER)`);
    sql.exec('CREATE INDEX IF NOT EXISTS refresh_tokens_expires_at ON refresh_tokens (expires_at)');
    sql.exec('CREATE INDEX IF NOT EXISTS refresh_tokens_family ON refresh_tokens (family)');
    sql.exec('CREATE INDEX IF NOT EXISTS refresh_families_expires_at ON refresh_families (expires_at)');
  }

  start(input: {
    familyId: string;
    digest: string;
    now: number;
    tokenExpiresAt: number;
    familyExpiresAt: number;
    scope?: string;
    claims?: Record<string, unknown>;
    access: AccessTokenRef;
  }): void {
    this.sql.exec(
      `INSERT INTO refresh_families (id, created_at, expires_at, scope, claims, access_iss, access_jti, access_exp)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      input.familyId,
      input.now,
      input.familyExpiresAt,
      input.scope ?? null,
      input.claims === undefined ? null : JSON.stringify(input.claims),
      input.access.iss,
      input.access.jti,
      input.access.exp,
    );
    this.sql.exec(
      'INSERT INTO refresh_tokens (digest, family, issued_at, expires_at) VALUES (?, ?, ?, ?)',
      input.digest,
      input.familyId,
      input.now,
      input.tokenExpiresAt,
    );
  }

  /** Swaps `digest` for `newDigest`, or refuses (and revokes the family on a replay). */
  rotate(input: {
    digest: string;
    newDigest: string;
    now: number;
    tokenTtl: number;
    access: AccessTokenRef;
    startedAfter: number;
  }): RotateResult {
    const token = this.sql
      .exec<TokenRow>('SELECT family, expires_at, rotated_at FROM refresh_tokens WHERE digest = ?', input.digest)
      .toArray()[0];
    if (token === undefined) return { ok: false };
    const family = this.family(token.family);
    if (family === undefined || family.revoked_at !== null || family.expires_at <= input.now) return { ok: false };
    if (family.created_at <= input.startedAfter) return { ok: false };
    if (token.rotated_at !== null) {
      return { ok: false, revokedFamily: { id: family.id, lastAccess: this.revokeFamily(family, input.now) } };
    }
    if (token.expires_at <= input.now) return { ok: false };
    this.sql.exec('UPDATE refresh_tokens SET rotated_at = ? WHERE digest = ?', input.now, input.digest);
    this.sql.exec(
      'INSERT INTO refresh_tokens (digest, family, issued_at, expires_at) VALUES (?, ?, ?, ?)',
      input.newDigest,
      family.id,
      input.now,
      Math.min(input.now + input.tokenTtl, family.expires_at),
    );
    this.sql.exec(
      'UPDATE refresh_families SET access_iss = ?, access_jti = ?, access_exp = ? WHERE id = ?',
      input.access.iss,
      input.access.jti,
      input.access.exp,
      family.id,
    );
    return {
      ok: true,
      familyId: family.id,
      scope: family.scope,
      claimsJson: family.claims,
    };
  }

  /**
   * Revokes a family, named by one of its refresh tokens or by its id (the `sid` claim of its
   * access tokens). Returns its last access token, for the caller to denylist.
   */
  revoke(session: SessionRef, now: number): { lastAccess: AccessTokenRef | null } | undefined {
    const familyId =
      'familyId' in session
        ? session.familyId
        : this.sql.exec<TokenRow>('SELECT family FROM refresh_tokens WHERE digest = ?', session.digest).toArray()[0]?.family;
    const family = familyId === undefined ? undefined : this.family(familyId);
    if (family === undefined || family.revoked_at !== null) return undefined;
    return { lastAccess: this.revokeFamily(family, now) };
  }

  /** A user revocation ends every session started by then (their access tokens fall to the version bump). */
  revokeAll(now: number, startedAtOrBefore = now): void {
    this.sql.exec('UPDATE refresh_families SET revoked_at = ? WHERE revoked_at IS NULL AND created_at <= ?', now, startedAtOrBefore);
  }

  /** The newest sessions not yet expired; `startedAfter` is the global revoked-before. */
  list(startedAfter: number): SessionSummary[] {
    return this.sql
      .exec<FamilyRow>('SELECT * FROM refresh_families ORDER BY created_at DESC, id LIMIT ?', MAX_LISTED_SESSIONS)
      .toArray()
      .map((f) => ({
        id: f.id,
        createdAt: f.created_at,
        expiresAt: f.expires_at,
        revokedAt: f.revoked_at,
        scope: f.scope,
        state: f.revoked_at !== null ? 'revoked' : f.created_at <= startedAfter ? 'revoked_all' : 'active',
      }));
  }

  /** Families and tokens past their lifetime are forgotten. */
  prune(now: number): void {
    this.sql.exec('DELETE FROM refresh_tokens WHERE expires_at < ?', now);
    this.sql.exec('DELETE FROM refresh_families WHERE expires_at < ?', now);
    this.sql.exec('DELETE FROM refresh_tokens WHERE family NOT IN (SELECT id FROM refresh_families)');
  }

  private family(id: string): FamilyRow | undefined {
    return this.sql.exec<FamilyRow>('SELECT * FROM refresh_families WHERE id = ?', id).toArray()[0];
  }

  private revokeFamily(family: FamilyRow, now: number): AccessTokenRef | null {
    this.sql.exec('UPDATE refresh_families SET revoked_at = ? WHERE id = ?', now, family.id);
    const { access_iss: iss, access_jti: jti, access_exp: exp } = family;
    return iss === null || jti === null || exp === null ? null : { iss, jti, exp };
  }
}
