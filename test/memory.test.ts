/**
 * Bounded memory (issue 7, item 4): every in-isolate cache has a cap that 100,000 distinct
 * tokens cannot break — verified signatures (VERIFIED_TOKEN_CACHE_SIZE), the optional
 * revocation cache (REVOCATION_CACHE_TTL_SECONDS, 10,000 entries), the remote JWKS (a size
 * limit, old keys kept) — and huge or deeply nested claims cannot break logging, headers or
 * JSON output. The caches have no public size accessor: VerifiedTokens' own instances are
 * observed through a spy on its prototype, the revocation cache by the KV reads it saves.
 */
import { env, exports } from 'cloudflare:workers';
import { createExecutionContext } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { app } from '../src/app';
import { parseConfig, type Config, type RawEnv } from '../src/config/config';
import { checkRevocation } from '../src/revocation/revocation-check';
import { VerifiedTokens } from '../src/verify/verified-tokens';
import type { AuthenticToken } from '../src/verify/token';
import { authenticate } from '../src/verify/verifier';
import { BASE, ISSUERS, KEYS } from './helpers/fixtures';
import { freshJwksPath, jwksHits, publishKeys, remoteIssuers, serveRawBody } from './helpers/jwks-server';
import { defaultClaims, mint, now, signRaw } from './helpers/tokens';
import { intercept } from './helpers/faults';

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

const configWith = (vars: Record<string, string> = {}): Config => parseConfig({ ...env, ...vars } as unknown as RawEnv);
const hsToken = (i: number, claims: Record<string, unknown> = {}) =>
  signRaw('{"alg":"HS256"}', JSON.stringify({ ...defaultClaims('HS256'), sub: `mem-${i}`, jti: `j-${i}`, ...claims }), 'HS256');

/** The VerifiedTokens instances authenticate() creates, caught as they are filled. */
function watchVerifiedTokens(): Set<VerifiedTokens> {
  const instances = new Set<VerifiedTokens>();
  const set = VerifiedTokens.prototype.set;
  vi.spyOn(VerifiedTokens.prototype, 'set').mockImplementation(function (this: VerifiedTokens, ...args) {
    instances.add(this);
    return set.apply(this, args);
  });
  return instances;
}

describe('verified-token cache (VERIFIED_TOKEN_CACHE_SIZE)', () => {
  it('VerifiedTokens(5000) holds at most 5,000 of 100,000 distinct tokens, dropping the oldest', async () => {
    const config = configWith();
    expect(config.verifiedTokenCacheSize).toBe(5_000); // the documented default
    const issuer = config.issuers.get(ISSUERS.hs)!;
    const keys = await issuer.keys.current();
    const cache = new VerifiedTokens(config.verifiedTokenCacheSize);
    const entry = (i: number): AuthenticToken => ({
      claims: { sub: `s${i}`, exp: now() + 60, iss: ISSUERS.hs },
      issuer,
      tokenId: `j${i}`,
      userId: `s${i}`,
    });
    let largest = 0;
    for (let i = 0; i < 100_000; i++) {
      cache.set(`token-${i}`, entry(i), keys);
      largest = Math.max(largest, cache.size);
    }
    expect([largest, cache.size]).toEqual([5_000, 5_000]);
    expect(await cache.get('token-94999')).toBeUndefined();
    expect((await cache.get('token-95000'))?.tokenId).toBe('j95000');
    expect((await cache.get('token-99999'))?.tokenId).toBe('j99999');
  });

  it('VerifiedTokens(0) keeps nothing', () => {
    const cache = new VerifiedTokens(0);
    const issuer = configWith().issuers.get(ISSUERS.hs)!;
    for (let i = 0; i < 1_000; i++)
      cache.set(`t${i}`, { claims: { sub: 's', exp: 1, iss: ISSUERS.hs }, issuer, tokenId: 'j', userId: 's' }, undefined);
    expect(cache.size).toBe(0);
  });

  it.each([
    ['the default (5,000)', 6_000, 5_000, {}],
    ['VERIFIED_TOKEN_CACHE_SIZE=100', 2_000, 100, { VERIFIED_TOKEN_CACHE_SIZE: '100' }],
  ])(
    'through authenticate() with %s: %i real tokens leave exactly %i entries; evicted tokens still verify',
    async (_label, count, cap, vars) => {
      const instances = watchVerifiedTokens();
      const config = configWith(vars);
      const tokens = await Promise.all(Array.from({ length: count }, (_, i) => hsToken(i)));
      for (const token of tokens) expect((await authenticate(token, config)).ok).toBe(true);
      expect(instances.size).toBe(1);
      const [cache] = [...instances];
      expect(cache!.size).toBe(cap);
      expect((await authenticate(tokens[0]!, config)).ok).toBe(true); // evicted: verified again, from scratch
      expect(cache!.size).toBe(cap);
    },
    60_000,
  );

  it('refusals are never cached: 20,000 forged and malformed tokens add nothing', async () => {
    const instances = watchVerifiedTokens();
    const config = configWith();
    const valid = await hsToken(0);
    const [head, payload] = valid.split('.');
    for (let i = 0; i < 20_000; i++) {
      const forged = i % 2 === 0 ? `${head}.${payload}.${'A'.repeat(43 - String(i).length)}${i}` : `junk.${i}`;
      expect((await authenticate(forged, config)).ok).toBe(false);
    }
    expect(instances.size).toBe(0);
  }, 60_000);
});

