/**
 * Fault injection (issue 7, item 3): KV reads failing, slow or hung; KV writes failing; Durable
 * Objects unreachable; the JWKS endpoint down, slow or serving garbage. Each fault wraps the
 * REAL binding (or the real fetch) and can be switched off again, so every test also checks
 * recovery in the same isolate, without a restart. Expected behaviour: docs/consistency.md
 * ("When state cannot be read") and docs/reference.md §2.2, §4.1 (remote JWKS, FAIL_MODE).
 */
import { env } from 'cloudflare:workers';
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { JWKS_FAILURE_RETRY_MS } from '../src/keys/remote-jwks';
import { REVOCATION_READ_TIMEOUT_MS } from '../src/revocation/revocation-check';
import { userKvKey, userObjectName } from '../src/revocation/storage-keys';
import { KEYS } from './helpers/fixtures';
import { call, setObjectBindings, unreachable, verify, withFault, type Answer, type Switch } from './helpers/faults';
import { freshJwksPath, jwksHits, publishKeys, remoteIssuers, serveRawBody, setJwksStatus } from './helpers/jwks-server';
import { mint, uniqueSub } from './helpers/tokens';

beforeEach(() => {
  vi.spyOn(console, 'log').mockImplementation(() => {});
}); // the expected failure logs
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** A day ahead (Date only): DO retry alarms then run only when a test runs them. */
function holdAlarms(): void {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(Date.now() + 86_400_000);
}

const UNAVAILABLE = { active: false, error: 'temporarily_unavailable', reason: 'unavailable' };
const WRITER_DOWN = { error: 'temporarily_unavailable' };

// ---- KV reads -------------------------------------------------------------------------------------
describe('KV reads failing (cached mode)', () => {
  it.each([
    ['closed', 'reject', 503],
    ['closed', 'throw', 503],
    ['open', 'reject', 200],
    ['open', 'throw', 200],
  ] as const)('FAIL_MODE=%s, get() %s → %i; the same isolate answers correctly once KV is back', async (failMode, fault, status) => {
    const sw: Switch = { fault };
    const bindings = { ...env, FAIL_MODE: failMode, REVOCATIONS: withFault(env.REVOCATIONS, ['get'], sw) };
    const sub = uniqueSub('kv-read');
    const token = await mint('es256-1', { claims: { sub } });
    const revoked = await mint('es256-1', { claims: { sub } });
    expect((await call(env, '/v1/revoke', { method: 'POST', admin: true, body: new URLSearchParams({ token: revoked }) })).status).toBe(
      200,
    );

    const answers = [await verify(bindings, token), await verify(bindings, revoked)];
    expect(answers.map((a) => a.status)).toEqual([status, status]);
    if (status === 503) expect(answers.map((a) => a.body)).toEqual([UNAVAILABLE, UNAVAILABLE]);
    else expect(answers.map((a) => a.body.active)).toEqual([true, true]); // documented: open skips revocation state
    // Strict mode never reads KV, so it is unaffected either way.
    expect((await verify(bindings, revoked, true)).body).toMatchObject({ reason: 'revoked_token' });

    sw.fault = 'none';
    expect((await verify(bindings, token)).status).toBe(200);
    expect(await verify(bindings, revoked)).toMatchObject({ status: 401, body: { reason: 'revoked_token' } });
  });

  it('with KV down, logout refuses (503) in closed mode rather than acknowledging what it cannot check', async () => {
    const bindings = { ...env, REVOCATIONS: withFault(env.REVOCATIONS, ['get'], { fault: 'reject' }) };
    const token = await mint('es256-1', { claims: { sub: uniqueSub('logout') } });
    expect(await call(bindings, '/v1/logout', { method: 'POST', bearer: token })).toMatchObject({ status: 503, body: UNAVAILABLE });
  });
});

