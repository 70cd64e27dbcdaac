/**
 * reference §2: parseConfig validates every setting and names the field at fault (ConfigError.field);
 * getConfig parses once per env object, errors included.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, getConfig, parseConfig, type Config, type RawEnv } from '../src/config/config';
import { KEYS } from './helpers/fixtures';

const SECRET_64 = 's'.repeat(64);
const HS = { issuer: 'https://hs.test', audiences: ['api'], algorithms: ['HS256'], hmacSecret: 'SECRET' };
const ES = { issuer: 'https://es.test', audiences: ['api'], algorithms: ['ES256'], jwks: { keys: [KEYS['es256-1'].public] } };
const REMOTE = { issuer: 'https://remote.test', audiences: ['api'], algorithms: ['ES256'], jwksUri: 'https://idp.test/jwks.json' };

/** A valid environment, with `overrides` on top; TRUSTED_ISSUERS may be given already parsed. */
const envWith = (overrides: Record<string, unknown> = {}): RawEnv => ({
  TRUSTED_ISSUERS: JSON.stringify([HS, ES]),
  SECRET: SECRET_64,
  ...overrides,
});
const issuers = (...entries: unknown[]) => ({ TRUSTED_ISSUERS: JSON.stringify(entries) });

function configError(env: RawEnv): ConfigError {
  try {
    parseConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('parseConfig accepted the configuration');
}

describe('parseConfig rejects, naming the field', () => {
  const privateJwk = { ...KEYS['es256-1'].private };
  it.each<[string, Record<string, unknown>, string]>([
    ['TRUSTED_ISSUERS not JSON', { TRUSTED_ISSUERS: '[{"issuer":' }, 'TRUSTED_ISSUERS'],
    ['TRUSTED_ISSUERS unset', { TRUSTED_ISSUERS: undefined }, 'TRUSTED_ISSUERS'],
    ['TRUSTED_ISSUERS an empty array', { TRUSTED_ISSUERS: '[]' }, 'TRUSTED_ISSUERS'],
    ['TRUSTED_ISSUERS an object', { TRUSTED_ISSUERS: JSON.stringify(HS) }, 'TRUSTED_ISSUERS'],
    ['an issuer that is not an object', issuers(HS, 'https://x.test'), 'TRUSTED_ISSUERS[1]'],
    ['an empty issuer name', issuers({ ...HS, issuer: '' }), 'TRUSTED_ISSUERS[0].issuer'],
    ['a duplicate issuer', issuers(ES, HS, { ...ES, audiences: ['other'] }), 'TRUSTED_ISSUERS[2].issuer'],
    ['empty audiences', issuers({ ...HS, audiences: [] }), 'TRUSTED_ISSUERS[0].audiences'],
    ['no algorithms', issuers({ ...ES, algorithms: [] }), 'TRUSTED_ISSUERS[0].algorithms'],
    ['an unknown algorithm', issuers(HS, { ...ES, algorithms: ['ES256', 'XS256'] }), 'TRUSTED_ISSUERS[1].algorithms'],
    ['algorithm none', issuers({ ...ES, algorithms: ['none'] }), 'TRUSTED_ISSUERS[0].algorithms'],
    ['algorithm "None"', issuers({ ...ES, algorithms: ['None'] }), 'TRUSTED_ISSUERS[0].algorithms'],
    [
      'an issuer without a key source',
      issuers({ issuer: 'https://x.test', audiences: ['api'], algorithms: ['ES256'] }),
      'TRUSTED_ISSUERS[0]',
    ],
    ['two key sources', issuers({ ...ES, jwksUri: REMOTE.jwksUri }), 'TRUSTED_ISSUERS[0]'],
    ['hmacSecret naming a missing binding', issuers({ ...HS, hmacSecret: 'NO_SUCH_SECRET' }), 'TRUSTED_ISSUERS[0].hmacSecret'],
    ['hmacSecret naming an empty binding', { ...issuers(HS), SECRET: '' }, 'TRUSTED_ISSUERS[0].hmacSecret'],
    ['HS256 with a 31-byte secret', { SECRET: 'k'.repeat(31) }, 'TRUSTED_ISSUERS[0].hmacSecret'],
    [
      'HS512 with a 63-byte secret',
      { ...issuers({ ...HS, algorithms: ['HS512'] }), SECRET: 'k'.repeat(63) },
      'TRUSTED_ISSUERS[0].hmacSecret',
    ],
    [
      'HS256+HS512 with a 40-byte secret',
      { ...issuers({ ...HS, algorithms: ['HS256', 'HS512'] }), SECRET: 'k'.repeat(40) },
      'TRUSTED_ISSUERS[0].hmacSecret',
    ],
    ['HS algorithms with an inline JWKS', issuers({ ...ES, algorithms: ['ES256', 'HS256'] }), 'TRUSTED_ISSUERS[0].algorithms'],
    ['HS algorithms with a jwksUri', issuers({ ...REMOTE, algorithms: ['HS256'] }), 'TRUSTED_ISSUERS[0].algorithms'],
    ['RS algorithms with an hmacSecret', issuers({ ...HS, algorithms: ['HS256', 'RS256'] }), 'TRUSTED_ISSUERS[0].algorithms'],
    ['jwksUri http: on a public host', issuers({ ...REMOTE, jwksUri: 'http://idp.test/jwks.json' }), 'TRUSTED_ISSUERS[0].jwksUri'],
    [
      'jwksUri http: on localhost.evil.test',
      issuers({ ...REMOTE, jwksUri: 'http://localhost.evil.test/jwks' }),
      'TRUSTED_ISSUERS[0].jwksUri',
    ],
    ['jwksUri http: on 127.0.0.1.nip.io', issuers({ ...REMOTE, jwksUri: 'http://127.0.0.1.nip.io/jwks' }), 'TRUSTED_ISSUERS[0].jwksUri'],
    ['jwksUri ftp:', issuers({ ...REMOTE, jwksUri: 'ftp://idp.test/jwks.json' }), 'TRUSTED_ISSUERS[0].jwksUri'],
    ['jwksUri not a URL', issuers({ ...REMOTE, jwksUri: 'idp.test/jwks.json' }), 'TRUSTED_ISSUERS[0].jwksUri'],
    ['an inline JWKS with no keys', issuers({ ...ES, jwks: { keys: [] } }), 'TRUSTED_ISSUERS[0].jwks'],
    [
      'an inline JWKS holding a private key (d)',
      issuers({ ...ES, jwks: { keys: [KEYS['rs256-1'].public, privateJwk] } }),
      'TRUSTED_ISSUERS[0].jwks.keys[1]',
    ],
    [
      'an inline JWKS holding an oct key',
      issuers({ ...ES, jwks: { keys: [{ kty: 'oct', k: SECRET_64 }] } }),
      'TRUSTED_ISSUERS[0].jwks.keys[0]',
    ],
    ['CLOCK_TOLERANCE_SECONDS negative', { CLOCK_TOLERANCE_SECONDS: '-1' }, 'CLOCK_TOLERANCE_SECONDS'],
    ['CLOCK_TOLERANCE_SECONDS a fraction', { CLOCK_TOLERANCE_SECONDS: '1.5' }, 'CLOCK_TOLERANCE_SECONDS'],
    ['CLOCK_TOLERANCE_SECONDS words', { CLOCK_TOLERANCE_SECONDS: 'thirty' }, 'CLOCK_TOLERANCE_SECONDS'],
    ['MAX_TOKEN_LIFETIME_SECONDS words', { MAX_TOKEN_LIFETIME_SECONDS: '1h' }, 'MAX_TOKEN_LIFETIME_SECONDS'],
    ['REQUIRED_CLAIMS not JSON', { REQUIRED_CLAIMS: 'sub,exp' }, 'REQUIRED_CLAIMS'],
    ['REQUIRED_CLAIMS not an array of names', { REQUIRED_CLAIMS: '["sub", 1]' }, 'REQUIRED_CLAIMS'],
    ['REVOCATION_MODE unknown', { REVOCATION_MODE: 'lazy' }, 'REVOCATION_MODE'],
    ['FAIL_MODE unknown', { FAIL_MODE: 'ajar' }, 'FAIL_MODE'],
    // Bounded mode forgets a user entry a token lifetime after the change: it needs that lifetime.
    ['REVOCATION_MODE bounded without MAX_TOKEN_LIFETIME_SECONDS', { REVOCATION_MODE: 'bounded' }, 'MAX_TOKEN_LIFETIME_SECONDS'],
    [
      'REVOCATION_MAX_STALENESS_MS under 500 (below a cross-ocean refresh)',
      { REVOCATION_MAX_STALENESS_MS: '499' },
      'REVOCATION_MAX_STALENESS_MS',
    ],
    ['REVOCATION_MAX_STALENESS_MS a fraction', { REVOCATION_MAX_STALENESS_MS: '1000.5' }, 'REVOCATION_MAX_STALENESS_MS'],
    ['FEED_MAC_KEY under 32 characters', { FEED_MAC_KEY: 'short-feed-mac-key' }, 'FEED_MAC_KEY'],
    ['FEED_CLOCK_SKEW_MS negative', { FEED_CLOCK_SKEW_MS: '-1' }, 'FEED_CLOCK_SKEW_MS'],
    ['LOG_ACCEPTED not a boolean', { LOG_ACCEPTED: 'yes' }, 'LOG_ACCEPTED'],
    ['LOG_ACCEPTED a rate over 1', { LOG_ACCEPTED: '1.5' }, 'LOG_ACCEPTED'],
    ['LOG_ACCEPTED a percentage', { LOG_ACCEPTED: '1%' }, 'LOG_ACCEPTED'],
    ['LOG_ACCEPTED negative', { LOG_ACCEPTED: '-0.1' }, 'LOG_ACCEPTED'],
    ['LOG_ACCEPTED in exponent form', { LOG_ACCEPTED: '1e-2' }, 'LOG_ACCEPTED'],
    ['ADMIN_API_KEYS with a short key', { ADMIN_API_KEYS: 'a-long-enough-admin-key-1, short' }, 'ADMIN_API_KEYS'],
    // Past KV's 60 s propagation bound, an in-isolate cache would break the consistency promise.
    ['REVOCATION_CACHE_TTL_SECONDS over 60', { REVOCATION_CACHE_TTL_SECONDS: '61' }, 'REVOCATION_CACHE_TTL_SECONDS'],
    ['VERIFIED_TOKEN_CACHE_SIZE negative', { VERIFIED_TOKEN_CACHE_SIZE: '-5' }, 'VERIFIED_TOKEN_CACHE_SIZE'],
    ['TOKEN_SIGNING_KEYS not JSON', { TOKEN_SIGNING_KEYS: '[{' }, 'TOKEN_SIGNING_KEYS'],
    ['TOKEN_SIGNING_KEYS a public key', { TOKEN_SIGNING_KEYS: JSON.stringify([KEYS['session-1'].public]) }, 'TOKEN_SIGNING_KEYS[0]'],
    [
      'TOKEN_SIGNING_KEYS without kid',
      { TOKEN_SIGNING_KEYS: JSON.stringify([{ ...KEYS['session-1'].private, kid: undefined }]) },
      'TOKEN_SIGNING_KEYS[0].kid',
    ],
    [
      'ACCESS_TOKEN_TTL_SECONDS zero',
      { TOKEN_SIGNING_KEYS: JSON.stringify([KEYS['session-1'].private]), ACCESS_TOKEN_TTL_SECONDS: '0' },
      'ACCESS_TOKEN_TTL_SECONDS',
    ],
  ])('%s → ConfigError(%s)', (_label, overrides, field) => {
    const error = configError(envWith(overrides));
    expect({ field: error.field, code: error.code, prefix: error.message.startsWith(`${field}: `) }).toEqual({
      field,
      code: 'server_misconfigured',
      prefix: true,
    });
  });

  it.each([
    ['a short HMAC secret', { SECRET: 'short-secret-value' }, 'short-secret-value'],
    ['a short admin key', { ADMIN_API_KEYS: 'tiny-admin-key' }, 'tiny-admin-key'],
  ])('never puts the secret value of %s in the error message', (_label, overrides, secret) => {
    expect(configError(envWith(overrides)).message).not.toContain(secret);
  });
});

describe('parseConfig accepts', () => {
  it.each([
    ['HS256 with a 32-byte secret', { SECRET: 'k'.repeat(32) }],
    ['HS512 with a 64-byte secret', { ...issuers({ ...HS, algorithms: ['HS512'] }), SECRET: 'k'.repeat(64) }],
    ['jwksUri https:', issuers(REMOTE)],
    ['jwksUri http://localhost', issuers({ ...REMOTE, jwksUri: 'http://localhost:8787/jwks.json' })],
    ['jwksUri http://127.0.0.1', issuers({ ...REMOTE, jwksUri: 'http://127.0.0.1:9999/jwks.json' })],
    ['TRUSTED_ISSUERS already parsed (Miniflare JSON binding)', { TRUSTED_ISSUERS: [HS, ES] }],
  ])('%s', (_label, overrides) => {
    expect(parseConfig(envWith(overrides)).issuers.size).toBeGreaterThan(0);
  });

  const settingsOf = (config: Config) => ({
    tolerance: config.clockToleranceSeconds,
    lifetime: config.maxTokenLifetimeSeconds,
    versionClaim: config.versionClaim,
    mode: config.revocationMode,
    staleness: config.revocationMaxStalenessMs,
    skew: config.feedClockSkewMs,
    macKey: config.feedMacKey,
    fail: config.failMode,
    logAccepted: config.logAcceptedRate,
    adminKeys: config.adminKeys,
  });

  it('applies the defaults of reference §2', () => {
    const config = parseConfig(envWith());
    expect(settingsOf(config)).toEqual({
      tolerance: 30,
      lifetime: undefined,
      versionClaim: 'ver',
      mode: 'cached',
      staleness: 1000,
      skew: 100,
      macKey: undefined,
      fail: 'closed',
      logAccepted: 0.01,
      adminKeys: [],
    });
    expect([...config.requiredClaims].sort()).toEqual(['exp', 'iat', 'sub']);
  });

  it('reads every setting', () => {
    const config = parseConfig(
      envWith({
        CLOCK_TOLERANCE_SECONDS: '0',
        MAX_TOKEN_LIFETIME_SECONDS: '3600',
        REQUIRED_CLAIMS: '["scope"]',
        VERSION_CLAIM: 'tv',
        REVOCATION_MODE: 'bounded',
        REVOCATION_MAX_STALENESS_MS: '500',
        FEED_CLOCK_SKEW_MS: '50',
        FEED_MAC_KEY: 'a-feed-mac-key-of-32-characters!',
        FAIL_MODE: 'open',
        LOG_ACCEPTED: 'false',
        ADMIN_API_KEYS: ' first-admin-key-0000 ,second-admin-key-1111,',
      }),
    );
    expect(settingsOf(config)).toEqual({
      tolerance: 0,
      lifetime: 3600,
      versionClaim: 'tv',
      mode: 'bounded',
      staleness: 500,
      skew: 50,
      macKey: 'a-feed-mac-key-of-32-characters!',
      fail: 'open',
      logAccepted: 0,
      adminKeys: ['first-admin-key-0000', 'second-admin-key-1111'],
    });
    // sub and exp cannot be dropped: revocation needs them.
    expect(config.requiredClaims).toEqual(expect.arrayContaining(['sub', 'exp', 'scope']));
  });

  it.each<[string, number]>([
    ['true', 1],
    ['1', 1],
    ['1.0', 1],
    ['false', 0],
    ['0', 0],
    ['0.01', 0.01],
    ['.25', 0.25],
  ])('reads LOG_ACCEPTED=%s as the sample rate %d', (raw, rate) => {
    expect(parseConfig(envWith({ LOG_ACCEPTED: raw })).logAcceptedRate).toBe(rate);
  });

  it('keeps each issuer exact: audiences, algorithms', () => {
    const es = parseConfig(envWith()).issuers.get(ES.issuer)!;
    expect([[...es.audiences], [...es.algorithms]]).toEqual([['api'], ['ES256']]);
    expect(parseConfig(envWith()).issuers.has(`${ES.issuer}/`)).toBe(false);
  });
});

describe('getConfig', () => {
  it('parses once per env object', () => {
    const env = { ...envWith() };
    const first = getConfig(env);
    expect(getConfig(env)).toBe(first);
    expect(getConfig({ ...env })).not.toBe(first);
  });

  it('caches an error too, and throws it on every call', () => {
    const env = { ...envWith({ FAIL_MODE: 'ajar' }) };
    const thrown = () => {
      try {
        getConfig(env);
      } catch (error) {
        return error;
      }
      return undefined;
    };
    const first = thrown();
    expect(first).toBeInstanceOf(ConfigError);
    expect((first as ConfigError).field).toBe('FAIL_MODE');
    expect(thrown()).toBe(first);
  });
});

describe('SSF_STREAMS (reference §7)', () => {
  const STREAM = {
    id: 'okta',
    issuer: 'https://acme.okta.com',
    audience: 'https://ks.test/ssf/okta',
    algorithms: ['RS256'],
    jwksUri: 'https://acme.okta.com/oauth2/v1/keys',
    secret: 'PUSH_SECRET',
    subjects: { iss_sub: { 'https://acme.okta.com': { issuer: ES.issuer, claim: 'sub' } } },
  };
  const streams = (...entries: unknown[]) => envWith({ SSF_STREAMS: JSON.stringify(entries), PUSH_SECRET: 'p'.repeat(32) });

  it('defaults to no streams; parses a full entry', () => {
    expect(parseConfig(envWith()).ssfStreams.size).toBe(0);
    const stream = parseConfig(
      streams(STREAM, {
        ...STREAM,
        id: 'google',
        issuer: 'https://accounts.google.com/',
        audience: 'x.apps.googleusercontent.com',
        secret: undefined,
        acceptMissingTyp: true,
        events: { 'https://schemas.openid.net/secevent/risc/event-type/account-enabled': 'audit' },
        subjects: { iss_sub: {}, email: true },
      }),
    ).ssfStreams;
    expect(stream.get('okta')).toMatchObject({
      mode: 'config',
      issuer: STREAM.issuer,
      audience: STREAM.audience,
      push: { secret: 'p'.repeat(32) },
      requireTyp: true,
      email: false,
      issSub: new Map([['https://acme.okta.com', ES.issuer]]),
    });
    expect(stream.get('google')).toMatchObject({ push: undefined, requireTyp: false, email: true });
  });

  it.each<[string, unknown[], string]>([
    ['not an array', [], 'SSF_STREAMS'],
    ['a bad id', [{ ...STREAM, id: 'a/b' }], 'SSF_STREAMS[0].id'],
    ['a duplicate id', [STREAM, { ...STREAM, audience: 'other' }], 'SSF_STREAMS[1].id'],
    ['a shared audience', [STREAM, { ...STREAM, id: 'two' }], 'SSF_STREAMS[1].audience'],
    ['no issuer', [{ ...STREAM, issuer: '' }], 'SSF_STREAMS[0].issuer'],
    ['no audience', [{ ...STREAM, audience: undefined }], 'SSF_STREAMS[0].audience'],
    ['an HMAC algorithm', [{ ...STREAM, algorithms: ['HS256'] }], 'SSF_STREAMS[0].algorithms'],
    ['no key source', [{ ...STREAM, jwksUri: undefined }], 'SSF_STREAMS[0]'],
    ['an http: jwksUri', [{ ...STREAM, jwksUri: 'http://acme.okta.com/keys' }], 'SSF_STREAMS[0].jwksUri'],
    ['a secret naming no binding', [{ ...STREAM, secret: 'NOPE' }], 'SSF_STREAMS[0].secret'],
    [
      'a mapping to an untrusted issuer',
      [{ ...STREAM, subjects: { iss_sub: { x: { issuer: 'https://nope.test' } } } }],
      'SSF_STREAMS[0].subjects.iss_sub["x"].issuer',
    ],
    [
      "a mapping through a claim other than the issuer's userClaim (uid, where it is sub)",
      [{ ...STREAM, subjects: { iss_sub: { x: { issuer: ES.issuer, claim: 'uid' } } } }],
      'SSF_STREAMS[0].subjects.iss_sub["x"].claim',
    ],
    ['email not a boolean', [{ ...STREAM, subjects: { email: 'yes' } }], 'SSF_STREAMS[0].subjects.email'],
    ['an unknown action', [{ ...STREAM, events: { 'urn:x': 'delete_user' } }], 'SSF_STREAMS[0].events["urn:x"]'],
    [
      'a control event overridden',
      [{ ...STREAM, events: { 'https://schemas.openid.net/secevent/ssf/event-type/verification': 'audit' } }],
      'SSF_STREAMS[0].events["https://schemas.openid.net/secevent/ssf/event-type/verification"]',
    ],
    ['a secretDigest in SSF_STREAMS', [{ ...STREAM, secretDigest: 'x' }], 'SSF_STREAMS[0]'],
  ])('%s', (_what, entries, field) => {
    const env = _what === 'not an array' ? envWith({ SSF_STREAMS: '{}' }) : streams(...entries);
    expect(configError(env).field).toBe(field);
  });

  describe('an iss_sub mapping to an issuer whose userClaim is "uid" (Okta access tokens)', () => {
    const OKTA = { ...ES, issuer: 'https://acme.okta.com/oauth2/default', userClaim: 'uid' };
    const mapped = (target: Record<string, unknown>) => ({ ...STREAM, subjects: { iss_sub: { 'https://acme.okta.com': target } } });
    const withOkta = (stream: unknown) => ({ ...streams(stream), TRUSTED_ISSUERS: JSON.stringify([HS, ES, OKTA]) });

    it('names the claim "uid", or no claim (it is read as the issuer\'s userClaim)', () => {
      for (const target of [{ issuer: OKTA.issuer, claim: 'uid' }, { issuer: OKTA.issuer }]) {
        expect(parseConfig(withOkta(mapped(target))).ssfStreams.get('okta')?.issSub).toEqual(
          new Map([['https://acme.okta.com', OKTA.issuer]]),
        );
      }
    });

    it('"claim": "sub" is a ConfigError saying the claim must be the issuer\'s userClaim', () => {
      const error = configError(withOkta(mapped({ issuer: OKTA.issuer, claim: 'sub' })));
      expect(error.field).toBe('SSF_STREAMS[0].subjects.iss_sub["https://acme.okta.com"].claim');
      expect(error.message).toContain('must be "uid", the userClaim of "https://acme.okta.com/oauth2/default" in TRUSTED_ISSUERS');
    });
  });
});

describe('TRUSTED_ISSUERS userClaim', () => {
  it('defaults to sub; any claim name may be named (sub too)', () => {
    const config = parseConfig(envWith(issuers(HS, { ...ES, userClaim: 'uid' }, { ...REMOTE, userClaim: 'sub' })));
    expect([...config.issuers.values()].map((i) => i.userClaim)).toEqual(['sub', 'uid', 'sub']);
  });

  it.each([[''], [1], [['uid']], [null]])('%j is a ConfigError naming the field', (userClaim) => {
    expect(configError(envWith(issuers(HS, { ...ES, userClaim }))).field).toBe('TRUSTED_ISSUERS[1].userClaim');
  });
});