describe('revocation cache (REVOCATION_CACHE_TTL_SECONDS > 0)', () => {
  it('holds at most 10,000 tokens: the oldest entry is dropped and read from KV again', async () => {
    vi.useFakeTimers({ toFake: ['Date'] }); // the TTL does not run out while the cache fills
    const config = configWith({ REVOCATION_CACHE_TTL_SECONDS: '60' });
    let reads = 0;
    const counted = intercept(env.REVOCATIONS, (method, call) => {
      if (method === 'get') reads++;
      return call();
    });
    const bindings = { ...env, REVOCATIONS: counted };
    const issuer = config.issuers.get(ISSUERS.hs)!;
    const token = (i: number): AuthenticToken => ({
      claims: { sub: 'mem-rc', exp: now() + 600, iss: ISSUERS.hs, iat: now() },
      issuer,
      tokenId: `rc-${i}`,
      userId: 'mem-rc',
    });
    const check = (t: AuthenticToken) => checkRevocation(t, 'cached', config, bindings);
    const first = token(0);
    expect(await check(first)).toBeUndefined();
    expect(await check(first)).toBeUndefined();
    expect(reads).toBe(1); // the second check was served by the cache

    for (let start = 1; start < 10_000; start += 250) {
      // 9,999 more tokens fill the cache to 10,000
      await Promise.all(Array.from({ length: Math.min(250, 10_000 - start) }, (_, k) => check(token(start + k))));
    }
    expect(reads).toBe(10_000);
    expect(await check(first)).toBeUndefined();
    expect(reads).toBe(10_000); // still cached: 10,000 entries fit
    const last = token(10_000);
    expect(await check(last)).toBeUndefined(); // the 10,001st pushes the oldest out
    expect(await check(last)).toBeUndefined();
    expect(reads).toBe(10_001);
    expect(await check(first)).toBeUndefined();
    expect(reads).toBe(10_002);
  }, 60_000);
});

describe('remote JWKS size limit', () => {
  const A = KEYS['remote-a'].public;
  const B = KEYS['remote-b'].public;
  const verifyWith = async (bindings: object, token: string) => {
    const res = await app.fetch(
      new Request(`${BASE}/v1/verify`, { headers: { Authorization: `Bearer ${token}` } }),
      bindings,
      createExecutionContext(),
    );
    return { status: res.status, body: await res.json<Record<string, unknown>>() };
  };
  /** A JWKS of about `bytes` that publishes B (plus padding keys nobody uses). */
  const jwksOf = (bytes: number) => JSON.stringify({ keys: [B, { kty: 'oct', kid: 'padding', k: 'x'.repeat(bytes) }] });

  it.each([
    ['1 MiB', 1024 * 1024, 'unknown_key', 'unavailable'],
    ['300 KiB', 300 * 1024, 'unknown_key', 'unavailable'],
    ['200 KiB', 200 * 1024, 200, 200],
  ] as const)('a %s JWKS: refused (old keys kept) above the 256 KiB limit, used below it', async (_label, bytes, refreshed, first) => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.UTC(2032, 0, 1));
    const path = freshJwksPath('size');
    await publishKeys(path, [A], 'max-age=60');
    const bindings = { ...env, TRUSTED_ISSUERS: remoteIssuers(path) };
    expect((await verifyWith(bindings, await mint('remote-a'))).status).toBe(200);

    await serveRawBody(path, jwksOf(bytes));
    vi.setSystemTime(Date.now() + 61_000);
    const b = await verifyWith(bindings, await mint('remote-b'));
    expect(b.status === 200 ? 200 : b.body.reason).toBe(refreshed);
    if (refreshed !== 200) expect((await verifyWith(bindings, await mint('remote-a'))).status).toBe(200); // the old keys
    expect(await jwksHits(path)).toBeGreaterThanOrEqual(2);

    const fresh = freshJwksPath('size-first'); // no keys before: an oversized first answer fails closed
    await serveRawBody(fresh, jwksOf(bytes));
    const answer = await verifyWith({ ...env, TRUSTED_ISSUERS: remoteIssuers(fresh) }, await mint('remote-b'));
    expect(answer.status === 200 ? 200 : answer.body.reason).toBe(first);
  });

  it('an endless JWKS body is cut at the limit, not buffered until the 5 s fetch timeout', async () => {
    const path = freshJwksPath('endless');
    await publishKeys(path, [A]);
    const realFetch = globalThis.fetch;
    const chunk = new TextEncoder().encode(`{"keys":[${' '.repeat(64 * 1024)}`);
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      const real = await realFetch(input, init);
      if (new URL(input instanceof Request ? input.url : String(input)).pathname !== path) return real;
      let timer: ReturnType<typeof setInterval> | null = null;
      const body = new ReadableStream<Uint8Array>({
        // the server keeps sending, 64 KiB every 10 ms
        start(controller) {
          timer = setInterval(() => controller.enqueue(chunk), 10);
          init?.signal?.addEventListener('abort', () => {
            clearInterval(timer);
            controller.error(new Error('aborted'));
          });
        },
        cancel() {
          clearInterval(timer);
        },
      });
      return new Response(body, { status: 200, headers: real.headers });
    });
    const started = Date.now();
    const answer = await verifyWith({ ...env, TRUSTED_ISSUERS: remoteIssuers(path) }, await mint('remote-a'));
    expect(answer.body).toMatchObject({ reason: 'unavailable' }); // nothing usable was ever fetched
    expect(Date.now() - started).toBeLessThan(1_000);
  }, 15_000);
});

