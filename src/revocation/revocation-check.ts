import type { Config, RevocationMode } from '../config/config';
import { logEvent } from '../log/logger';
import { ownClaim, type Claims } from '../verify/compact-jws';
import type { Reason } from '../verify/reasons';
import type { AuthenticToken } from '../verify/token';
import type { GlobalState } from './global-state';
import { globalRevokedBefore } from './global-revoked-before';
import { feedAccessFor, type ReaderLocation } from '../feed/feed-client';
import { mirrorFor, type FeedAccess, type Mirror, type MirrorKeys } from '../feed/mirror';
import type { RevocationFeed } from '../feed/revocation-feed';
import {
  GLOBAL_KV_KEY,
  issuerTokenFingerprintWords,
  issuerTokenKvKey,
  issuerTokenObjectName,
  tokenFingerprintWords,
  tokenKvKey,
  userFingerprintWords,
  userKvKey,
  userObjectName,
} from './storage-keys';
import { withTimeout } from './timeout';
import type { UserState } from './user-state';
import { nowSeconds } from '../clock';

export interface RevocationBindings {
  readonly REVOCATIONS: KVNamespace;
  readonly USER_STATE: DurableObjectNamespace<UserState>;
  readonly GLOBAL_STATE: DurableObjectNamespace<GlobalState>;
  /** Bounded mode's feed (src/feed/revocation-feed.ts). */
  readonly REVOCATION_FEED: DurableObjectNamespace<RevocationFeed>;
}

/** What a revocation check needs to know, whether it came from KV or from the DOs. */
export interface RevocationSnapshot {
  readonly globalRevokedBefore: number;
  readonly userVersion: number;
  readonly userRevokedBefore: number;
  readonly tokenRevoked: boolean;
}

export type RevocationReason = Extract<Reason, 'revoked_all' | 'revoked_user' | 'revoked_token' | 'unavailable'>;

/**
 * docs/reference.md §4.1. A token is refused when it was issued at or before a revoke-all or a user
 * revocation (`iat <= revokedBefore`; a token with no `iat` counts as issued before), when
 * its version claim is below the user's version, or when it is denylisted.
 *
 * The iat gap: an issuer whose clock runs ahead of ours stamps a token minted just before the
 * revocation with an `iat` after it. So a revocation at R also covers `iat` <= R + `marginSeconds`
 * (REVOCATION_IAT_MARGIN_SECONDS); within that margin only a user-revoked token carrying a version
 * claim at least the user's (new) version is known to be newer, and is accepted.
 */
export function revocationReason(token: AuthenticToken, state: RevocationSnapshot, marginSeconds: number): RevocationReason | undefined {
  return claimsRevocationReason(token.claims, token.issuer.versionClaim, state, marginSeconds);
}

/** The same rule on claims (a mirror outside the edge, src/client, checks claims jose verified). */
export function claimsRevocationReason(
  claims: Claims,
  versionClaim: string | undefined,
  state: RevocationSnapshot,
  marginSeconds: number,
): Exclude<RevocationReason, 'unavailable'> | undefined {
  const { iat } = claims;
  const issuedBefore = (instant: number, margin: number) => instant > 0 && (typeof iat !== 'number' || iat <= instant + margin);
  if (issuedBefore(state.globalRevokedBefore, marginSeconds)) return 'revoked_all';
  // The issuer's own version claim, type-checked by the verifier; none: no version check.
  const version = versionClaim === undefined ? undefined : ownClaim(claims, versionClaim);
  if (typeof version === 'number' && version < state.userVersion) return 'revoked_user';
  // Within the margin a version claim at least the user's version proves the token is newer.
  if (issuedBefore(state.userRevokedBefore, typeof version === 'number' ? 0 : marginSeconds)) return 'revoked_user';
  if (state.tokenRevoked) return 'revoked_token';
  return undefined;
}

interface UserRecord {
  readonly version?: number;
  readonly revokedBefore?: number;
}
interface GlobalRecord {
  readonly revokedBefore?: number;
}

/** The `jti` a token may be denylisted by with its issuer and no user (storage-keys.ts issuerTokenKvKey); none without one. */
const namedJti = (token: AuthenticToken) => (typeof token.claims.jti === 'string' ? token.claims.jti : undefined);

