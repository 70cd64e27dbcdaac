// @ts-check
// Push → first refusal (issue 14, bounded mode): an identity provider ends a user's session
// and pushes a CAEP `session-revoked` Security Event Token to POST /v1/ssf/{stream}/events
// (RFC 8935); the user's token must be refused within the bound from the 202. The transmitter
// is made here with jose (an RS256 key, its JWKS inline in SSF_STREAMS, a push secret), shaped
// like Okta's: `sub_id` iss_sub, `event_timestamp` in milliseconds (docs/security-events.md).
// The polling is scripts/lib/first-refusal.mjs's, as for POST /v1/revoke.
import { randomBytes, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { refusalSamples } from './revocations.mjs';

export const SSF_STREAM_ID = 'bench-idp';
const SSF_ISSUER = 'https://idp.bench.killswitch.local';
const SSF_AUDIENCE = `https://killswitch.bench/v1/ssf/${SSF_STREAM_ID}`;
const SECRET_VAR = 'BENCH_SSF_PUSH_SECRET';
const SESSION_REVOKED = 'https://schemas.openid.net/secevent/caep/event-type/session-revoked';

/**
 * @typedef {object} Transmitter
 * @property {Record<string, string>} env SSF_STREAMS and the push secret's variable, for the --env-file
 * @property {(sub: string) => Promise<import('../../scripts/lib/first-refusal.mjs').Revocation>} sessionRevoked the push of a signed SET for `sub`
 */

/**
 * A transmitter whose SET subjects map to `sub` of the trusted issuer `tokenIssuer`.
 * @param {string} tokenIssuer
 * @returns {Promise<Transmitter>}
 */
export async function makeTransmitter(tokenIssuer) {
  const kid = 'bench-ssf-1';
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const secret = randomBytes(24).toString('base64url');
  const stream = {
    id: SSF_STREAM_ID,
    issuer: SSF_ISSUER,
    audience: SSF_AUDIENCE,
    algorithms: ['RS256'],
    jwks: { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }] },
    secret: SECRET_VAR,
    subjects: { iss_sub: { [SSF_ISSUER]: { issuer: tokenIssuer, claim: 'sub' } } },
  };
  return {
    env: { SSF_STREAMS: JSON.stringify([stream]), [SECRET_VAR]: secret },
    async sessionRevoked(sub) {
      const set = await new SignJWT({
        sub_id: { format: 'iss_sub', iss: SSF_ISSUER, sub },
        events: { [SESSION_REVOKED]: { event_timestamp: Date.now(), initiating_entity: 'admin' } },
      })
        .setProtectedHeader({ alg: 'RS256', kid, typ: 'secevent+jwt' })
        .setIssuer(SSF_ISSUER)
        .setAudience(SSF_AUDIENCE)
        .setIssuedAt()
        .setJti(randomUUID())
        .sign(privateKey);
      return {
        path: `/v1/ssf/${SSF_STREAM_ID}/events`,
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/secevent+jwt' },
        body: set,
      };
    },
  };
}

/**
 * Per sample: a token for a fresh user verifies, the IdP pushes `session-revoked` for that
 * user, then /v1/verify every 20 ms from the 202 until refused, and 300 ms more. Bounded mode.
 * @param {import('./run-context.mjs').Run} run
 * @param {import('./matrix.mjs').Setup} setup
 * @param {Transmitter} transmitter
 */
export async function pushFirstRefusal(run, setup, transmitter) {
  const worker = setup.ks.bounded;
  if (!worker) return;
  const r = await refusalSamples(run, setup, {
    what: 'push → first refusal',
    mode: 'bounded',
    worker,
    ack: '202',
    revocationFor: transmitter.sessionRevoked,
  });
  if (r) run.results.pushFirstRefusal.bounded = { stream: SSF_STREAM_ID, event: SESSION_REVOKED, ...r };
}
