/**
 * Remote JWKS (reference §2.2: "an unknown `kid` refetches it at most once per 30 s"; `jwksUri`):
 * rotation, Cache-Control, kid floods, shared fetches, outages, garbage and unfit keys.
 * Each test owns a JWKS path on the loopback server, so the per-URL cache is never shared.
 */
import { env } from 'cloudflare:workers';
import { createExecutionContext } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { app } from '../src/app';
import { parseConfig, type Config } from '../src/config/config';
import { JWKS_DEFAULT_TTL_MS, JWKS_MAX_TTL_MS, JWKS_MIN_TTL_MS, RemoteJwks, jwksTtlMs } from '../src/keys/remote-jwks';
import { authenticate } from '../src/verify/verifier';
import { BASE, KEYS } from './helpers/fixtures';
import { freshJwksPath, jwksBase, jwksHits, publishKeys, remoteIssuers, serveRawBody, setJwksStatus } from './helpers/jwks-server';
import { mint } from './helpers/tokens';

const A = KEYS['remote-a'].public;
const B = KEYS['remote-b'].public;
const T0 = Date.UTC(2030, 0, 1);

/**
 * Fake `Date` only (fetch and timers stay real). Call before building the config: a
 * RemoteJwks reads the clock it finds when it is created.
 */
function startClock(): void {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(T0);
}
const advance = (ms: number) => vi.setSystemTime(Date.now() + ms);

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

const configFor = (path: string, extra: Record<string, unknown> = {}): Config =>
  parseConfig({ ...env, TRUSTED_ISSUERS: remoteIssuers(path), ...extra });

/** One config per rotation test, shared by the test and its refetch trigger. */
let rotationPath = '';
const rotationConfigs = new Map<string, Config>();
function configForRotation(): Config {
  let config = rotationConfigs.get(rotationPath);
  if (config === undefined) rotationConfigs.set(rotationPath, (config = configFor(rotationPath)));
  return config;
}

/** The reason a token is refused, or 'ok'. */
async function outcome(token: string, config: Config): Promise<string> {
  const result = await authenticate(token, config);
  return result.ok ? 'ok' : result.reason;
}

/** A token signed by remote-a that names `kid` (so a JWKS publishing A under that kid verifies it). */
const tokenWithKid = (kid: string | undefined) => mint('remote-a', { header: { kid } });

describe('jwksTtlMs: Cache-Control within [60 s, 24 h]', () => {
  it.each([
    [null, JWKS_DEFAULT_TTL_MS],
    ['private', JWKS_DEFAULT_TTL_MS],
    ['max-age=300', 300_000],
    ['public, max-age=120', 120_000],
    ['max-age=0', JWKS_MIN_TTL_MS],
    ['max-age=59', JWKS_MIN_TTL_MS],
    ['max-age=86400', JWKS_MAX_TTL_MS],
    ['max-age=86401', JWKS_MAX_TTL_MS],
    ['max-age=99999999999', JWKS_MAX_TTL_MS],
    ['no-store', JWKS_MIN_TTL_MS],
    ['no-store, max-age=3600', JWKS_MIN_TTL_MS],
    ['no-cache', JWKS_MIN_TTL_MS],
  ])('%j → %i ms', (header, ttl) => {
    expect(jwksTtlMs(header)).toBe(ttl);
  });

  it('has the documented bounds', () => {
    expect([JWKS_MIN_TTL_MS, JWKS_DEFAULT_TTL_MS, JWKS_MAX_TTL_MS]).toEqual([60_000, 600_000, 86_400_000]);
  });

  it.each([
    ['max-age=120', 119_000, 121_000],
    ['max-age=1', 59_000, 61_000], // clamped up to 60 s
  ])('a JWKS served with %s is refetched only after its TTL', async (cacheControl, before, after) => {
    startClock();
    const path = freshJwksPath('ttl');
    await publishKeys(path, [A], cacheControl);
    const config = configFor(path);
    expect(await outcome(await tokenWithKid('remote-a'), config)).toBe('ok');
    expect(await jwksHits(path)).toBe(1);
    advance(before);
    expect(await outcome(await tokenWithKid('remote-a'), config)).toBe('ok');
    expect(await jwksHits(path)).toBe(1);
    advance(after - before);
    expect(await outcome(await tokenWithKid('remote-a'), config)).toBe('ok');
    expect(await jwksHits(path)).toBe(2);
  });
});

