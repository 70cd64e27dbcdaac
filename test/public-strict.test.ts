/**
 * `?strict=1` (reference §3.1, §4.2): each strict check reads the user's Durable Object, so on
 * the public host only an operator (the admin key in `Killswitch-Admin-Key`) or a deployment
 * with PUBLIC_STRICT=true may ask for it; and the one global object is read once per round trip
 * per isolate (coalesced), never once per check, without ever answering from a read that started
 * before the check did.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { call, counted, intercept } from './helpers/faults';
import { sleep } from './helpers/bounded';
import { ADMIN_KEY } from './helpers/fixtures';
import { mint, now, uniqueSub } from './helpers/tokens';

const strictCheck = (bindings: object, token: string, headers: Record<string, string> = {}) =>
  call(bindings, '/v1/verify?strict=1', { bearer: token, headers });

describe('who may ask ?strict=1', () => {
  const shipped = { ...env, PUBLIC_STRICT: undefined };

  it('by default a token holder gets 403 strict_not_allowed, and no Durable Object is read', async () => {
    const counts: Record<string, number> = {};
    const bindings = { ...shipped, USER_STATE: counted(env.USER_STATE, counts, 'user') };
    const token = await mint('es256-1', { claims: { sub: uniqueSub('public') } });
    const attempts: Record<string, string>[] = [{}, { 'Killswitch-Admin-Key': 'not-an-admin-key' }, { 'Killswitch-Admin-Key': '' }];
    for (const headers of attempts) {
      const answer = await strictCheck(bindings, token, headers);
      expect(answer.status).toBe(403);
      expect(answer.body).toMatchObject({ error: 'strict_not_allowed' });
    }
    expect(counts.user).toBe(0);
    // Without ?strict=1 the check is as usual.
    expect((await call(bindings, '/v1/verify', { bearer: token })).status).toBe(200);
  });

  it('an admin key in Killswitch-Admin-Key, or PUBLIC_STRICT=true, gets the strict check', async () => {
    const token = await mint('es256-1', { claims: { sub: uniqueSub('operator') } });
    for (const [bindings, headers] of [
      [shipped, { 'Killswitch-Admin-Key': ADMIN_KEY }],
      [{ ...env, PUBLIC_STRICT: 'true' }, {}],
    ] as const) {
      const counts: Record<string, number> = {};
      const answer = await strictCheck({ ...bindings, USER_STATE: counted(env.USER_STATE, counts, 'user') }, token, headers);
      expect(answer.status).toBe(200);
      expect(counts.user).toBe(2); // the user's object and the token's (iss, jti) one
    }
  });
});

describe('the global revoked-before under strict checks', () => {
  /** GLOBAL_STATE whose `state()` calls are counted, and held back `holdMs` once the switch says so. */
  function globalWith(control: { reads: number; holdMs: number }) {
    return intercept(env.GLOBAL_STATE, (method, getStub) => {
      const stub = getStub();
      if (method !== 'getByName') return stub;
      return intercept(stub as object, (name, invoke) => {
        if (name !== 'state') return invoke();
        control.reads++;
        const answer = invoke() as Promise<unknown>;
        return control.holdMs === 0 ? answer : answer.then((value) => sleep(control.holdMs).then(() => value));
      });
    });
  }

  it('50 concurrent strict checks read the one global object at most twice (coalesced), not 50 times', async () => {
    const control = { reads: 0, holdMs: 0 };
    const bindings = { ...env, GLOBAL_STATE: globalWith(control) };
    const tokens = await Promise.all(Array.from({ length: 50 }, (_, i) => mint('es256-1', { claims: { sub: uniqueSub(`burst-${i}`) } })));
    const answers = await Promise.all(tokens.map((token) => strictCheck(bindings, token)));
    expect(answers.map((a) => a.status)).toEqual(tokens.map(() => 200));
    expect(control.reads).toBeGreaterThanOrEqual(1);
    expect(control.reads).toBeLessThanOrEqual(2);
  });

  it('a check never takes the answer of a read that started before it: a revoke-all acknowledged meanwhile is seen', async () => {
    const control = { reads: 0, holdMs: 300 };
    const bindings = { ...env, GLOBAL_STATE: globalWith(control) };
    const token = await mint('es256-1', { claims: { sub: uniqueSub('linear'), iat: now() - 5 } });
    // A's read of the global object starts now, with the state before the revoke-all, and answers late.
    const first = strictCheck(bindings, token);
    await sleep(50);
    expect((await call(env, '/v1/admin/revoke-all', { method: 'POST', admin: true, body: '{"reason":"strict test"}' })).status).toBe(200);
    // B starts after the acknowledgement: sharing A's read would accept a revoked token.
    const second = await strictCheck(bindings, token);
    expect(second.status).toBe(401);
    expect(second.body).toMatchObject({ reason: 'revoked_all' });
    await first;
    expect(control.reads).toBe(2);
  });
});
