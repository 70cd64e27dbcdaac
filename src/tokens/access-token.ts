import { importJWK, SignJWT, type JWK } from 'jose';
import type { SigningKey, TokenServiceConfig } from '../config/token-service';

/** Claims a caller of /v1/sessions may not set: killswitch owns them (plus the version claim). */
export const RESERVED_CLAIMS = ['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'sid', 'scope', 'cnf', 'client_id'] as const;

const privateKeys = new WeakMap<SigningKey, Promise<CryptoKey>>();

function privateKeyOf(key: SigningKey): Promise<CryptoKey> {
  let pending = privateKeys.get(key);
  if (pending === undefined) {
    pending = importJWK(key.privateJwk as JWK, key.alg) as Promise<CryptoKey>;
    privateKeys.set(key, pending);
  }
  return pending;
}

export interface AccessTokenInput {
  readonly issuer: string;
  readonly sub: string;
  readonly jti: string;
  /** The session (refresh family) id, as the `sid` claim: a logout with this token ends it. */
  readonly sessionId: string;
  readonly version: number;
  readonly versionClaim: string;
  readonly scope?: string;
  readonly claims?: Readonly<Record<string, unknown>>;
}

/** A short-lived access token signed with the current key (the first of TOKEN_SIGNING_KEYS). */
export async function mintAccessToken(service: TokenServiceConfig, input: AccessTokenInput, now: number) {
  const [key] = service.signingKeys;
  const exp = now + service.accessTokenTtlSeconds;
  const token = await new SignJWT({
    ...input.claims,
    [input.versionClaim]: input.version,
    sid: input.sessionId,
    ...(input.scope === undefined ? {} : { scope: input.scope }),
  })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' })
    .setIssuer(input.issuer)
    .setAudience(service.audience)
    .setSubject(input.sub)
    .setIssuedAt(now)
    .setExpirationTime(exp)
    .setJti(input.jti)
    .sign(await privateKeyOf(key));
  return { token, exp };
}
