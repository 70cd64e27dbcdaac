/**
 * killswitch/client (docs/origins.md): the product's bounded mirror (src/feed/mirror.ts),
 * in a backend process, fed over HTTP from the worker's GET /v1/feed. `isRevoked(claims)`
 * answers from memory within the same verifier-enforced bound as the edge's isolates.
 */
import { nowSeconds } from '../clock';
import { claimsRevocationReason } from '../revocation/revocation-check';
import { MIRROR_MAX_ENTRIES, Mirror, type FeedAccess, type MirrorKeys, type MirrorStats } from '../feed/mirror';
import { issuerTokenFingerprintWords, tokenFingerprintWords, userFingerprintWords } from '../revocation/storage-keys';
import type { Claims } from '../verify/compact-jws';
import { feedOverHttp } from './feed-http';

export interface RevocationsOptions {
  /** The killswitch worker's origin, e.g. `https://auth.example.com`. */
  readonly url: string;
  /** One of its FEED_API_KEYS (one per service); a function is asked on every feed read. */
  readonly feedKey: string | (() => string);
  /** The worker's REVOCATION_MAX_STALENESS_MS: the oldest mirror an answer may come from. Default 1000. */
  readonly boundMs?: number;
  /** `closed` (default): a mirror past the bound that cannot refresh answers `unavailable`; `open`: its stale answer. */
  readonly failMode?: 'closed' | 'open';
  /** The claim revocations name users by (the issuer's userClaim). Default `sub`. */
  readonly userClaim?: string;
  /** The issuer's versionClaim, if it has one. */
  readonly versionClaim?: string;
  /** The issuer's userNamespace, if it has one (its users' revocations are keyed in it). */
  readonly userNamespace?: string;
  /** The worker's REVOCATION_IAT_MARGIN_SECONDS: a revocation at R also covers `iat` <= R + this. Default 2. */
  readonly iatMarginSeconds?: number;
  /** The most the edge's clock may run ahead of this process's. Default 50 ms. */
  readonly skewMarginMs?: number;
  /** Entries (users + tokens) kept at most; past it every answer is `unavailable` (or open). Default 1,000,000. */
  readonly maxEntries?: number;
  readonly fetch?: typeof fetch;
  /** Called when an answer came from a stale mirror (failMode open) or none could be given. */
  readonly onStale?: (ageMs: number) => void;
}

/** Why a token must be refused; false: it is not revoked. */
export type RevokedReason = 'revoked_all' | 'revoked_user' | 'revoked_token' | 'unavailable';

const encoder = new TextEncoder();
/** Tokens whose mirror keys are kept (~200 bytes each with their id). */
const KEYS_CACHED = 10_000;

/** The token's id as the worker keys its denylist: its `jti`, else a digest of its signing input. */
async function tokenIdOf(claims: Claims, token: string | undefined): Promise<string> {
  if (typeof claims.jti === 'string') return claims.jti;
  if (token === undefined) throw new TypeError('isRevoked: a token without a jti needs { token } (its id is a digest of it)');
  const signingInput = token.slice(0, token.lastIndexOf('.'));
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(signingInput)));
  let binary = '';
  for (const byte of digest) binary += String.fromCharCode(byte);
  return `sha256:${btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}`;
}

/** The keys cache's key: lengths first, so that no two (user, issuer, jti) triples share one (a per-request JSON.stringify cost more). */
const cacheKeyOf = (userId: string, iss: string, jti: string) => `${userId.length}:${iss.length}:${userId}${iss}${jti}`;

export class Revocations {
  readonly mirror: Mirror;
  private readonly feed: FeedAccess;
  private readonly failMode: 'closed' | 'open';
  private readonly userClaim: string;
  private readonly keys = new Map<string, MirrorKeys>();
  /** Refresh-ahead runs on after the answer; its failure is logged by the mirror. */
  private readonly background = (promise: Promise<unknown>) => void promise.catch(() => undefined);

  constructor(private readonly options: RevocationsOptions) {
    this.mirror = new Mirror(options.boundMs ?? 1000, Date.now, options.maxEntries ?? MIRROR_MAX_ENTRIES);
    this.feed = feedOverHttp({
      url: options.url,
      feedKey: options.feedKey,
      skewMarginMs: options.skewMarginMs ?? 50,
      fetch: options.fetch ?? ((input, init) => fetch(input, init)),
    });
    this.failMode = options.failMode ?? 'closed';
    this.userClaim = options.userClaim ?? 'sub';
  }