describe('key rotation', () => {
  it('accepts a new kid after a refetch on kid miss, and refuses a removed kid once the TTL has passed', async () => {
    startClock();
    const path = freshJwksPath('rotation');
    await publishKeys(path, [A], 'max-age=300');
    const config = configFor(path);
    expect(await outcome(await mint('remote-a'), config)).toBe('ok');
    expect(await jwksHits(path)).toBe(1);

    // The issuer starts signing with B: the first B token misses, refetches, and verifies.
    await publishKeys(path, [A, B], 'max-age=300');
    expect(await outcome(await mint('remote-b'), config)).toBe('ok');
    expect(await jwksHits(path)).toBe(2);

    // A is withdrawn. Until the TTL runs out the cached set still holds it…
    await publishKeys(path, [B], 'max-age=300');
    advance(299_000);
    expect(await outcome(await mint('remote-a'), config)).toBe('ok');
    // …after it, the JWKS is refreshed and A is gone for good.
    advance(2_000);
    expect(await outcome(await mint('remote-a'), config)).toBe('unknown_key');
    expect(await jwksHits(path)).toBeGreaterThanOrEqual(3);
    expect(await outcome(await mint('remote-b'), config)).toBe('ok');
    // A token that still names A, but is signed by someone else, gets nowhere either.
    expect(await outcome(await mint('remote-b', { header: { kid: 'remote-a' } }), config)).toBe('unknown_key');
  });

  // Issue 10 item 19: the verified-token cache must not outlive the key a token was verified under.
  it.each([
    [
      'a kid miss of another token',
      async () => {
        expect(await outcome(await mint('remote-b'), configForRotation())).toBe('ok');
      },
    ],
    [
      'the TTL running out',
      async () => {
        advance(301_000);
      },
    ],
  ])('a token verified (and cached) under key A is refused once A leaves the JWKS, refetched on %s', async (_label, refetch) => {
    startClock();
    rotationPath = freshJwksPath('cached-rotation');
    await publishKeys(rotationPath, [A], 'max-age=300');
    const config = configForRotation();
    const token = await mint('remote-a', { claims: { exp: Math.floor(Date.now() / 1000) + 3600 } });
    expect(await outcome(token, config)).toBe('ok');
    expect(await outcome(token, config)).toBe('ok'); // from the cache: no refetch
    expect(await jwksHits(rotationPath)).toBe(1);

    await publishKeys(rotationPath, [B], 'max-age=300'); // A leaked: the IdP withdraws it
    await refetch();
    expect(await outcome(token, config)).toBe('unknown_key');
    expect(await jwksHits(rotationPath)).toBeGreaterThanOrEqual(2); // the TTL refresh may be followed by one kid-miss refetch
  });

  it('a kid miss refetches at most once per 30 s, then again after', async () => {
    startClock();
    const path = freshJwksPath('kid-miss-interval');
    await publishKeys(path, [A], 'max-age=3600');
    const config = configFor(path);
    expect(await outcome(await mint('remote-b'), config)).toBe('unknown_key');
    const afterFirstMiss = await jwksHits(path);
    expect(afterFirstMiss).toBe(2); // the first load, then one refetch for the miss

    await publishKeys(path, [A, B], 'max-age=3600');
    advance(10_000);
    expect(await outcome(await mint('remote-b'), config)).toBe('unknown_key'); // rate-limited
    expect(await jwksHits(path)).toBe(afterFirstMiss);
    advance(21_000);
    expect(await outcome(await mint('remote-b'), config)).toBe('ok');
    expect(await jwksHits(path)).toBe(afterFirstMiss + 1);
  });
});

describe('load on the JWKS endpoint', () => {
  it('a flood of 200 unknown kids costs at most 2 fetches and answers unknown_key', async () => {
    const path = freshJwksPath('flood');
    await publishKeys(path, [A], 'max-age=3600');
    const config = configFor(path);
    const tokens = await Promise.all(Array.from({ length: 200 }, (_, i) => tokenWithKid(`unknown-${i}`)));
    const concurrent = tokens.slice(0, 100);
    const sequential = tokens.slice(100);

    const reasons = await Promise.all(concurrent.map((t) => outcome(t, config)));
    for (const t of sequential) reasons.push(await outcome(t, config));

    expect(reasons).toEqual(Array(200).fill('unknown_key'));
    expect(await jwksHits(path)).toBeLessThanOrEqual(2);
    expect(await jwksHits(path)).toBeGreaterThanOrEqual(1);
    // The real key is not collateral damage.
    expect(await outcome(await mint('remote-a'), config)).toBe('ok');
  });

  it('concurrent first lookups share one fetch', async () => {
    const path = freshJwksPath('shared-fetch');
    await publishKeys(path, [A, B]);
    const jwks = new RemoteJwks(`${jwksBase()}${path}`);
    const kids = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 'remote-a' : 'remote-b'));
    const results = await Promise.all(kids.map((kid) => jwks.lookup('ES256', kid)));
    expect(results.every((r) => 'key' in r && r.key instanceof CryptoKey)).toBe(true);
    expect(await jwksHits(path)).toBe(1);
  });
});

