/**
 * Origins mirror the feed (docs/origins.md, reference §9), end to end: the real worker under
 * `wrangler dev` in bounded mode, and real Express, Fastify and Hono (@hono/node-server)
 * servers on 127.0.0.1 using killswitch/client. A revocation through the admin API (a user, a
 * token, everything) is refused by the origin within the bound: no request that starts more
 * than REVOCATION_MAX_STALENESS_MS after the 2xx is accepted. The feed out of reach (fail
 * closed / open), a feed key and a JWKS key rotated, and 100,000 entries loaded at start-up.
 * The client's source also runs under Bun and Deno (their npm packages, devDependencies): a
 * Hono origin on each runtime's own server (test/e2e/runtime-origin.ts) refuses a revoked user.
 * Without a runtime's binary its test skips with one line, unless KILLSWITCH_REQUIRE_SYSTEM_TESTS=1.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startWranglerDev, wranglerBinIn, type WranglerDev } from '../../scripts/lib/wrangler-dev.mjs';
import { killswitchExpress, killswitchFastify, killswitchHono, type GuardOptions } from '../../src/client';
import { encodeSnapshot } from '../../src/feed/feed-snapshot';
import { DEMO_ADMIN_KEY, DEMO_ENV, DEMO_ISSUER, ROOT, demoJwk, signDemo } from '../helpers/demo';

const BOUND_MS = 1000;
const FEED_KEYS = ['origin-feed-key-one-0123456789', 'origin-feed-key-two-0123456789'] as const;
const PRELOADED = 100_000;

/** Bun and Deno, as the devDependencies `bun` and `deno` install them; the arguments that run the origin script. */
const RUNTIMES = [
  { name: 'Bun', bin: join(ROOT, 'node_modules/.bin/bun'), args: ['run'] },
  // --sloppy-imports: the client's source imports without extensions, as bundlers and Bun resolve them.
  {
    name: 'Deno',
    bin: join(ROOT, 'node_modules/.bin/deno'),
    args: ['run', '--sloppy-imports', '--node-modules-dir=manual', '--allow-net=127.0.0.1'],
  },
].map((runtime) => {
  const skip = !existsSync(runtime.bin) && process.env.KILLSWITCH_REQUIRE_SYSTEM_TESTS !== '1';
  if (skip) console.warn(`${runtime.name} origin skipped: npm ci (devDependency ${runtime.name.toLowerCase()}) to run this test`);
  return { ...runtime, skip };
});

let worker: WranglerDev;
let jwksServer: Server;
let jwksUrl: string;
/** What the JWKS server serves (the demo issuer's public key, then rotated ones). */
let servedKeys: JWK[];
const closers: (() => Promise<unknown>)[] = [];

const publicOf = ({ d: _d, ...jwk }: JWK) => jwk;
const listen = (server: Server) =>
  new Promise<string>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );

/** A snapshot of PRELOADED users (what a feed with that many active revocations writes), put in the worker's local KV. */
function preloadSnapshot(state: string): void {
  const now = Math.floor(Date.now() / 1000);
  const users = Array.from({ length: PRELOADED }, (_, i) => ({
    fp: (0x1000_0000_0000_0000n + BigInt(i) * 0x9e37_79b9n).toString(16).padStart(16, '0').slice(-16),
    version: 1,
    revokedBefore: now,
    until: now + 3600,
  }));
  const file = join(state, 'snapshot.bin');
  writeFileSync(file, new Uint8Array(encodeSnapshot({ seq: 0, writtenAt: Date.now(), globalRevokedBefore: 0, users, tokens: [] })));
  const put = spawnSync(
    process.execPath,
    [
      wranglerBinIn(ROOT),
      'kv',
      'key',
      'put',
      'feed-snapshot',
      '--path',
      file,
      '--binding',
      'REVOCATIONS',
      '--local',
      '--persist-to',
      state,
    ],
    { cwd: ROOT, encoding: 'utf8', env: { ...process.env, WRANGLER_SEND_METRICS: 'false', WRANGLER_LOG_PATH: state, CI: '1' } },
  );
  if (put.status !== 0) throw new Error(`wrangler kv key put: ${put.stderr}`);
}

beforeAll(async () => {
  const state = mkdtempSync(join(tmpdir(), 'killswitch-origins-'));
  preloadSnapshot(state);
  worker = await startWranglerDev({
    name: 'killswitch (origins)',
    envFile: DEMO_ENV,
    persistTo: state,
    vars: [
      'REVOCATION_MODE:bounded',
      'MAX_TOKEN_LIFETIME_SECONDS:3600',
      `REVOCATION_MAX_STALENESS_MS:${BOUND_MS}`,
      `FEED_API_KEYS:${FEED_KEYS.join(',')}`,
    ],
    timeoutMs: 60_000,
  });
  servedKeys = [publicOf(demoJwk())];
  jwksServer = createServer((_req, res) =>
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ keys: servedKeys })),
  );
  jwksUrl = `${await listen(jwksServer)}/jwks.json`;
}, 90_000);