describe('KV reads slow or hung: bounded latency', () => {
  const bound = REVOCATION_READ_TIMEOUT_MS.cached;
  it.each([
    ['closed', { slowMs: bound + 1_500 }, 503],
    ['open', 'hang', 200],
  ] as const)(
    `FAIL_MODE=%s, reads %j: answered in ${bound} ms + 1 s, 5 concurrent requests alike`,
    async (failMode, fault, status) => {
      expect(bound).toBe(2_000);
      const bindings = { ...env, FAIL_MODE: failMode, REVOCATIONS: withFault(env.REVOCATIONS, ['get'], { fault }) };
      const tokens = await Promise.all(Array.from({ length: 5 }, () => mint('es256-1', { claims: { sub: uniqueSub('slow') } })));
      const answers = await Promise.all(tokens.map((t) => verify(bindings, t)));
      for (const answer of answers) {
        expect(answer.status).toBe(status);
        if (status === 503) expect(answer.body).toEqual(UNAVAILABLE);
        expect(answer.ms).toBeGreaterThanOrEqual(bound - 50);
        expect(answer.ms).toBeLessThan(bound + 1_000);
      }
    },
    15_000,
  );
});

// ---- KV writes ----------------------------------------------------------------------------------
/** The user's DO writes KV through this switch from now on (its env swapped in place). */
async function breakKvWrites(sub: string, sw: Switch): Promise<void> {
  await setObjectBindings(env.USER_STATE.getByName(userObjectName(sub)), { REVOCATIONS: withFault(env.REVOCATIONS, ['put'], sw) });
}

describe('KV writes failing: acknowledged, enforced in strict mode, never lost', () => {
  const REVOCATIONS: [string, 'revoked_user' | 'revoked_token', (sub: string, token: string) => Promise<Answer>][] = [
    [
      'a user revocation',
      'revoked_user',
      (sub) => call(env, `/v1/admin/users/${encodeURIComponent(sub)}/revoke`, { method: 'POST', admin: true }),
    ],
    [
      'an RFC 7009 token revocation',
      'revoked_token',
      (_sub, token) => call(env, '/v1/revoke', { method: 'POST', admin: true, body: new URLSearchParams({ token }) }),
    ],
    ['a logout', 'revoked_token', (_sub, token) => call(env, '/v1/logout', { method: 'POST', bearer: token })],
  ];

  it.each(REVOCATIONS)(
    '%s: 200 at once, strict refuses at once, cached refuses once the alarm lands it',
    async (_label, reason, revoke) => {
      holdAlarms();
      const sub = uniqueSub('kv-write');
      const token = await mint('es256-1', { claims: { sub, iat: Math.floor(Date.now() / 1000) - 5 } });
      const sw: Switch = { fault: 'reject' };
      await breakKvWrites(sub, sw);

      expect((await revoke(sub, token)).status).toBe(200); // durable in the DO: acknowledged
      expect((await verify(env, token, true)).body).toMatchObject({ reason }); // strict: at once
      expect((await verify(env, token)).status).toBe(200); // cached: KV has not got it yet

      const stub = env.USER_STATE.getByName(userObjectName(sub));
      for (let retry = 0; retry < 3; retry++) {
        // KV still down: every retry fails, nothing is dropped
        expect(await runDurableObjectAlarm(stub)).toBe(true);
        expect((await verify(env, token)).status).toBe(200);
      }
      expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).not.toBeNull();

      sw.fault = 'none'; // KV is back: the next retry lands, with no restart of anything
      expect(await runDurableObjectAlarm(stub)).toBe(true);
      expect(await verify(env, token)).toMatchObject({ status: 401, body: { reason } });
      expect(await runInDurableObject(stub, (_i, state) => state.storage.sql.exec('SELECT COUNT(*) AS n FROM kv_outbox').one().n)).toBe(0);
      if (reason === 'revoked_user') expect(await env.REVOCATIONS.get(await userKvKey(sub), 'json')).toMatchObject({ version: 1 });
    },
  );
});

