import type { Config, RevocationMode } from '../config/config';
import { logEvent } from '../log/logger';
import { ownClaim } from '../verify/compact-jws';
import type { Reason } from '../verify/reasons';
import type { AuthenticToken } from '../verify/verifier';
import type { GlobalState } from './global-state';
import {
  GLOBAL_KV_KEY, GLOBAL_OBJECT_NAME, tokenKvKey, userKvKey, userObjectName,
} from './storage-keys';
import type { UserState } from './user-state';

export interface RevocationBindings {
  readonly REVOCATIONS: KVNamespace;
  readonly USER_STATE: DurableObjectNamespace<UserState>;
  readonly GLOBAL_STATE: DurableObjectNamespace<GlobalState>;
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
 * SPEC §4.1. A token is refused when it was issued at or before a revoke-all or a user
 * revocation (`iat <= revokedBefore`; a token with no `iat` counts as issued before), when
 * its version claim is below the user's version, or when it is denylisted.
 */
export function revocationReason(token: AuthenticToken, state: RevocationSnapshot): RevocationReason | undefined {
  const { iat } = token.claims;
  const issuedBefore = (instant: number) => instant > 0 && (iat === undefined || iat <= instant);
  if (issuedBefore(state.globalRevokedBefore)) return 'revoked_all';
  // The issuer's own version claim, type-checked by the verifier; none: no version check.
  const { versionClaim } = token.issuer;
  const version = versionClaim === undefined ? undefined : ownClaim(token.claims, versionClaim) as number | undefined;
  if (version !== undefined && version < state.userVersion) return 'revoked_user';
  if (issuedBefore(state.userRevokedBefore)) return 'revoked_user';
  if (state.tokenRevoked) return 'revoked_token';
  return undefined;
}

interface UserRecord { readonly version?: number; readonly revokedBefore?: number }
interface GlobalRecord { readonly revokedBefore?: number }

type ReplicaKeys = readonly [userKey: string, tokenKey: string, anyIssuerTokenKey: string];

/** The KV keys of a token, digested once per verified token (the same object on cache hits). */
const replicaKeysByToken = new WeakMap<AuthenticToken, Promise<ReplicaKeys>>();

function replicaKeysOf(token: AuthenticToken): Promise<ReplicaKeys> {
  let keys = replicaKeysByToken.get(token);
  if (keys === undefined) {
    const { sub, iss } = token.claims;
    keys = Promise.all([userKvKey(sub), tokenKvKey(sub, iss, token.tokenId), tokenKvKey(sub, null, token.tokenId)]);
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
  const [userKey, tokenKey, anyIssuerTokenKey] = await replicaKeysOf(token);
  const ttlMs = config.revocationCacheTtlSeconds * 1000;
  const cache = ttlMs > 0 ? replicaCacheFor(config) : undefined;
  const cached = cache?.get(tokenKey);
  if (cached !== undefined && cached.until > Date.now()) return cached.state;

  const values = await kv.get<unknown>([GLOBAL_KV_KEY, userKey, tokenKey, anyIssuerTokenKey], 'json');
  const user = (values.get(userKey) ?? {}) as UserRecord;
  const global = (values.get(GLOBAL_KV_KEY) ?? {}) as GlobalRecord;
  const state = {
    globalRevokedBefore: global.revokedBefore ?? 0,
    userVersion: user.version ?? 0,
    userRevokedBefore: user.revokedBefore ?? 0,
    tokenRevoked: values.get(tokenKey) != null || values.get(anyIssuerTokenKey) != null,
  };
  if (cache !== undefined) {
    if (cache.size >= REVOCATION_CACHE_MAX_ENTRIES) cache.delete(cache.keys().next().value as string);
    cache.set(tokenKey, { state, until: Date.now() + ttlMs });
  }
  return state;
}

/** `strict` mode: the single writers themselves, never a cache. */
async function readWriters(token: AuthenticToken, bindings: RevocationBindings): Promise<RevocationSnapshot> {
  const { sub, iss } = token.claims;
  const user = bindings.USER_STATE.getByName(userObjectName(sub));
  const global = bindings.GLOBAL_STATE.getByName(GLOBAL_OBJECT_NAME);
  const [userState, globalState] = await Promise.all([
    user.check({ sub, iss, tokenId: token.tokenId }),
    global.state(),
  ]);
  return {
    globalRevokedBefore: globalState.revokedBefore,
    userVersion: userState.version,
    userRevokedBefore: userState.revokedBefore,
    tokenRevoked: userState.tokenRevoked,
  };
}

/**
 * How long the verify path waits for revocation state before it answers `unavailable`: an
 * auth check that hangs is worse than one that fails (and FAIL_MODE decides what fails means).
 */
export const REVOCATION_READ_TIMEOUT_MS = { cached: 2_000, strict: 5_000 } as const;

class RevocationTimeout extends Error {
  constructor(mode: RevocationMode) {
    super(`no answer within ${REVOCATION_READ_TIMEOUT_MS[mode]} ms`);
  }
}

function withTimeout<T>(read: Promise<T>, mode: RevocationMode): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RevocationTimeout(mode)), REVOCATION_READ_TIMEOUT_MS[mode]);
  });
  return Promise.race([read, timeout]).finally(() => timer !== undefined && clearTimeout(timer));
}

/** The revocation step of the verify path; `unavailable` when state cannot be read. */
export async function checkRevocation(
  token: AuthenticToken,
  mode: RevocationMode,
  config: Config,
  bindings: RevocationBindings,
): Promise<RevocationReason | undefined> {
  let state: RevocationSnapshot;
  try {
    const read = mode === 'strict' ? readWriters(token, bindings) : readReplica(token, config, bindings.REVOCATIONS);
    state = await withTimeout(read, mode);
  } catch (error) {
    logEvent('revocation_state_unreadable', { mode, error: error instanceof Error ? error.message : 'unknown' });
    return 'unavailable';
  }
  return revocationReason(token, state);
}