type ReplicaKeys = readonly [userKey: string, tokenKey: string, anyIssuerTokenKey: string, issuerTokenKey: string | undefined];

/** The KV keys of a token, digested once per verified token (the same object on cache hits). */
const replicaKeysByToken = new WeakMap<AuthenticToken, Promise<ReplicaKeys>>();

function replicaKeysOf(token: AuthenticToken): Promise<ReplicaKeys> {
  let keys = replicaKeysByToken.get(token);
  if (keys === undefined) {
    const {
      userId,
      claims: { iss },
      issuer: { userNamespace: ns },
    } = token;
    const jti = namedJti(token);
    keys = Promise.all([
      userKvKey(userId, ns),
      tokenKvKey(userId, iss, token.tokenId, ns),
      tokenKvKey(userId, null, token.tokenId, ns),
      jti === undefined ? undefined : issuerTokenKvKey(iss, jti),
    ]);
    replicaKeysByToken.set(token, keys);
  }
  return keys;
}

/**
 * REVOCATION_CACHE_TTL_SECONDS > 0 only: KV answers kept in the isolate that long (at most
 * 60 s, so KV's own propagation bound still holds: docs/consistency.md). Off by default.
 */
const REVOCATION_CACHE_MAX_ENTRIES = 10_000;
const replicaCaches = new WeakMap<Config, Map<string, { state: RevocationSnapshot; until: number }>>();

function replicaCacheFor(config: Config) {
  let cache = replicaCaches.get(config);
  if (cache === undefined) replicaCaches.set(config, (cache = new Map()));
  return cache;
}

/** `cached` mode: the KV replica, all keys in one bulk read. */
async function readReplica(token: AuthenticToken, config: Config, kv: KVNamespace): Promise<RevocationSnapshot> {
  const [userKey, tokenKey, anyIssuerTokenKey, issuerTokenKey] = await replicaKeysOf(token);
  const ttlMs = config.revocationCacheTtlSeconds * 1000;
  const cache = ttlMs > 0 ? replicaCacheFor(config) : undefined;
  const cached = cache?.get(tokenKey);
  if (cached !== undefined && cached.until > Date.now()) return cached.state;

  const keys = [GLOBAL_KV_KEY, userKey, tokenKey, anyIssuerTokenKey, ...(issuerTokenKey === undefined ? [] : [issuerTokenKey])];
  const values = await kv.get<unknown>(keys, 'json');
  const user = (values.get(userKey) ?? {}) as UserRecord;
  const global = (values.get(GLOBAL_KV_KEY) ?? {}) as GlobalRecord;
  const state = {
    globalRevokedBefore: global.revokedBefore ?? 0,
    userVersion: user.version ?? 0,
    userRevokedBefore: user.revokedBefore ?? 0,
    tokenRevoked: [tokenKey, anyIssuerTokenKey, issuerTokenKey].some((key) => key !== undefined && values.get(key) != null),
  };
  if (cache !== undefined) {
    if (cache.size >= REVOCATION_CACHE_MAX_ENTRIES) cache.delete(cache.keys().next().value as string);
    cache.set(tokenKey, { state, until: Date.now() + ttlMs });
  }
  return state;
}

/** The user's single writer, with the global revoked-before `global` resolves to (strict: the global writer). */
async function readWriters(token: AuthenticToken, bindings: RevocationBindings, global: Promise<number>): Promise<RevocationSnapshot> {
  const {
    userId,
    claims: { iss },
    issuer: { userNamespace: namespace },
  } = token;
  const user = bindings.USER_STATE.getByName(userObjectName(userId, namespace));
  const jti = namedJti(token);
  const [userState, globalRevoked, issuerTokenRevoked] = await Promise.all([
    user.check({ sub: userId, namespace, iss, tokenId: token.tokenId }),
    global,
    jti === undefined ? false : bindings.USER_STATE.getByName(issuerTokenObjectName(iss, jti)).issuerTokenRevoked(iss, jti),
  ]);
  return {
    globalRevokedBefore: globalRevoked,
    userVersion: userState.version,
    userRevokedBefore: userState.revokedBefore,
    tokenRevoked: userState.tokenRevoked || issuerTokenRevoked,
  };
}