afterAll(async () => {
  await Promise.all(closers.map((close) => close()));
  jwksServer?.close();
  await worker?.stop();
}, 20_000);

const options = (extra: Partial<GuardOptions> = {}): GuardOptions => ({
  url: worker.url,
  feedKey: FEED_KEYS[0],
  boundMs: BOUND_MS,
  issuer: DEMO_ISSUER,
  audience: 'api',
  algorithms: ['ES256'],
  versionClaim: 'ver',
  jwks: jwksUrl,
  jwksCooldownMs: 0,
  ...extra,
});

const protectedRoute = '/api/me';

async function expressOrigin(extra: Partial<GuardOptions> = {}) {
  const guard = killswitchExpress(options(extra));
  const app = express();
  app.use(guard);
  app.get(protectedRoute, (req, res) => {
    res.json({ sub: (req as unknown as { auth: { sub: string } }).auth.sub });
  });
  const server = createServer(app);
  const url = await listen(server);
  closers.push(() => new Promise((done) => server.close(done)));
  expect(await guard.guard.ready()).toBe(true);
  return { url, guard: guard.guard };
}

async function fastifyOrigin() {
  const hook = killswitchFastify(options());
  const app = Fastify();
  app.addHook('onRequest', hook);
  app.get(protectedRoute, async (request) => ({ sub: (request as unknown as { auth: { sub: string } }).auth.sub }));
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  closers.push(() => app.close());
  expect(await hook.guard.ready()).toBe(true);
  return { url, guard: hook.guard };
}

async function honoOrigin() {
  const middleware = killswitchHono(options());
  const app = new Hono<{ Variables: { auth: { sub?: string } } }>();
  app.use('*', middleware);
  app.get(protectedRoute, (c) => c.json({ sub: c.get('auth').sub }));
  const url = await new Promise<string>((resolve) => {
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => resolve(`http://127.0.0.1:${info.port}`));
    closers.push(() => new Promise((done) => server.close(done)));
  });
  expect(await middleware.guard.ready()).toBe(true);
  return { url, guard: middleware.guard };
}

const now = () => Math.floor(Date.now() / 1000);
const mint = (sub: string) =>
  signDemo({ iss: DEMO_ISSUER, aud: 'api', sub, iat: now(), exp: now() + 600, jti: crypto.randomUUID(), ver: 0 });
const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
const call = (url: string, token?: string) =>
  fetch(`${url}${protectedRoute}`, { headers: token === undefined ? {} : { Authorization: `Bearer ${token}` } });
