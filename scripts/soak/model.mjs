// @ts-check
// The soak's model of killswitch's state: users and their revokes, the token pool, sessions,
// and what a verify must answer given what was acknowledged when it was sent.

import { now } from './stats.mjs';

/** @import { Expectation, ModelSession, ModelUser, TokenIdentity, TokenRecord } from './types.d.ts' */

const POOL_MAX = 4000;
export const SESSIONS_MAX = 600;

/**
 * A random element, or undefined for an empty list.
 * @template T
 * @param {readonly T[]} list
 * @returns {T | undefined}
 */
export const pick = (list) => list[Math.floor(Math.random() * list.length)];

/** @param {string} token @returns {{ iat: number, exp: number, jti?: string }} */
export function claimsOf(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}

export class Model {
  /** @param {number} userCount */
  constructor(userCount) {
    const runId = Date.now().toString(36);
    /** @type {ModelUser[]} */
    this.users = Array.from({ length: userCount }, (_, i) => ({ sub: `soak-${runId}-u${i}`, revoking: false, minting: 0, revokes: [] }));
    /** @type {TokenRecord[]} */
    this.pool = [];
    /** @type {ModelSession[]} */
    this.sessions = [];
    /** @type {Map<string, TokenIdentity>} */
    this.identities = new Map();
  }

  /**
   * Revocation targets a token's identity: its jti, or for a token without one the digest of
   * `header.payload` — so two jti-less tokens of one user minted in the same second are one and
   * the same token to killswitch (revoking either revokes both). The model shares state likewise.
   * @param {ModelUser} user
   * @param {string} token
   * @param {string | undefined} jti
   */
  identityOf(user, token, jti) {
    const key = jti ?? `${user.sub}|${token.slice(0, token.lastIndexOf('.'))}`;
    let id = this.identities.get(key);
    if (id === undefined) this.identities.set(key, (id = {}));
    return id;
  }

  /** @param {TokenRecord} record  added; a random one goes when the pool is full */
  addToPool(record) {
    if (this.pool.length >= POOL_MAX) this.pool.splice(Math.floor(Math.random() * this.pool.length), 1);
    this.pool.push(record);
  }

  /**
   * An access token from the token service, added to the pool.
   * @param {ModelUser} user
   * @param {string} token
   * @param {number} receivedAt
   * @returns {TokenRecord}
   */
  addAccessToken(user, token, receivedAt) {
    const claims = claimsOf(token);
    const record = {
      token,
      user,
      iat: claims.iat,
      exp: claims.exp,
      jti: claims.jti,
      mintedAt: receivedAt,
      kind: /** @type {const} */ ('access'),
      id: this.identityOf(user, token, claims.jti),
    };
    this.addToPool(record);
    return record;
  }

  /** A token to verify: half of the time one that the model says must be refused. */
  verifyTarget() {
    if (Math.random() < 0.5) {
      for (let i = 0; i < 8; i++) {
        const t = pick(this.pool);
        if (t !== undefined && expectation(t, now()) === 'refuse') return t;
      }
    }
    return pick(this.pool);
  }
}

/** wrangler.toml leaves REVOCATION_IAT_MARGIN_SECONDS at its default. */
const IAT_MARGIN_SECONDS = 2;

/**
 * What the model requires of a verify of `t` sent at `sentAt`: 'refuse' (acceptance is a
 * violation), 'accept' (refusal is a bug) or 'either'.
 * @param {TokenRecord} t
 * @param {number} sentAt
 * @returns {Expectation}
 */
export function expectation(t, sentAt) {
  if (t.id.revokeAckAt !== undefined && t.id.revokeAckAt <= sentAt) return 'refuse';
  /** @type {Expectation} */
  let verdict = 'accept';
  for (const r of t.user.revokes) {
    const issuedBefore = t.mintedAt <= r.sentAt; // minting and user revokes never overlap
    if (r.ackAt !== undefined && r.ackAt <= sentAt) {
      if (issuedBefore) return 'refuse';
      // Issued within REVOCATION_IAT_MARGIN_SECONDS (the default, 2) of the revoke: refused, by design.
      if (t.iat <= /** @type {number} */ (r.revokedBefore) + IAT_MARGIN_SECONDS) verdict = 'either';
    } else if (issuedBefore) {
      verdict = 'either'; // in flight, or acknowledged while this verify was on its way
    }
  }
  if (t.id.revokeSentAt !== undefined) verdict = 'either';
  if (sentAt / 1000 > t.exp - 10) verdict = 'either';
  return verdict;
}