describe('JWKS endpoint failures', () => {
  it.each([
    ['status 500', 500],
    ['a dropped connection', 0],
  ])('with %s, cached keys keep working and the refresh is retried, not hammered', async (_label, status) => {
    startClock();
    const path = freshJwksPath('down');
    await publishKeys(path, [A], 'max-age=120');
    const config = configFor(path);
    expect(await outcome(await mint('remote-a'), config)).toBe('ok');

    await setJwksStatus(path, status);
    advance(121_000);
    expect(await outcome(await mint('remote-a'), config)).toBe('ok');
    expect(await jwksHits(path)).toBe(2); // the refresh was attempted, and failed
    for (let i = 0; i < 5; i++) expect(await outcome(await mint('remote-a'), config)).toBe('ok');
    expect(await jwksHits(path)).toBe(2); // no fetch per request while down

    await setJwksStatus(path, 200);
    await publishKeys(path, [B], 'max-age=120');
    advance(11_000);
    expect(await outcome(await mint('remote-b'), config)).toBe('ok');
    expect(await jwksHits(path)).toBe(3); // back up: the retry lands
  });

  it.each([
    ['status 500', 500],
    ['status 404', 404],
    ['a dropped connection', 0],
  ])('with no keys ever fetched (%s), verification fails closed: unavailable', async (_label, status) => {
    const path = freshJwksPath('never-up');
    await setJwksStatus(path, status);
    const config = configFor(path);
    expect(await outcome(await mint('remote-a'), config)).toBe('unavailable');
    // Even FAIL_MODE=open (about revocation state) never accepts an unverified signature.
    expect(await outcome(await mint('remote-a'), configFor(path, { FAIL_MODE: 'open' }))).toBe('unavailable');
  });

  it.each(['closed', 'open'])('over HTTP with FAIL_MODE=%s: 503 unavailable, never 200', async (failMode) => {
    const path = freshJwksPath('never-up-http');
    await setJwksStatus(path, 500);
    const res = await app.fetch(
      new Request(`${BASE}/v1/verify`, { headers: { Authorization: `Bearer ${await mint('remote-a')}` } }),
      { ...env, TRUSTED_ISSUERS: remoteIssuers(path), FAIL_MODE: failMode },
      createExecutionContext(),
    );
    expect(res.status).toBe(503);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect(await res.json()).toMatchObject({ active: false, reason: 'unavailable' });
  });

  it.each([
    ['not JSON', 'this is not json'],
    ['truncated JSON', '{"keys":['],
    ['null', 'null'],
    ['no keys member', '{"nokeys":[]}'],
    ['keys not an array', '{"keys":"remote-a"}'],
    ['an array, not an object', '[]'],
  ])('a JWKS answer that is %s keeps the old keys', async (_label, body) => {
    startClock();
    const path = freshJwksPath('garbage');
    await publishKeys(path, [A], 'max-age=60');
    const config = configFor(path);
    expect(await outcome(await mint('remote-a'), config)).toBe('ok');

    await serveRawBody(path, body);
    advance(61_000);
    expect(await outcome(await mint('remote-a'), config)).toBe('ok');
    expect(await jwksHits(path)).toBe(2); // the garbage was fetched, and ignored
  });

  it.each([301, 302, 307, 308])('a JWKS URI answering %i is never followed: the keys it points to are not trusted', async (status) => {
    const path = freshJwksPath('redirecting');
    const elsewhere = freshJwksPath('attacker');
    await publishKeys(elsewhere, [A]); // the token's key, but not at the configured URI
    await setJwksStatus(path, status, `${jwksBase()}${elsewhere}`);
    expect(await outcome(await mint('remote-a'), configFor(path))).toBe('unavailable');
    expect(await jwksHits(elsewhere)).toBe(0);
  });

  it('a garbage JWKS on the first fetch fails closed', async () => {
    const path = freshJwksPath('garbage-first');
    await serveRawBody(path, '<html>oops</html>');
    expect(await outcome(await mint('remote-a'), configFor(path))).toBe('unavailable');
  });
});

