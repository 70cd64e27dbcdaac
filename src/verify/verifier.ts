import { base64url } from 'jose';
import { findIssuer, type Config, type IssuerConfig } from '../config/config';
import { isJwsAlgorithm, verifyParams, type JwsAlgorithm } from '../keys/algorithms';
import {
  MAX_TOKEN_BYTES,
  isSecurityEventToken,
  isVersion,
  ownClaim,
  parseCompactJws,
  stringClaim,
  type Claims,
  type CompactJws,
} from './compact-jws';
import type { Reason } from './reasons';
import type { AuthenticToken, Authentication } from './token';
import { VerifiedTokens } from './verified-tokens';
import { nowSeconds } from '../clock';

/**
 * The hot path up to revocation, top to bottom, in the order of docs/reference.md §3:
 * parse → header → issuer → key → signature → claims (revocation: src/verify-token.ts).
 * Nothing before the signature check reads state, so forged tokens cost no KV or DO read.
 */

const refuse = (reason: Reason) => ({ ok: false, reason }) as const;
/** A refusal of a token whose signature verified: it names who was refused. */
const refuseAuthentic = (reason: Reason, { sub, jti }: Claims) => ({ ok: false, reason, identity: { sub, jti } }) as const;
const encoder = new TextEncoder();

async function tokenIdOf(jws: CompactJws): Promise<string> {
  if (jws.claims.jti !== undefined) return jws.claims.jti;
  const digest = await crypto.subtle.digest('SHA-256', encoder.encode(jws.signingInput));
  return `sha256:${base64url.encode(new Uint8Array(digest))}`;
}

/**
 * WebCrypto, straight: the header and payload were already parsed strictly, and `key` was
 * imported (by jose) for exactly this `alg`, so nothing is left for a second parse to check.
 */
export async function signatureValid(jws: CompactJws, key: CryptoKey, alg: JwsAlgorithm): Promise<boolean> {
  try {
    return await crypto.subtle.verify(verifyParams(alg), key, jws.signature, encoder.encode(jws.signingInput));
  } catch {
    return false; // e.g. a signature of the wrong length for the curve
  }
}

/**
 * What a token is checked for. `revoke` (RFC 7009, docs/reference.md §4.2) takes a token that is not valid
 * yet (`nbf`/`iat` ahead): it will be, and then it must already be denylisted.
 */
export type Purpose = 'use' | 'revoke';

function claimsReason(claims: Claims, issuer: IssuerConfig, config: Config, now: number, purpose: Purpose): Reason | undefined {
  const tolerance = config.clockToleranceSeconds;
  const audience = ownClaim(claims, issuer.audienceClaim);
  const audiences: unknown[] = Array.isArray(audience) ? audience : [audience];
  if (!audiences.some((aud) => typeof aud === 'string' && issuer.audiences.has(aud))) return 'wrong_audience';
  if (config.requiredClaims.some((name) => ownClaim(claims, name) === undefined)) return 'missing_claim';
  const { exp, nbf, iat } = claims;
  if (exp !== undefined && now >= exp + tolerance) return 'expired';
  if (purpose === 'use' && nbf !== undefined && now + tolerance < nbf) return 'not_yet_valid';
  if (purpose === 'use' && iat !== undefined && iat > now + tolerance) return 'issued_in_future';
  if (config.maxTokenLifetimeSeconds !== undefined) {
    if (iat === undefined || exp === undefined) return 'missing_claim';
    if (exp - iat > config.maxTokenLifetimeSeconds) return 'lifetime_too_long';
  }
  return undefined;
}

/** One cache of verified signatures per configuration (and so per key set). */
const verifiedTokensByConfig = new WeakMap<Config, VerifiedTokens>();

function verifiedTokensFor(config: Config): VerifiedTokens {
  let cache = verifiedTokensByConfig.get(config);
  if (cache === undefined) {
    cache = new VerifiedTokens(config.verifiedTokenCacheSize);
    verifiedTokensByConfig.set(config, cache);
  }
  return cache;
}

/** Signature and claims (docs/reference.md §3 up to, not including, revocation). */
export async function authenticate(
  token: string | undefined,
  config: Config,
  now = nowSeconds(),
  purpose: Purpose = 'use',
): Promise<Authentication> {
  if (token === undefined || token === '') return refuse('missing_token');
  if (token.length > MAX_TOKEN_BYTES) return refuse('malformed'); // before any work keyed on it
  // A token seen before skips parsing and crypto; its claims are checked against the clock again.
  const verifiedTokens = verifiedTokensFor(config);
  const known = await verifiedTokens.get(token);
  if (known !== undefined) {
    const badClaims = claimsReason(known.claims, known.issuer, config, now, purpose);
    return badClaims === undefined ? { ok: true, token: known } : refuseAuthentic(badClaims, known.claims);
  }

  const jws = parseCompactJws(token);
  if (jws === undefined || isSecurityEventToken(jws)) return refuse('malformed');

  const { alg, kid } = jws.header;
  if (!isJwsAlgorithm(alg)) return refuse('unsupported_alg'); // includes `none`
  const issuer = findIssuer(config, jws.claims.iss, kid);
  if (issuer === undefined) return refuse('wrong_issuer');
  if (!issuer.algorithms.has(alg)) return refuse('unsupported_alg');
  // Only an issuer whose entry names a version claim has one: Okta's `"ver":1` and Entra's
  // `"ver":"2.0"` are theirs, not ours.
  const { versionClaim } = issuer;
  const version = versionClaim === undefined ? undefined : ownClaim(jws.claims, versionClaim);
  if (version !== undefined && !isVersion(version)) return refuse('malformed');

  const keysInForce = await issuer.keys.current();
  const found = await issuer.keys.lookup(alg, kid);
  if ('error' in found) return refuse(found.error);
  if (!(await signatureValid(jws, found.key, alg))) return refuse('bad_signature');

  const badClaims = claimsReason(jws.claims, issuer, config, now, purpose);
  if (badClaims !== undefined) return refuseAuthentic(badClaims, jws.claims);
  // requiredClaims always holds sub and exp, and iss selected the issuer.
  const claims = jws.claims as AuthenticToken['claims'];
  // Never revocation state under an empty or missing key: no user id, no acceptance.
  const userId = stringClaim(claims, issuer.userClaim);
  if (userId === undefined) return refuseAuthentic('missing_claim', claims);
  const authentic: AuthenticToken = { claims, issuer, tokenId: await tokenIdOf(jws), userId };
  verifiedTokens.set(token, authentic, keysInForce);
  return { ok: true, token: authentic };
}