// ---- Durable Objects unreachable ---------------------------------------------------------------
describe('Durable Objects unreachable', () => {
  const user = () => ({ sw: { fault: 'reject' } as Switch, sub: uniqueSub('do') });

  it('strict verify: 503 unavailable (open: 200); cached verify unaffected; recovery without restart', async () => {
    const { sw, sub } = user();
    const closed = { ...env, USER_STATE: unreachable(env.USER_STATE, sw) };
    const open = { ...closed, FAIL_MODE: 'open' };
    const token = await mint('es256-1', { claims: { sub } });
    expect(await verify(closed, token, true)).toMatchObject({ status: 503, body: UNAVAILABLE });
    expect((await verify(open, token, true)).status).toBe(200);
    expect((await verify(closed, token)).status).toBe(200);
    // Introspection answers 503, never active, whatever FAIL_MODE says (reference §4.3).
    for (const bindings of [closed, open]) {
      expect(await call(bindings, '/v1/introspect', { method: 'POST', admin: true, body: new URLSearchParams({ token }) })).toMatchObject({
        status: 503,
        body: WRITER_DOWN,
      });
    }
    sw.fault = 'none';
    expect((await verify(closed, token, true)).status).toBe(200);
  });

  it('the global writer unreachable: strict verify 503, revoke-all 503', async () => {
    const sw: Switch = { fault: 'reject' };
    const bindings = { ...env, GLOBAL_STATE: unreachable(env.GLOBAL_STATE, sw) };
    const token = await mint('es256-1', { claims: { sub: uniqueSub('global') } });
    expect(await verify(bindings, token, true)).toMatchObject({ status: 503, body: UNAVAILABLE });
    expect(await call(bindings, '/v1/admin/revoke-all', { method: 'POST', admin: true, body: '{"reason":"must not run"}' })).toMatchObject({
      status: 503,
      body: WRITER_DOWN,
    });
    sw.fault = 'none';
    expect((await verify(bindings, token, true)).status).toBe(200);
  });

  type Write = [string, (b: object, sub: string, token: string) => Promise<Answer>];
  const WRITES: Write[] = [
    [
      'POST /v1/admin/users/:sub/revoke',
      (b, sub) => call(b, `/v1/admin/users/${encodeURIComponent(sub)}/revoke`, { method: 'POST', admin: true }),
    ],
    [
      'POST /v1/admin/users/revoke',
      (b, sub) => call(b, '/v1/admin/users/revoke', { method: 'POST', admin: true, body: JSON.stringify({ sub }) }),
    ],
    [
      'POST /v1/admin/users/lookup',
      (b, sub) => call(b, '/v1/admin/users/lookup', { method: 'POST', admin: true, body: JSON.stringify({ sub }) }),
    ],
    [
      'POST /v1/admin/tokens/revoke',
      (b, sub) =>
        call(b, '/v1/admin/tokens/revoke', {
          method: 'POST',
          admin: true,
          body: JSON.stringify({ sub, jti: 'j-1', exp: Math.floor(Date.now() / 1000) + 600 }),
        }),
    ],
    ['POST /v1/revoke', (b, _sub, token) => call(b, '/v1/revoke', { method: 'POST', admin: true, body: new URLSearchParams({ token }) })],
    ['POST /v1/logout', (b, _sub, token) => call(b, '/v1/logout', { method: 'POST', bearer: token })],
    [
      'POST /v1/logout everywhere',
      (b, _sub, token) => call(b, '/v1/logout', { method: 'POST', bearer: token, body: '{"everywhere":true}' }),
    ],
    ['GET /v1/admin/users/:sub', (b, sub) => call(b, `/v1/admin/users/${encodeURIComponent(sub)}`, { admin: true })],
    ['GET /v1/admin/audit?sub=', (b, sub) => call(b, `/v1/admin/audit?sub=${encodeURIComponent(sub)}`, { admin: true })],
    ['POST /v1/sessions', (b, sub) => call(b, '/v1/sessions', { method: 'POST', admin: true, body: JSON.stringify({ sub }) })],
  ];

  it.each(WRITES)(
    '%s: 503 temporarily_unavailable with Retry-After, never 2xx, nothing stored; 200 once the object is back',
    async (_route, write) => {
      const { sw, sub } = user();
      const bindings = { ...env, USER_STATE: unreachable(env.USER_STATE, sw) };
      const token = await mint('es256-1', { claims: { sub } });
      expect(await write(bindings, sub, token)).toMatchObject({ status: 503, body: WRITER_DOWN, retryAfter: '1' });
      const stored = await env.USER_STATE.getByName(userObjectName(sub)).state(sub);
      expect(stored).toMatchObject({ version: 0, revokedTokens: [] });
      expect((await verify(env, token, true)).status).toBe(200);

      sw.fault = 'none';
      expect((await write(bindings, sub, token)).status).toBe(200);
    },
  );
});