  /** Loads the snapshot and the log (at start-up, before taking traffic); false when the feed could not be read. */
  ready(): Promise<boolean> {
    return this.mirror.refresh(this.feed);
  }

  /**
   * The reason to refuse a token whose signature and claims were verified, or false. `token`
   * (the compact JWT) is needed only for a token without `jti`. Never a silent accept: a mirror
   * past the bound is refreshed first; when that fails the answer is `unavailable` (failMode
   * closed) or the stale mirror's (open, reported to onStale).
   */
  async isRevoked(claims: Claims, options: { token?: string } = {}): Promise<RevokedReason | false> {
    return this.answerNow(claims) ?? this.answerLater(claims, options.token);
  }

  /**
   * isRevoked's answer without a promise when it needs no wait (the hot path: the token's keys
   * cached and the mirror current, Mirror.current), else undefined. For Guard, which already awaits jose.
   */
  answerNow(claims: Claims): RevokedReason | false | undefined {
    if (typeof claims.jti !== 'string' || !this.mirror.current()) return undefined;
    const keys = this.keys.get(cacheKeyOf(this.userIdOf(claims), claims.iss as string, claims.jti));
    return keys === undefined ? undefined : this.answer(keys, claims);
  }

  private async answerLater(claims: Claims, token: string | undefined): Promise<RevokedReason | false> {
    const keys = await this.keysOf(this.userIdOf(claims), claims.iss as string, claims, token);
    // The refresh-ahead point is the mirror's, drawn per stamp (0.3–0.6 of the bound): processes
    // that took the same page do not all read the next one at once (issue 18).
    if (!this.mirror.current()) await this.mirror.freshen(this.feed, this.background);
    return this.answer(keys, claims);
  }

  /** The claims' user id (a string iss checked with it). */
  private userIdOf(claims: Claims): string {
    const userId = (claims as Record<string, unknown>)[this.userClaim];
    if (typeof userId !== 'string' || typeof claims.iss !== 'string') {
      throw new TypeError(`isRevoked: claims need a string iss and ${this.userClaim}`);
    }
    return userId;
  }

  /** No await from the freshness test to the answer: both see one mirror. */
  private answer(keys: MirrorKeys, claims: Claims): RevokedReason | false {
    const answer = this.mirror.answer(keys, nowSeconds());
    if (answer.kind === 'over_cap') return this.failMode === 'open' ? false : 'unavailable';
    if (answer.kind === 'stale') {
      this.options.onStale?.(answer.ageMs);
      if (this.failMode === 'closed') return 'unavailable';
    }
    return claimsRevocationReason(claims, this.options.versionClaim, answer.state, this.options.iatMarginSeconds ?? 2) ?? false;
  }

  /**
   * A token's mirror keys (three SHA-256 digests), kept for the last KEYS_CACHED tokens with a
   * `jti`: a token is usually presented many times (the worker keeps them per verified token).
   */
  private async keysOf(userId: string, iss: string, claims: Claims, token: string | undefined): Promise<MirrorKeys> {
    const cacheKey = typeof claims.jti === 'string' ? cacheKeyOf(userId, iss, claims.jti) : undefined;
    const cached = cacheKey === undefined ? undefined : this.keys.get(cacheKey);
    if (cached !== undefined) return cached;
    const tokenId = await tokenIdOf(claims, token);
    const { userNamespace } = this.options;
    const jti = claims.jti;
    const keys: MirrorKeys = [
      ...userFingerprintWords(userId, userNamespace),
      ...tokenFingerprintWords(userId, iss, tokenId, userNamespace),
      ...tokenFingerprintWords(userId, null, tokenId, userNamespace),
      // A token denylisted by its issuer and jti alone, whoever its user (a security event naming no user).
      ...(typeof jti === 'string' ? issuerTokenFingerprintWords(iss, jti) : ([] as const)),
    ];
    if (cacheKey !== undefined) {
      if (this.keys.size >= KEYS_CACHED) this.keys.delete(this.keys.keys().next().value as string);
      this.keys.set(cacheKey, keys);
    }
    return keys;
  }

  stats(): MirrorStats {
    return this.mirror.stats();
  }
}