describe('keys that do not fit the algorithm are never used', () => {
  // Without their own `alg`, so only the key type and curve can rule them out.
  const withKid = (jwk: object, kid: string) => ({ ...jwk, kid, alg: undefined });
  const { d } = KEYS['remote-a'].private as { d: string };

  it.each([
    ['an RSA key under the kid (token is ES256)', [withKid(KEYS['rs256-1'].public, 'remote-a')], 'unknown_key'],
    ['the right EC key with use "enc"', [{ ...A, use: 'enc' }], 'unknown_key'],
    ['the right EC key with alg ES384', [{ ...A, alg: 'ES384' }], 'unknown_key'],
    ['the right EC key with key_ops ["encrypt"]', [{ ...A, key_ops: ['encrypt'] }], 'unknown_key'],
    ['the right EC key carrying private material "d"', [{ ...A, d }], 'unknown_key'],
    ['a P-384 key under the kid', [withKid(KEYS['es384-1'].public, 'remote-a')], 'unknown_key'],
    [
      'an RSA and an enc key under the kid, then the right sig key',
      [withKid(KEYS['rs256-1'].public, 'remote-a'), { ...A, use: 'enc' }, A],
      'ok',
    ],
    ['the right EC key, use "sig" (control)', [A], 'ok'],
  ])('%s → %s', async (_label, keys, expected) => {
    const path = freshJwksPath('unfit');
    await publishKeys(path, keys);
    expect(await outcome(await mint('remote-a'), configFor(path))).toBe(expected);
  });

  it.each([
    ['an RSA key and an enc EC key', [KEYS['rs256-1'].public, { ...A, kid: undefined, use: 'enc' }], 'unknown_key'],
    ['an RSA key and the right EC key', [KEYS['rs256-1'].public, { ...A, kid: undefined }], 'ok'],
    [
      'two fitting EC keys (ambiguous)',
      [
        { ...A, kid: undefined },
        { ...B, kid: undefined },
      ],
      'unknown_key',
    ],
  ])('a token without kid, JWKS with %s → %s', async (_label, keys, expected) => {
    const path = freshJwksPath('unfit-nokid');
    await publishKeys(
      path,
      keys.map((k) => JSON.parse(JSON.stringify(k)) as unknown),
    );
    expect(await outcome(await tokenWithKid(undefined), configFor(path))).toBe(expected);
  });
});

describe('key status (GET /v1/admin/stats shows it)', () => {
  it('a remote JWKS: nothing before the first fetch, then its kids and fetch time; a failure keeps the keys and says why', async () => {
    startClock();
    const path = freshJwksPath('status');
    await publishKeys(path, [
      { ...A, kid: 'k-a' },
      { ...B, kid: 'k-b' },
      { ...A, kid: 'k-a' },
    ]);
    const jwks = new RemoteJwks(`${jwksBase()}${path}`);
    expect(jwks.status()).toEqual({
      source: 'jwksUri',
      jwksUri: `${jwksBase()}${path}`,
      keyCount: 0,
      kids: [],
      fetchedAt: null,
      lastError: null,
    });

    await jwks.current();
    expect(jwks.status()).toMatchObject({ keyCount: 3, kids: ['k-a', 'k-b'], fetchedAt: T0 / 1000, lastError: null });

    await setJwksStatus(path, 503);
    advance(JWKS_DEFAULT_TTL_MS + 1);
    await jwks.current();
    expect(jwks.status()).toMatchObject({ keyCount: 3, kids: ['k-a', 'k-b'], fetchedAt: T0 / 1000, lastError: 'status 503' });

    await setJwksStatus(path, 200);
    advance(60_000);
    await jwks.current();
    expect(jwks.status()).toMatchObject({ fetchedAt: Math.floor(Date.now() / 1000), lastError: null });
  });

  it('shows the URL without credentials, query or fragment', () => {
    const jwks = new RemoteJwks('https://user:s3cret@idp.example/jwks?api_key=s3cret#x');
    expect(jwks.status().jwksUri).toBe('https://idp.example/jwks');
    expect(JSON.stringify(jwks.status())).not.toContain('s3cret');
  });
});