// ---- the JWKS endpoint --------------------------------------------------------------------------
describe('remote JWKS endpoint faults, end to end (/v1/verify)', () => {
  const A = KEYS['remote-a'].public;
  const B = KEYS['remote-b'].public;
  const jwksEnv = (path: string, extra: object = {}) => ({ ...env, TRUSTED_ISSUERS: remoteIssuers(path), ...extra });
  const startClock = () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.UTC(2031, 0, 1));
  };
  const advance = (ms: number) => vi.setSystemTime(Date.now() + ms);
  type JwksFault = [label: string, apply: (path: string) => Promise<unknown>];
  const FAULTS: JwksFault[] = [
    ['down (500)', (path) => setJwksStatus(path, 500)],
    ['dropping connections', (path) => setJwksStatus(path, 0)],
    ['serving HTML', (path) => serveRawBody(path, '<html>maintenance</html>')],
    ['serving a JWKS without keys', (path) => serveRawBody(path, '{"keys":"none"}')],
  ];
  const heal = async (path: string, keys: unknown[]) => {
    await setJwksStatus(path, 200);
    await publishKeys(path, keys, 'max-age=60');
  };

  it.each(FAULTS)(
    '%s after keys were fetched: cached keys keep verifying, no fetch per request, recovery after the retry interval',
    async (_label, apply) => {
      startClock();
      const path = freshJwksPath('fault-cached');
      await publishKeys(path, [A], 'max-age=60');
      const bindings = jwksEnv(path);
      expect((await verify(bindings, await mint('remote-a'))).status).toBe(200);

      await apply(path);
      advance(61_000); // the keys are due for a refresh, which fails
      for (let i = 0; i < 5; i++) expect((await verify(bindings, await mint('remote-a'))).status).toBe(200);
      expect(await jwksHits(path)).toBe(2); // one failed refresh, then none until the retry interval

      await heal(path, [A, B]);
      advance(JWKS_FAILURE_RETRY_MS + 1_000);
      expect((await verify(bindings, await mint('remote-a'))).status).toBe(200);
      expect(await jwksHits(path)).toBe(3); // the scheduled retry, which lands
      expect((await verify(bindings, await mint('remote-b'))).status).toBe(200); // from the new set: no further fetch
      expect(await jwksHits(path)).toBe(3);
    },
  );

  it.each(FAULTS.flatMap(([label, apply]) => (['closed', 'open'] as const).map((mode) => [label, mode, apply] as const)))(
    '%s with no keys ever fetched, FAIL_MODE=%s: 503 unavailable, then 200 once it is back',
    async (_label, failMode, apply) => {
      startClock();
      const path = freshJwksPath('fault-never');
      await apply(path);
      const bindings = jwksEnv(path, { FAIL_MODE: failMode });
      expect(await verify(bindings, await mint('remote-a'))).toMatchObject({ status: 503, body: UNAVAILABLE });
      await heal(path, [A]);
      advance(JWKS_FAILURE_RETRY_MS + 1_000);
      expect((await verify(bindings, await mint('remote-a'))).status).toBe(200);
    },
  );

  it('slow (1.5 s, under the 5 s fetch timeout): 10 concurrent first requests share one fetch and all verify', async () => {
    const path = freshJwksPath('fault-slow');
    await publishKeys(path, [A]);
    const realFetch = globalThis.fetch;
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      if (new URL(url).pathname === path) await new Promise((resolve) => setTimeout(resolve, 1_500));
      return realFetch(input, init);
    });
    const bindings = jwksEnv(path);
    const tokens = await Promise.all(Array.from({ length: 10 }, () => mint('remote-a')));
    const answers = await Promise.all(tokens.map((t) => verify(bindings, t)));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    for (const answer of answers) expect(answer.ms).toBeGreaterThanOrEqual(1_400);
    vi.restoreAllMocks();
    expect(await jwksHits(path)).toBe(1);
  }, 15_000);
});
