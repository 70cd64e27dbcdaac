/**
 * Test issuers and keys, shared by vitest.config.mts (Node) and the tests (workerd). Keys are
 * fixed fixtures (test/fixtures/keys.json), generated once with jose; they sign nothing real.
 */
import keys from '../fixtures/keys.json';

export type KeyName = keyof typeof keys.asymmetric;
export const KEYS = keys.asymmetric;
export const HS_SECRET = keys.hmac.HS256;

export const ISSUERS = {
  hs: 'https://hs.test',
  inline: 'https://inline.test',
  remote: 'https://remote.test',
  second: 'https://second.test',
} as const;

/** The origin every test request is sent to (the worker answers any host). */
export const BASE = 'http://ks.test';

export const ADMIN_KEY = 'test-admin-key-0123456789';
export const ADMIN_KEY_ROTATED = 'test-admin-key-rotated-9876';
/** FEED_MAC_KEY: authenticates bounded mode's cached feed head (src/feed/head-mac.ts). */
export const FEED_MAC_KEY = 'test-feed-mac-key-0123456789abcdef0123';
/** FEED_API_KEYS (docs/reference.md §9): what origins read the feed with. */
export const FEED_KEY = 'test-feed-key-0123456789';
export const FEED_KEY_ROTATED = 'test-feed-key-rotated-9876';

/** The remote issuer's JWKS lives on the local JWKS server (test/global-setup.ts) under this path. */
export const REMOTE_JWKS_PATH = '/jwks/default';

/** Test streams (reference §7): transmitters' keys (rs256-1) on the JWKS server, under these paths. */
export const SSF_JWKS_PATHS = { okta: '/jwks/ssf-okta', google: '/jwks/ssf-google' } as const;
export const SSF_OKTA_SECRET = 'okta-push-secret-0123456789';
export const SSF = {
  okta: { issuer: 'https://okta.test', audience: 'https://ks.test/v1/ssf/okta' },
  google: { issuer: 'https://accounts.google.com/', audience: '123-ks.apps.googleusercontent.com' },
} as const;

/**
 * SSF_STREAMS of the Shared Signals tests (test/helpers/ssf.ts adds them to their own env, so
 * that tests which replace TRUSTED_ISSUERS are not affected): an Okta-like stream (push secret, iss_sub to the inline issuer) and a
 * Google-like one (signature only, RISC, no `typ`). Okta's SET subjects map to `sub` of the
 * inline issuer's tokens, Google's to the second issuer's.
 */
export function ssfStreams(jwksPort: number) {
  return [
    {
      id: 'okta',
      issuer: SSF.okta.issuer,
      audience: SSF.okta.audience,
      algorithms: ['RS256'],
      jwksUri: `http://127.0.0.1:${jwksPort}${SSF_JWKS_PATHS.okta}`,
      secret: 'SSF_OKTA_SECRET',
      subjects: { iss_sub: { [SSF.okta.issuer]: { issuer: ISSUERS.inline, claim: 'sub' } }, email: true },
    },
    {
      id: 'google',
      issuer: SSF.google.issuer,
      audience: SSF.google.audience,
      algorithms: ['RS256'],
      jwksUri: `http://127.0.0.1:${jwksPort}${SSF_JWKS_PATHS.google}`,
      acceptMissingTyp: true,
      subjects: { iss_sub: { [SSF.google.issuer]: { issuer: ISSUERS.second } } },
    },
  ];
}

export function trustedIssuers(jwksPort: number) {
  const pub = (name: KeyName) => KEYS[name].public;
  return [
    // hs and inline name a version claim (tests of version revocation use them); remote and
    // second do not, so their tokens' `ver` is theirs (reference §2).
    { issuer: ISSUERS.hs, audiences: ['api'], algorithms: ['HS256', 'HS384', 'HS512'], hmacSecret: 'HS_SECRET', versionClaim: 'ver' },
    {
      issuer: ISSUERS.inline,
      audiences: ['api'],
      versionClaim: 'ver',
      algorithms: ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'],
      jwks: { keys: [pub('rs256-1'), pub('ps256-1'), pub('es256-1'), pub('es384-1'), pub('ed-1')] },
    },
    {
      issuer: ISSUERS.remote,
      audiences: ['api'],
      algorithms: ['ES256'],
      jwksUri: `http://127.0.0.1:${jwksPort}${REMOTE_JWKS_PATH}`,
    },
    { issuer: ISSUERS.second, audiences: ['api', 'other'], algorithms: ['ES256'], jwks: { keys: [pub('second-1')] } },
  ];
}

/** The worker's bindings in tests: wrangler.toml's, plus these. */
export function testBindings(jwksPort: number): Record<string, string> {
  return {
    TRUSTED_ISSUERS: JSON.stringify(trustedIssuers(jwksPort)),
    HS_SECRET,
    ADMIN_API_KEYS: `${ADMIN_KEY}, ${ADMIN_KEY_ROTATED}`,
    FEED_API_KEYS: `${FEED_KEY}, ${FEED_KEY_ROTATED}`,
    FEED_MAC_KEY,
    // The token service (reference §6) signs with session-1; TOKEN_ISSUER is unset, so its
    // tokens carry the origin they were minted on (http://ks.test in tests).
    TOKEN_SIGNING_KEYS: JSON.stringify([KEYS['session-1'].private]),
    // Tests read the line of every accepted check; the shipped default logs a 1 % sample.
    LOG_ACCEPTED: 'true',
    // Tests ask ?strict=1 as token holders; test/public-strict.test.ts checks the shipped default (false).
    PUBLIC_STRICT: 'true',
  };
}