/**
 * How long the verify path waits for revocation state before it answers `unavailable`: an
 * auth check that hangs is worse than one that fails (and FAIL_MODE decides what fails means).
 * Bounded mode reads the writers only as a fallback, within the strict timeout.
 */
export const REVOCATION_READ_TIMEOUT_MS = { cached: 2_000, strict: 5_000, bounded: 5_000 } as const;

/** Hooks of the request a check runs in. */
export interface CheckContext {
  /** Keeps a refresh-ahead running after the answer (ExecutionContext.waitUntil). */
  readonly waitUntil?: (promise: Promise<unknown>) => void;
  /** Where the request came from (`request.cf`): bounded mode reads the nearest feed replica first. */
  readonly location?: ReaderLocation;
}

/** The revocation step of the verify path; `unavailable` when state cannot be read. */
export async function checkRevocation(
  token: AuthenticToken,
  mode: RevocationMode,
  config: Config,
  bindings: RevocationBindings,
  context: CheckContext = {},
): Promise<RevocationReason | undefined> {
  if (mode === 'bounded')
    return checkMirror(token, config, mirrorFor(config), feedAccessFor(bindings, config, context.location), bindings, context);
  const state = await readState(token, mode, config, bindings);
  return state === undefined ? 'unavailable' : revocationReason(token, state, config.revocationIatMarginSeconds);
}

async function readState(
  token: AuthenticToken,
  mode: RevocationMode,
  config: Config,
  bindings: RevocationBindings,
): Promise<RevocationSnapshot | undefined> {
  try {
    const read =
      mode === 'cached'
        ? readReplica(token, config, bindings.REVOCATIONS)
        : readWriters(token, bindings, globalRevokedBefore(bindings.GLOBAL_STATE));
    return await withTimeout(read, REVOCATION_READ_TIMEOUT_MS[mode], 'revocation state');
  } catch (error) {
    logEvent('revocation_state_unreadable', { mode, error: error instanceof Error ? error.message : 'unknown' });
    return undefined;
  }
}

/** The mirror keys of a token: fingerprints of its KV keys, computed once per verified token. */
const mirrorKeysByToken = new WeakMap<AuthenticToken, MirrorKeys>();

/**
 * A user's fingerprint is the same for all their tokens: kept for the most recent users, so a
 * new token of a known user costs two digests, not three. Only for subs of identity providers'
 * usual length, so the memory stays ~4 MB at most (docs/consistency.md "Memory").
 */
const USER_FINGERPRINTS_MAX = 10_000;
const USER_FINGERPRINT_SUB_MAX_CHARS = 128;
const userFingerprints = new Map<string, readonly [number, number]>();

function userFingerprintOf(sub: string, namespace: string | undefined): readonly [number, number] {
  if (sub.length > USER_FINGERPRINT_SUB_MAX_CHARS) return userFingerprintWords(sub, namespace);
  // Namespace names are non-empty and hold no `:` (src/config): `<namespace>:<id>` names one user, `:<id>` a shared one.
  const cacheKey = `${namespace ?? ''}:${sub}`;
  let words = userFingerprints.get(cacheKey);
  if (words === undefined) {
    if (userFingerprints.size >= USER_FINGERPRINTS_MAX) userFingerprints.delete(userFingerprints.keys().next().value as string);
    words = userFingerprintWords(sub, namespace);
    userFingerprints.set(cacheKey, words);
  }
  return words;
}

function mirrorKeysOf(token: AuthenticToken): MirrorKeys {
  let keys = mirrorKeysByToken.get(token);
  if (keys === undefined) {
    const {
      userId,
      claims: { iss },
      issuer: { userNamespace: ns },
    } = token;
    const jti = namedJti(token);
    keys = [
      ...userFingerprintOf(userId, ns),
      ...tokenFingerprintWords(userId, iss, token.tokenId, ns),
      ...tokenFingerprintWords(userId, null, token.tokenId, ns),
      ...(jti === undefined ? [] : issuerTokenFingerprintWords(iss, jti)),
    ] as MirrorKeys;
    mirrorKeysByToken.set(token, keys);
  }
  return keys;
}

/**
 * Strict reads bounded mode may have in flight per isolate (a stale or over-cap mirror, or a
 * fingerprint hit to confirm): a flood of revoked tokens cannot turn into a flood of DO calls.
 */