const admin = (path: string, body: unknown) =>
  fetch(`${worker.url}${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${DEMO_ADMIN_KEY}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });

/**
 * Revokes, then calls the origin every 20 ms: the first refusal (its body), and the latest start
 * of an accepted call after the 2xx, in ms after it (-1: none). The bound holds when that is ≤ B.
 */
async function revokeAndWatch(url: string, token: string, revoke: () => Promise<Response>) {
  expect((await call(url, token)).status).toBe(200);
  const revoked = await revoke();
  expect(revoked.status, await revoked.clone().text()).toBe(200);
  const acked = Date.now();
  let lastAccepted = -1;
  while (Date.now() - acked < 3 * BOUND_MS) {
    const started = Date.now();
    const res = await call(url, token);
    if (res.status === 401) return { body: (await res.json()) as Record<string, unknown>, lastAccepted, refusedAfter: Date.now() - acked };
    expect(res.status).toBe(200);
    lastAccepted = started - acked;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`still accepted ${3 * BOUND_MS} ms after the revocation`);
}

describe('killswitch/client against wrangler dev (bounded, B = 1000 ms)', () => {
  it(`loads ${PRELOADED.toLocaleString('en')} entries at start-up (time and memory logged)`, async () => {
    const heap = process.memoryUsage();
    const started = performance.now();
    const { guard } = await expressOrigin();
    const ms = performance.now() - started;
    const after = process.memoryUsage();
    const stats = guard.revocations.stats();
    const mb = (n: number) => (n / 1e6).toFixed(1);
    console.log(
      `origin start-up with ${PRELOADED} entries: ready in ${Math.round(ms)} ms; tables ${mb(stats.tableBytes)} MB; ` +
        `heap +${mb(after.heapUsed - heap.heapUsed)} MB, arrayBuffers +${mb(after.arrayBuffers - heap.arrayBuffers)} MB, rss +${mb(after.rss - heap.rss)} MB`,
    );
    expect(stats).toMatchObject({ users: PRELOADED, snapshotLoads: 1, refreshFailures: 0 });
    expect(ms).toBeLessThan(10_000);
  });

  it('Express: a user revoked through the admin API is refused within the bound (revoked_user)', async () => {
    const { url } = await expressOrigin();
    const sub = `origin-user-${crypto.randomUUID()}`;
    const watch = await revokeAndWatch(url, await mint(sub), () => admin('/v1/admin/users/revoke', { sub }));
    console.log(`Express: refused ${watch.refusedAfter} ms after the 2xx; last accepted call started at ${watch.lastAccepted} ms`);
    expect(watch.body).toEqual({ error: 'invalid_token', reason: 'revoked_user' });
    expect(watch.lastAccepted).toBeLessThanOrEqual(BOUND_MS);
  });

  it('Fastify: a token revoked by id is refused within the bound (revoked_token); another token of the user is not', async () => {
    const { url } = await fastifyOrigin();
    const sub = `origin-token-${crypto.randomUUID()}`;
    const token = await mint(sub);
    const other = await mint(sub);
    const { jti, exp } = claimsOf(token);
    const watch = await revokeAndWatch(url, token, () => admin('/v1/admin/tokens/revoke', { jti, sub, exp, iss: DEMO_ISSUER }));
    console.log(`Fastify: refused ${watch.refusedAfter} ms after the 2xx; last accepted call started at ${watch.lastAccepted} ms`);
    expect(watch.body).toEqual({ error: 'invalid_token', reason: 'revoked_token' });
    expect(watch.lastAccepted).toBeLessThanOrEqual(BOUND_MS);
    expect((await call(url, other)).status).toBe(200);
  });

  it('refuses a missing, forged or expired token before any revocation check', async () => {
    const { url } = await fastifyOrigin();
    const missing = await call(url);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('WWW-Authenticate')).toBe('Bearer');
    const token = await mint('origin-forged');
    const forged = `${token.slice(0, token.lastIndexOf('.'))}.${'A'.repeat(86)}`;
    expect(await (await call(url, forged)).json()).toEqual({ error: 'invalid_token', reason: 'invalid_token' });
    const expired = await signDemo({ iss: DEMO_ISSUER, aud: 'api', sub: 'origin-expired', iat: now() - 900, exp: now() - 600 });
    expect(await (await call(url, expired)).json()).toEqual({ error: 'invalid_token', reason: 'expired' });
  });

  it('the feed out of reach: fail closed answers 503 unavailable once the mirror is past the bound; fail open accepts, reported', async () => {
    const cut = { on: false };
    const reachable: typeof fetch = (input, init) =>
      cut.on ? Promise.reject(new Error('injected: feed unreachable')) : fetch(input, init);
    const stale: number[] = [];
    const closed = await expressOrigin({ fetch: reachable, boundMs: 400 });
    const open = await expressOrigin({ fetch: reachable, boundMs: 400, failMode: 'open', onStale: (ageMs) => stale.push(ageMs) });
    const token = await mint(`origin-cut-${crypto.randomUUID()}`);
    expect((await call(closed.url, token)).status).toBe(200);
    cut.on = true;
    await new Promise((resolve) => setTimeout(resolve, 450));
    const refused = await call(closed.url, token);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('Retry-After')).toBe('1');
    expect(await refused.json()).toEqual({ error: 'temporarily_unavailable', reason: 'unavailable' });
    expect((await call(open.url, token)).status).toBe(200);
    expect(stale.length).toBeGreaterThan(0);
    expect(stale[0]).toBeGreaterThan(400);
    cut.on = false;
    expect((await call(closed.url, token)).status).toBe(200);
  });

  it('feed key rotation: both keys of FEED_API_KEYS serve; a retired or admin key makes the mirror stale, so unavailable', async () => {
    let key: string = FEED_KEYS[0];
    const { url, guard } = await expressOrigin({ feedKey: () => key, boundMs: 400 });
    const token = await mint(`origin-rotate-${crypto.randomUUID()}`);
    expect((await call(url, token)).status).toBe(200);
    key = FEED_KEYS[1];
    await new Promise((resolve) => setTimeout(resolve, 450));
    expect((await call(url, token)).status).toBe(200);
    for (const wrong of ['retired-feed-key-0123456789', DEMO_ADMIN_KEY]) {
      key = wrong;
      await new Promise((resolve) => setTimeout(resolve, 450));
      expect((await call(url, token)).status, wrong === DEMO_ADMIN_KEY ? 'admin key' : 'retired key').toBe(503);
    }
    expect(guard.revocations.stats().refreshFailures).toBeGreaterThan(0);
  });

  it("JWKS rotation: a token signed with the issuer's new key verifies once the JWKS serves it, and is revocable", async () => {
    const { url } = await honoOrigin();
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const kid = 'demo-es256-rotated';
    const sub = `origin-jwks-${crypto.randomUUID()}`;
    const token = await new SignJWT({ sub, ver: 0, jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: 'ES256', kid })
      .setIssuer(DEMO_ISSUER)
      .setAudience('api')
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(privateKey);
    expect(await (await call(url, token)).json()).toEqual({ error: 'invalid_token', reason: 'invalid_token' });
    servedKeys = [...servedKeys, { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }];
    const watch = await revokeAndWatch(url, token, () => admin('/v1/admin/users/revoke', { sub }));
    expect(watch.body).toEqual({ error: 'invalid_token', reason: 'revoked_user' });
    expect(watch.lastAccepted).toBeLessThanOrEqual(BOUND_MS);
  });

  it("`npm run origin` (examples/express-origin, the README's walk) refuses a revoked user's token", async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ['scripts/origin.mjs'], {
      cwd: ROOT,
      env: { ...process.env, KILLSWITCH_URL: worker.url, KILLSWITCH_FEED_KEY: FEED_KEYS[1], PORT: String(port) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    closers.push(async () => child.kill());
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('express origin on') && resolve());
      child.once('exit', (code) => reject(new Error(`origin exited with ${code}`)));
    });
    const url = `http://127.0.0.1:${port}`;
    const sub = `origin-example-${crypto.randomUUID()}`;
    const watch = await revokeAndWatch(url, await mint(sub), () => admin('/v1/admin/users/revoke', { sub }));
    expect(watch.body).toEqual({ error: 'invalid_token', reason: 'revoked_user' });
    expect(watch.lastAccepted).toBeLessThanOrEqual(BOUND_MS);
  });

  for (const runtime of RUNTIMES) {
    it.skipIf(runtime.skip)(
      `${runtime.name}: a Hono origin on ${runtime.name}'s own server refuses a revoked user within the bound`,
      async () => {
        const config = { url: worker.url, feedKey: FEED_KEYS[0], jwks: jwksUrl, issuer: DEMO_ISSUER, boundMs: BOUND_MS };
        const child = spawn(runtime.bin, [...runtime.args, 'test/e2e/runtime-origin.ts', JSON.stringify(config)], {
          cwd: ROOT,
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        closers.push(async () => child.kill());
        const url = await new Promise<string>((resolve, reject) => {
          child.stdout.on('data', (chunk: Buffer) => {
            const listening = /listening (\S+)/.exec(chunk.toString());
            if (listening !== null) resolve(listening[1]!);
          });
          child.once('error', reject); // no binary (KILLSWITCH_REQUIRE_SYSTEM_TESTS=1): a failure
          child.once('exit', (code) => reject(new Error(`${runtime.name} origin exited with ${code}`)));
        });
        const sub = `origin-${runtime.name}-${crypto.randomUUID()}`;
        const token = await mint(sub);
        const forged = `${token.slice(0, token.lastIndexOf('.'))}.${'A'.repeat(86)}`;
        expect(await (await call(url, forged)).json()).toEqual({ error: 'invalid_token', reason: 'invalid_token' });
        const watch = await revokeAndWatch(url, token, () => admin('/v1/admin/users/revoke', { sub }));
        console.log(
          `${runtime.name}: refused ${watch.refusedAfter} ms after the 2xx; last accepted call started at ${watch.lastAccepted} ms`,
        );
        expect(watch.body).toEqual({ error: 'invalid_token', reason: 'revoked_user' });
        expect(watch.lastAccepted).toBeLessThanOrEqual(BOUND_MS);
      },
    );
  }

  it('revoke-all: Express, Fastify and Hono origins all refuse within the bound (revoked_all)', async () => {
    const origins = await Promise.all([expressOrigin(), fastifyOrigin(), honoOrigin()]);
    const token = await mint(`origin-all-${crypto.randomUUID()}`);
    for (const { url } of origins) expect((await call(url, token)).status).toBe(200);
    const revoked = await admin('/v1/admin/revoke-all', { reason: 'origins e2e' });
    expect(revoked.status).toBe(200);
    const acked = Date.now();
    for (const { url } of origins) {
      for (;;) {
        const started = Date.now() - acked;
        const res = await call(url, token);
        if (res.status === 401) {
          expect(await res.json()).toEqual({ error: 'invalid_token', reason: 'revoked_all' });
          break;
        }
        expect(started).toBeLessThanOrEqual(BOUND_MS);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  });
});
