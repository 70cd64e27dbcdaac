import { ASYMMETRIC_ALGORITHMS, jwkFitsAlgorithm, type AsymmetricAlgorithm, type PublicJwk } from '../keys/algorithms';
import { ConfigError, jsonVar, integerVar, stringVar, type RawEnv } from './vars';

/** Members of a private JWK that its public half must not carry. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

export interface SigningKey {
  readonly kid: string;
  readonly alg: AsymmetricAlgorithm;
  readonly privateJwk: Readonly<Record<string, unknown>>;
}

/** docs/reference.md §6 settings; absent when TOKEN_SIGNING_KEYS is unset (token service off). */
export interface TokenServiceConfig {
  /** The first key signs; all of them verify (rotation). */
  readonly signingKeys: readonly [SigningKey, ...SigningKey[]];
  /** What /.well-known/jwks.json publishes: the public halves, with kid, alg and use. */
  readonly publicJwks: readonly PublicJwk[];
  /** TOKEN_ISSUER; undefined means "the origin the worker is called on". */
  readonly issuer: string | undefined;
  readonly audience: string;
  readonly accessTokenTtlSeconds: number;
  /** A refresh token expires this long after it was issued (rotation issues a fresh one). */
  readonly refreshTokenTtlSeconds: number;
  /** A session (refresh family) ends this long after login, however often it refreshes. */
  readonly refreshFamilyMaxAgeSeconds: number;
}

function publicHalf(key: SigningKey): PublicJwk {
  const jwk: Record<string, unknown> = { ...key.privateJwk };
  for (const member of PRIVATE_MEMBERS) delete jwk[member];
  delete jwk.key_ops;
  return { ...jwk, kid: key.kid, alg: key.alg, use: 'sig' };
}

function parseSigningKeys(keys: unknown): [SigningKey, ...SigningKey[]] {
  const field = 'TOKEN_SIGNING_KEYS';
  if (!Array.isArray(keys) || keys.length === 0) throw new ConfigError(field, 'must be a non-empty JSON array of private JWKs');
  const kids = new Set<string>();
  const parsed = keys.map((jwk: unknown, i): SigningKey => {
    const at = `${field}[${i}]`;
    if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw new ConfigError(at, 'must be a JWK object');
    const key = jwk as Record<string, unknown>;
    if (typeof key.kid !== 'string' || key.kid === '') throw new ConfigError(`${at}.kid`, 'is required');
    if (kids.has(key.kid)) throw new ConfigError(`${at}.kid`, `duplicates ${JSON.stringify(key.kid)}`);
    kids.add(key.kid);
    const alg = key.alg;
    if (typeof alg !== 'string' || !(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(alg)) {
      throw new ConfigError(`${at}.alg`, `must be one of ${ASYMMETRIC_ALGORITHMS.join(', ')}`);
    }
    if (typeof key.d !== 'string') throw new ConfigError(at, 'must be a private key (no "d")');
    const { use: _use, key_ops: _ops, alg: _alg, ...shape } = key;
    if (!jwkFitsAlgorithm(shape, alg as AsymmetricAlgorithm)) throw new ConfigError(at, `key type does not fit ${alg}`);
    return { kid: key.kid, alg: alg as AsymmetricAlgorithm, privateJwk: key };
  });
  return parsed as [SigningKey, ...SigningKey[]];
}

export function parseTokenService(env: RawEnv): TokenServiceConfig | undefined {
  if (env.TOKEN_SIGNING_KEYS === undefined || env.TOKEN_SIGNING_KEYS === '') return undefined;
  const signingKeys = parseSigningKeys(jsonVar(env, 'TOKEN_SIGNING_KEYS'));
  return {
    signingKeys,
    publicJwks: signingKeys.map(publicHalf),
    issuer: stringVar(env, 'TOKEN_ISSUER'),
    audience: stringVar(env, 'TOKEN_AUDIENCE') ?? 'api',
    accessTokenTtlSeconds: integerVar(env, 'ACCESS_TOKEN_TTL_SECONDS', 1) ?? 300,
    refreshTokenTtlSeconds: integerVar(env, 'REFRESH_TOKEN_TTL_SECONDS', 1) ?? 2_592_000,
    refreshFamilyMaxAgeSeconds: integerVar(env, 'REFRESH_FAMILY_MAX_AGE_SECONDS', 1) ?? 7_776_000,
  };
}
