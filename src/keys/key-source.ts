import type { JwsAlgorithm } from './algorithms';

/** What a key lookup gives back: the key, or why there is none. */
export type KeyLookup = { readonly key: CryptoKey } | { readonly error: 'unknown_key' | 'unavailable' };

/**
 * What an operator may see of an issuer's keys (GET /v1/admin/stats): where they come from and
 * how many there are, never key material, a secret or a secret's name. For a remote JWKS, as
 * this isolate last fetched it.
 */
export interface KeyStatus {
  readonly source: 'jwks' | 'jwksUri' | 'hmacSecret';
  /** The JWKS URL, without credentials, query or fragment. */
  readonly jwksUri?: string;
  /** Usable keys; an HMAC secret is one key. */
  readonly keyCount: number;
  /** Their distinct `kid`s, at most MAX_LISTED_KIDS of them. */
  readonly kids: readonly string[];
  /** Remote only: the last successful fetch (NumericDate), null before the first. */
  readonly fetchedAt?: number | null;
  /** Remote only: why the last fetch failed, null when it did not. */
  readonly lastError?: string | null;
}

export const MAX_LISTED_KIDS = 50;

/** Where an issuer's verification keys come from: an inline JWKS, a remote JWKS or an HMAC
 * secret. Keys come only from configuration, never from the token's own headers.
 */
export interface KeySource {
  lookup(alg: JwsAlgorithm, kid: string | undefined): Promise<KeyLookup>;
  /**
   * The key material in force now (refreshing a stale remote JWKS first), as an identity:
   * a verification made under another one must be made again.
   */
  current(): Promise<object | undefined>;
  /** The keys as last loaded, without loading anything. */
  status(): KeyStatus;
}
