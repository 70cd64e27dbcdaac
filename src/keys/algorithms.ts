/**
 * The JWS algorithms killswitch can verify, and which key each one needs. `none` is not
 * here and can never be configured.
 */
export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

export type HmacAlgorithm = (typeof HMAC_ALGORITHMS)[number];
export type AsymmetricAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number];
export type JwsAlgorithm = HmacAlgorithm | AsymmetricAlgorithm;

const HMAC_SET: ReadonlySet<string> = new Set(HMAC_ALGORITHMS);
const ASYMMETRIC_SET: ReadonlySet<string> = new Set(ASYMMETRIC_ALGORITHMS);

export function isJwsAlgorithm(alg: unknown): alg is JwsAlgorithm {
  return typeof alg === 'string' && (HMAC_SET.has(alg) || ASYMMETRIC_SET.has(alg));
}

export function isHmacAlgorithm(alg: string): alg is HmacAlgorithm {
  return HMAC_SET.has(alg);
}

/** The WebCrypto parameters of `crypto.subtle.verify` for each JWS algorithm (RFC 7518 §3). */
export function verifyParams(alg: JwsAlgorithm): string | { name: string; hash?: string; saltLength?: number } {
  const bits = alg.slice(-3);
  switch (alg.slice(0, 2)) {
    case 'HS':
      return 'HMAC';
    case 'RS':
      return 'RSASSA-PKCS1-v1_5';
    case 'PS':
      return { name: 'RSA-PSS', saltLength: Number(bits) / 8 };
    case 'ES':
      return { name: 'ECDSA', hash: `SHA-${bits}` };
    default:
      return 'Ed25519'; // EdDSA, Ed25519
  }
}

/** RFC 7518 §3.3: RSA keys of fewer than 2048 bits are refused. */
export const MIN_RSA_MODULUS_BITS = 2048;

/** RFC 7518 §3.2: an HMAC key must be at least as long as the hash output. */
export function minHmacKeyBytes(alg: HmacAlgorithm): number {
  return Number(alg.slice(2)) / 8;
}

/** A public JWK as found in a JWKS (only the members we look at). */
export interface PublicJwk {
  kty?: unknown;
  crv?: unknown;
  kid?: unknown;
  alg?: unknown;
  use?: unknown;
  key_ops?: unknown;
  [member: string]: unknown;
}

/**
 * Whether `jwk` may verify a token signed with `alg`: the key type and curve must fit the
 * algorithm, and the key's own `alg`, `use` and `key_ops` (when present) must allow it.
 * This is what makes algorithm confusion impossible: an RSA key never meets ES256, and no
 * JWKS key ever meets an HS* algorithm.
 */
export function jwkFitsAlgorithm(jwk: PublicJwk, alg: AsymmetricAlgorithm): boolean {
  if (jwk.alg !== undefined && jwk.alg !== alg) return false;
  if (jwk.use !== undefined && jwk.use !== 'sig') return false;
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))) {
    return false;
  }
  switch (alg) {
    case 'RS256':
    case 'RS384':
    case 'RS512':
    case 'PS256':
    case 'PS384':
    case 'PS512':
      return jwk.kty === 'RSA';
    case 'ES256':
      return jwk.kty === 'EC' && jwk.crv === 'P-256';
    case 'ES384':
      return jwk.kty === 'EC' && jwk.crv === 'P-384';
    case 'ES512':
      return jwk.kty === 'EC' && jwk.crv === 'P-521';
    case 'EdDSA':
    case 'Ed25519':
      return jwk.kty === 'OKP' && jwk.crv === 'Ed25519';
  }
}