describe('huge and deeply nested claims', () => {
  const nest = (depth: number, open: string, leaf: string, close: string) => open.repeat(depth) + leaf + close.repeat(depth);
  type Case = [label: string, status: 200 | 401, claims: () => Record<string, unknown> | string];
  const CASES: Case[] = [
    ['arrays nested 2,900 deep (fits in 8 KiB)', 200, () => `"deep":${nest(2_900, '[', '', ']')}`],
    ['objects nested 900 deep', 200, () => `"deep":${nest(900, '{"a":', '1', '}')}`],
    ['arrays nested 5,000 deep (over 8 KiB)', 401, () => `"deep":${nest(5_000, '[', '', ']')}`],
    ['objects nested 5,000 deep (over 8 KiB)', 401, () => `"deep":${nest(5_000, '{"a":', '1', '}')}`],
    ['an 8 KiB string claim (over 8 KiB)', 401, () => ({ note: 'n'.repeat(8 * 1024) })],
    ['a 5,000-character string claim', 200, () => ({ note: 'n'.repeat(5_000) })],
    ['a 1,500-character non-ASCII sub', 200, () => ({ sub: 'é\u2028\u0000'.repeat(500) })],
    ['CR/LF in sub, jti and scope', 200, () => ({ sub: 'a\r\nX-Injected: 1', jti: 'j\r\n\r\n<html>', scope: 'read\nwrite' })],
    ['a 2,500-character jti and a 1,200-character scope', 200, () => ({ jti: 'j'.repeat(2_500), scope: 's '.repeat(600) })],
    ['300 small claims', 200, () => Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`c${i}`, i]))],
  ];

  it.each(CASES)('%s → %i, one valid JSON body, safe headers, one short log line (HTTP and RPC)', async (_label, status, claims) => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: unknown) => {
      lines.push(String(line));
    });
    const extra = claims();
    const base = { ...defaultClaims('HS256'), sub: 'mem-claims' };
    const payload = typeof extra === 'string' ? `${JSON.stringify(base).slice(0, -1)},${extra}}` : JSON.stringify({ ...base, ...extra });
    const token = await signRaw('{"alg":"HS256"}', payload, 'HS256');
    const res = await app.fetch(
      new Request(`${BASE}/v1/verify`, { headers: { Authorization: `Bearer ${token}` } }),
      env,
      createExecutionContext(),
    );
    expect(res.status).toBe(status);
    const body = JSON.parse(await res.text()) as Record<string, unknown>;
    if (status === 200) {
      expect(body).toEqual({ ...JSON.parse(payload), active: true });
      for (const name of ['X-Auth-Subject', 'X-Auth-Token-Id', 'X-Auth-Scope'])
        expect(res.headers.get(name) ?? '').toMatch(/^[\x20-\x7e]*$/);
    } else expect(body).toEqual({ active: false, error: 'invalid_token', reason: 'malformed' });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.length).toBeLessThanOrEqual(2_048);
    expect(lines[0]).not.toMatch(/[\r\n]/);
    expect(JSON.parse(lines[0]!)).toMatchObject({ route: '/v1/verify', status });

    const rpc = await (
      exports as unknown as { Verifier: { verify(t: string): Promise<{ active: boolean; claims?: unknown }> } }
    ).Verifier.verify(token);
    expect(rpc.active).toBe(status === 200);
    if (status === 200) expect(rpc.claims).toEqual(JSON.parse(payload));
  });
});
