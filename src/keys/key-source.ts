import type { JwsAlgorithm } from './algorithms';

/** What a key lookup gives back: the key, or why there is none. */
export type KeyLookup =
  | { readonly key: CryptoKey }
  | { readonly error: 'unknown_key' | 'unavailable' };

/**
 * Where an issuer's verification keys come from: an inline JWKS, a remote JWKS or an HMAC
 * secret. Keys come only from configuration, never from the token's own headers.
 */
export interface KeySource {
  lookup(alg: JwsAlgorithm, kid: string | undefined): Promise<KeyLookup>;
  /**
   * The key material in force now (refreshing a stale remote JWKS first), as an identity:
   * a verification made under another one must be made again.
   */
  current(): Promise<object | undefined>;
}