export const BOUNDED_STRICT_MAX_IN_FLIGHT = 32;
let strictInFlight = 0;

/**
 * Bounded mode's read of the writers: the user's own writer (one object per user), and the
 * global revoke-all from the mirror (the feed carries it; kept past the cap too) — merged with
 * KV's copy when the mirror is not fresh — never the one GlobalState object, which a mass
 * revocation or a feed overload would otherwise put under every isolate (issue 18).
 */
interface MirrorGlobal {
  readonly revokedBefore: number;
  readonly fresh: boolean;
}

function mirrorGlobal(bindings: RevocationBindings, global: MirrorGlobal): Promise<number> {
  if (global.fresh) return Promise.resolve(global.revokedBefore);
  return bindings.REVOCATIONS.get<GlobalRecord>(GLOBAL_KV_KEY, 'json').then((kv) => Math.max(kv?.revokedBefore ?? 0, global.revokedBefore));
}

/** The writers' answer, or undefined when they could not be read or the cap is reached. */
async function cappedStrictRead(
  token: AuthenticToken,
  bindings: RevocationBindings,
  mirror: Mirror,
  why: 'strictReads' | 'confirmations',
  global: MirrorGlobal,
) {
  if (strictInFlight >= BOUNDED_STRICT_MAX_IN_FLIGHT) return undefined;
  strictInFlight++;
  mirror.counters[why]++;
  try {
    return await withTimeout(
      readWriters(token, bindings, mirrorGlobal(bindings, global)),
      REVOCATION_READ_TIMEOUT_MS.bounded,
      'revocation state',
    );
  } catch (error) {
    logEvent('revocation_state_unreadable', { mode: 'bounded', error: error instanceof Error ? error.message : 'unknown' });
    return undefined;
  } finally {
    strictInFlight--;
  }
}

/**
 * Refusals the writer confirmed, per verified token (the verified-token cache hands back the
 * same object for the same token string): a revocation is never undone, so a client replaying
 * its revoked token costs one writer call, not one per check.
 */
const confirmedRefusals = new WeakSet<AuthenticToken>();

/**
 * `bounded` (docs/reference.md §4.1): the isolate's mirror while it is within REVOCATION_MAX_STALENESS_MS.
 * A refusal that rests on a fingerprint is confirmed by the writer (a collision must not
 * refuse a live token; past the cap the refusal stands, the safe side). Past the bound, or
 * past the memory cap, the writers answer; when they cannot, `unavailable` — or, with
 * FAIL_MODE=open, the stale mirror's answer, logged with its age.
 */
export async function checkMirror(
  token: AuthenticToken,
  config: Config,
  mirror: Mirror,
  feed: FeedAccess,
  bindings: RevocationBindings,
  context: CheckContext = {},
): Promise<RevocationReason | undefined> {
  const keys = mirrorKeysOf(token);
  await mirror.freshen(feed, context.waitUntil);
  // No await from here to the answer: the freshness test and the lookup see one mirror.
  const answer = mirror.answer(keys, nowSeconds());
  if (answer.kind === 'fresh') {
    const reason = revocationReason(token, answer.state, config.revocationIatMarginSeconds);
    if (reason !== 'revoked_user' && reason !== 'revoked_token') return reason;
    if (confirmedRefusals.has(token)) return reason;
    const global = { revokedBefore: answer.state.globalRevokedBefore, fresh: true };
    const confirmed = await cappedStrictRead(token, bindings, mirror, 'confirmations', global);
    if (confirmed === undefined) return reason;
    const strictReason = revocationReason(token, confirmed, config.revocationIatMarginSeconds);
    if (strictReason !== undefined) confirmedRefusals.add(token);
    return strictReason;
  }
  const global = { revokedBefore: answer.kind === 'stale' ? answer.state.globalRevokedBefore : answer.globalRevokedBefore, fresh: false };
  const strict = await cappedStrictRead(token, bindings, mirror, 'strictReads', global);
  if (strict !== undefined) return revocationReason(token, strict, config.revocationIatMarginSeconds);
  if (answer.kind === 'stale' && config.failMode === 'open') {
    logEvent('mirror_stale_answer', { ageMs: Math.round(answer.ageMs) });
    return revocationReason(token, answer.state, config.revocationIatMarginSeconds);
  }
  return 'unavailable';
}
