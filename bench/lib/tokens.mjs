// @ts-check
// Keys, issuers and token pools, made with jose at bench start (nothing is stored).
import { randomBytes, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { DENYLIST_ISSUER } from './denylist.mjs';

export const ALGS = ['ES256', 'RS256', 'EdDSA', 'HS256'];
export const AUDIENCE = 'api';
/** @param {string} alg */
export const issuerFor = (alg) => `https://${alg.toLowerCase()}.bench.killswitch.local`;
if (issuerFor('ES256') !== DENYLIST_ISSUER) throw new Error('denylist issuer must be the ES256 bench issuer');

/**
 * @typedef {object} BenchKey
 * @property {string} alg
 * @property {string} kid
 * @property {string} issuer
 * @property {import('jose').CryptoKey | Uint8Array} signKey
 * @property {import('jose').JWK} [publicJwk] asymmetric algorithms
 * @property {string} [secret] HS256: the secret's value (killswitch's hmacSecret)
 * @property {string} [octK] HS256: its bytes, base64url (a JWK's `k`)
 */

/**
 * One key per algorithm.
 * @returns {Promise<Record<string, BenchKey>>}
 */
export async function makeKeys() {
  /** @type {Record<string, BenchKey>} */
  const keys = {};
  for (const alg of ALGS) {
    const kid = `bench-${alg.toLowerCase()}-1`;
    if (alg === 'HS256') {
      // killswitch uses an hmacSecret as the UTF-8 bytes of the secret's value: keep it ASCII.
      const secret = randomBytes(36).toString('base64url'); // 48 chars ≥ 32 bytes
      const bytes = new TextEncoder().encode(secret);
      keys[alg] = { alg, kid, issuer: issuerFor(alg), signKey: bytes, secret, octK: Buffer.from(bytes).toString('base64url') };
    } else {
      const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
      const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
      keys[alg] = { alg, kid, issuer: issuerFor(alg), signKey: privateKey, publicJwk };
    }
  }
  return keys;
}

/**
 * Signs `count` distinct tokens (distinct jti; subs cycle over `users`).
 * @param {BenchKey} key
 * @param {number} count
 * @param {{ subPrefix?: string, users?: number, ttl?: number }} [options]
 * @returns {Promise<string[]>}
 */
export async function makePool(key, count, { subPrefix = 'user', users = 1000, ttl = 3600 } = {}) {
  const now = Math.floor(Date.now() / 1000);
  /** @type {string[]} */
  const out = new Array(count);
  const batch = 64;
  for (let i = 0; i < count; i += batch) {
    const jobs = [];
    for (let j = i; j < Math.min(count, i + batch); j++) {
      jobs.push(
        new SignJWT({})
          .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
          .setIssuer(key.issuer)
          .setAudience(AUDIENCE)
          .setSubject(`${subPrefix}-${j % users}`)
          .setIssuedAt(now)
          .setExpirationTime(now + ttl)
          .setJti(randomUUID())
          .sign(key.signKey)
          .then((t) => {
            out[j] = t;
          }),
      );
    }
    await Promise.all(jobs);
  }
  return out;
}

/**
 * The same token with a different, wrong signature (flips bits in the middle of it).
 * @param {string} token
 */
export function forge(token) {
  const dot = token.lastIndexOf('.');
  const sig = Buffer.from(token.slice(dot + 1), 'base64url');
  sig[sig.length >> 1] ^= 0x5a;
  sig[0] ^= 0x01;
  return `${token.slice(0, dot)}.${sig.toString('base64url')}`;
}

/**
 * killswitch's TRUSTED_ISSUERS for these keys; the HS256 issuer names the secret var.
 * @param {Record<string, BenchKey>} keys
 * @param {string} hmacVar
 */
export function trustedIssuers(keys, hmacVar) {
  return ALGS.map((alg) => {
    const k = keys[alg];
    const base = { issuer: k.issuer, audiences: [AUDIENCE], algorithms: [alg] };
    return alg === 'HS256' ? { ...base, hmacSecret: hmacVar } : { ...base, jwks: { keys: [k.publicJwk] } };
  });
}
