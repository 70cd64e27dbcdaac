import { base64url } from 'jose';
import { sha256Words } from './sha256';

/**
 * Every storage name killswitch uses, built here and nowhere else (docs/storage.md lists
 * them with their values). KV keys hold SHA-256 digests rather than user ids or token ids:
 * keys stay under KV's 512-byte limit whatever the claims, and never show a raw identifier.
 */

/** KV: `{"revokedBefore"}` of the global revoke-all. */
export const GLOBAL_KV_KEY = 'global';

/** The name of the one GlobalState Durable Object. */
export const GLOBAL_OBJECT_NAME = 'global';

const encoder = new TextEncoder();

async function digest(parts: readonly (string | null)[]): Promise<string> {
  // JSON keeps the parts apart: no separator inside a sub or jti can make two tuples collide.
  const bytes = await crypto.subtle.digest('SHA-256', encoder.encode(JSON.stringify(parts)));
  return base64url.encode(new Uint8Array(bytes));
}

/**
 * A user is (namespace, user id) (docs/reference.md §4.1): the user id is the value of its token
 * issuer's userClaim (`sub` unless configured); the namespace is the issuer's userNamespace,
 * undefined for the shared one, where one id names one user across issuers. The shared
 * namespace's names are exactly those of before namespaces existed: deployed state stays found.
 * An isolated namespace's name is [A-Za-z0-9._-]{1,64} (src/config), so it holds no `:`.
 */
const userParts = (userId: string, namespace: string | undefined) => (namespace === undefined ? [userId] : [namespace, userId]);
const tokenParts = (userId: string, iss: string | null, tokenId: string, namespace: string | undefined) =>
  namespace === undefined ? [userId, iss, tokenId] : [namespace, userId, iss, tokenId];

/** KV: `{"version","revokedBefore"}` of one user. */
export async function userKvKey(userId: string, namespace?: string): Promise<string> {
  return `user:${await digest(userParts(userId, namespace))}`;
}

/**
 * KV: a denylisted token, `{"revokedAt","exp"}`, expiring with the token. Scoped by user
 * and issuer; `iss = null` is a revocation by id that applies to every issuer of the user's namespace.
 */
export async function tokenKvKey(userId: string, iss: string | null, tokenId: string, namespace?: string): Promise<string> {
  return `token:${await digest(tokenParts(userId, iss, tokenId, namespace))}`;
}

/**
 * A token named by its issuer and `jti` alone (a security event's `jwt_id` subject naming no
 * user): every check of a token with a `jti` looks it up. A user id is a string, never null,
 * so no user's token tuple is `[null, iss, jti]`.
 */
const issuerTokenParts = (iss: string, jti: string) => [null, iss, jti];

/** KV: a token denylisted by (`iss`, `jti`) whoever its user, `{"revokedAt","exp"}` like tokenKvKey's. */
export async function issuerTokenKvKey(iss: string, jti: string): Promise<string> {
  return `token:${await digest(issuerTokenParts(iss, jti))}`;
}

/** The UserState Durable Object that is the single writer of one (`iss`, `jti`) entry (one per token: no hot object). */
export function issuerTokenObjectName(iss: string, jti: string): string {
  return `iss-token:${JSON.stringify([iss, jti])}`;
}

/**
 * UserState's `idempotent_revocations.request`: what an `Idempotency-Key` is bound to besides the
 * admin identity, the user and the body's reason, as a digest (a reason can be long).
 */
export function idempotentRequestDigest(userId: string, reason: string | null): Promise<string> {
  return digest([userId, reason]);
}

/** The per-user Durable Object's name: `user:<id>` in the shared namespace, `ns:<namespace>:user:<id>` in another. */
export function userObjectName(userId: string, namespace?: string): string {
  return namespace === undefined ? `user:${userId}` : `ns:${namespace}:user:${userId}`;
}

/** docs/reference.md §7: the one SsfStream Durable Object that stores the streams created through the admin API. */
export const SSF_REGISTRY_OBJECT_NAME = 'ssf-streams';

/** docs/reference.md §7: the SsfStream Durable Object of one stream (its dedupe window, verification, audit). */
export function ssfStreamObjectName(streamId: string): string {
  return `ssf:${streamId}`;
}

/**
 * A 64-bit fingerprint of a KV key above (`user:…` or `token:…`): the first 8 bytes of its
 * digest, as 16 hex digits. Bounded mode's feed and mirror key their entries by it.
 */
export function fingerprintOf(kvKey: string): string {
  const bytes = base64url.decode(kvKey.slice(kvKey.indexOf(':') + 1));
  let hex = '';
  for (let i = 0; i < 8; i++) hex += (bytes[i] ?? 0).toString(16).padStart(2, '0');
  return hex;
}

/**
 * fingerprintOf(userKvKey(userId)) and fingerprintOf(tokenKvKey(…)) as the (hi, lo) words the
 * mirror looks up, read straight off the digest: a check needs no base64url round trip. Hashed in
 * JS, synchronously: same bytes as digest() above, at about half the cost for inputs this short.
 */
function fingerprintWordsOf(parts: readonly (string | null)[]): readonly [number, number] {
  return sha256Words(encoder.encode(JSON.stringify(parts)));
}

export function userFingerprintWords(userId: string, namespace?: string): readonly [number, number] {
  return fingerprintWordsOf(userParts(userId, namespace));
}

export function tokenFingerprintWords(userId: string, iss: string | null, tokenId: string, namespace?: string): readonly [number, number] {
  return fingerprintWordsOf(tokenParts(userId, iss, tokenId, namespace));
}

export function issuerTokenFingerprintWords(iss: string, jti: string) {
  return fingerprintWordsOf(issuerTokenParts(iss, jti));
}

/** The feed's primary Durable Object (RevocationFeed): numbers every change, pushes it to the replicas. */
export const FEED_PRIMARY_NAME = 'feed';

/**
 * The feed's read replicas (RevocationFeed), one per location hint; mirrors read one of them.
 * Fixed in code: a replica added later would not hold what was acknowledged before it existed.
 */
export const FEED_REPLICA_HINTS = ['wnam', 'enam', 'weur', 'apac'] as const satisfies readonly DurableObjectLocationHint[];

export function feedReplicaName(index: number): string {
  return `feed-replica:${index}`;
}

/** The index in a replica's name (feedReplicaName); -1 for any other name (the primary refuses it). */
export function feedReplicaIndex(name: string | undefined): number {
  const match = /^feed-replica:(\d+)$/.exec(name ?? '');
  return match === null ? -1 : Number(match[1]);
}

/** KV: the binary snapshot of the feed's active set, for cold mirrors (src/feed/feed-snapshot.ts). */
export const FEED_SNAPSHOT_KV_KEY = 'feed-snapshot';

/** Cache API: one location's copy of the feed head, keyed by a time bucket (GET /v1/feed serves its entries, never the entry itself). */
export function feedCacheUrl(bucket: number): string {
  return `https://feed.killswitch.internal/head/${bucket}`;
}

/** Cache API: which isolate of a location reads the feed for one time bucket (the others wait for its head). */
export function feedClaimUrl(bucket: number): string {
  return `https://feed.killswitch.internal/claim/${bucket}`;
}
