// @ts-check
// Tokens the soak makes itself: demo-issuer tokens signed with the demo key, and the ECDSA
// malleated twin of a token.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { base64url, importJWK, SignJWT } from 'jose';
import { DEMO_ISSUER, ROOT } from '../lib/wrangler-dev.mjs';

const DEMO_AUDIENCE = 'api';
/** Demo tokens live this long (s). */
export const DEMO_LIFETIME = 900;
/** P-256 group order, for the malleated twin (r, n − s) of an ES256 signature. */
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** @typedef {(sub: string, iat: number, jti: string | undefined) => Promise<string>} DemoSigner */

/**
 * Signs demo-issuer tokens (ES256, kid from dev/demo-issuer.private.jwk.json) as the worker's
 * demo configuration trusts them.
 * @returns {Promise<DemoSigner>}
 */
export async function demoSigner() {
  /** @type {import('jose').JWK & { alg: string, kid: string }} */
  const jwk = JSON.parse(readFileSync(join(ROOT, 'dev/demo-issuer.private.jwk.json'), 'utf8'));
  const key = await importJWK(jwk, jwk.alg);
  return async (sub, iat, jti) => {
    const jwt = new SignJWT({})
      .setProtectedHeader({ alg: jwk.alg, kid: jwk.kid, typ: 'JWT' })
      .setIssuer(DEMO_ISSUER)
      .setAudience(DEMO_AUDIENCE)
      .setSubject(sub)
      .setIssuedAt(iat)
      .setExpirationTime(iat + DEMO_LIFETIME);
    if (jti !== undefined) jwt.setJti(jti);
    return jwt.sign(key);
  };
}

/**
 * The same token with its ES256 signature (r, s) replaced by (r, n − s): also valid.
 * @param {string} token
 * @returns {string | undefined}  undefined when the signature is not 64 bytes
 */
export function malleatedTwin(token) {
  const [h, p, s] = token.split('.');
  const sig = base64url.decode(s);
  if (sig.length !== 64) return undefined;
  const sValue = BigInt(`0x${Buffer.from(sig.subarray(32)).toString('hex')}`);
  const twin = Buffer.concat([Buffer.from(sig.subarray(0, 32)), Buffer.from((P256_N - sValue).toString(16).padStart(64, '0'), 'hex')]);
  return `${h}.${p}.${base64url.encode(twin)}`;
}
