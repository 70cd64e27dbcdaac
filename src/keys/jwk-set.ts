import { importJWK, type JWK } from 'jose';
import { jwkFitsAlgorithm, MIN_RSA_MODULUS_BITS, type AsymmetricAlgorithm, type PublicJwk } from './algorithms';
import { MAX_LISTED_KIDS, type KeyLookup } from './key-source';

/** Members that only private or symmetric keys carry; a JWKS of ours never holds them. */
const SECRET_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'] as const;

/** Why a JWK cannot be used for verification, or undefined when it can. */
export function unusableJwkReason(jwk: unknown): string | undefined {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return 'is not an object';
  const key = jwk as PublicJwk;
  if (key.kty !== 'RSA' && key.kty !== 'EC' && key.kty !== 'OKP') {
    return `has kty ${JSON.stringify(key.kty)}; only RSA, EC and OKP public keys are accepted`;
  }
  if (SECRET_MEMBERS.some((m) => m in key)) return 'holds private or symmetric key material';
  if (key.kid !== undefined && typeof key.kid !== 'string') return 'has a non-string kid';
  return undefined;
}

function strongEnough(key: CryptoKey): boolean {
  const { modulusLength } = key.algorithm as { modulusLength?: number };
  return modulusLength === undefined || modulusLength >= MIN_RSA_MODULUS_BITS;
}

/**
 * An immutable snapshot of public keys, with their imported CryptoKeys cached so that a key
 * is imported once per (key, algorithm) and isolate, not once per request.
 */
export class JwkSet {
  readonly keys: readonly PublicJwk[];
  private readonly imported = new Map<PublicJwk, Map<AsymmetricAlgorithm, Promise<CryptoKey | null>>>();

  /** Keeps the usable keys of `keys`; see unusableJwkReason for what is dropped. */
  constructor(keys: readonly unknown[]) {
    this.keys = keys.filter((k): k is PublicJwk => unusableJwkReason(k) === undefined);
  }

  /**
   * The key for a token's `alg` and `kid`: with a kid, the first fitting key of that kid;
   * without one, the only fitting key (several candidates are ambiguous, so none).
   */
  select(alg: AsymmetricAlgorithm, kid: string | undefined): PublicJwk | undefined {
    const fitting = this.keys.filter((k) => jwkFitsAlgorithm(k, alg));
    if (kid !== undefined) return fitting.find((k) => k.kid === kid);
    return fitting.length === 1 ? fitting[0] : undefined;
  }

  /** How many keys, and their distinct kids (for KeyStatus). */
  summary(): { keyCount: number; kids: string[] } {
    const kids = [...new Set(this.keys.flatMap((k) => (typeof k.kid === 'string' ? [k.kid] : [])))];
    return { keyCount: this.keys.length, kids: kids.slice(0, MAX_LISTED_KIDS) };
  }

  async lookup(alg: AsymmetricAlgorithm, kid: string | undefined): Promise<KeyLookup | undefined> {
    const jwk = this.select(alg, kid);
    if (jwk === undefined) return undefined;
    const key = await this.importOnce(jwk, alg);
    return key === null ? { error: 'unknown_key' } : { key };
  }

  private importOnce(jwk: PublicJwk, alg: AsymmetricAlgorithm): Promise<CryptoKey | null> {
    let byAlg = this.imported.get(jwk);
    if (byAlg === undefined) this.imported.set(jwk, (byAlg = new Map()));
    let pending = byAlg.get(alg);
    if (pending === undefined) {
      // A key whose material does not import (bad point…) or is too weak verifies nothing.
      pending = importJWK(jwk as JWK, alg).then(
        (k) => (k instanceof CryptoKey && strongEnough(k) ? k : null),
        () => null,
      );
      byAlg.set(alg, pending);
    }
    return pending;
  }
}
