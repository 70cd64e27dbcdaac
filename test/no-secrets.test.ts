/**
 * reference §5 and §4.2: logs and the audit trail never hold a raw token (nor any of its segments)
 * or an admin key, on success and on error paths alike.
 */
import { exports, env } from 'cloudflare:workers';
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { userObjectName } from '../src/revocation/storage-keys';
import { ADMIN_KEY, ADMIN_KEY_ROTATED, BASE } from './helpers/fixtures';
import { mint, now } from './helpers/tokens';
import { intercept, setObjectBindings } from './helpers/faults';

const WRONG_KEY = 'wrong-admin-key-that-is-long-enough';
const sub = `secrets-${crypto.randomUUID()}`;

const call = (path: string, init: RequestInit = {}, bearer?: string) => {
  const headers = new Headers(init.headers);
  if (bearer !== undefined) headers.set('Authorization', `Bearer ${bearer}`);
  return exports.default.fetch(`${BASE}${path}`, { ...init, headers });
};
const form = (token: string) => new URLSearchParams({ token });

/** Everything that must never be written: keys, tokens and each segment of each token. */
function secretsOf(tokens: string[]): string[] {
  const segments = tokens.flatMap((t) => t.split('.')).filter((s) => s.length >= 16);
  return [ADMIN_KEY, ADMIN_KEY_ROTATED, WRONG_KEY, ...tokens, ...segments];
}

const CONSOLE = ['log', 'info', 'warn', 'error', 'debug'] as const;
let spies: MockInstance[] = [];
const captured = () => spies.flatMap((spy) => spy.mock.calls.map((args) => args.map(String).join(' '))).join('\n');

beforeEach(() => {
  spies = CONSOLE.map((name) => vi.spyOn(console, name).mockImplementation(() => undefined));
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('no secrets in logs or audit', () => {
  it('revoke, logout, introspect, verify and admin calls, successful or not', async () => {
    const tokens = {
      revoked: await mint('es256-1', { claims: { sub } }),
      noJti: await mint('es256-1', { claims: { sub, jti: undefined } }),
      hs: await mint('HS256', { claims: { sub } }),
      logout: await mint('es256-1', { claims: { sub } }),
      introspected: await mint('rs256-1', { claims: { sub, scope: 'read' } }),
      expired: await mint('es256-1', { claims: { sub, iat: now() - 900, exp: now() - 300 } }),
      kvDown: await mint('es256-1', { claims: { sub: `${sub}-kv` } }),
      accepted: await mint('ed-1', { claims: { sub: `${sub}-ok`, scope: 'write' } }),
    };
    const forged = `${tokens.hs.slice(0, -6)}AAAAAA`;
    const all = [...Object.values(tokens), forged];

    const statuses = [
      (await call('/v1/revoke', { method: 'POST', body: form(tokens.revoked) }, ADMIN_KEY)).status,
      (await call('/v1/revoke', { method: 'POST', body: form(tokens.noJti) }, ADMIN_KEY_ROTATED)).status,
      (await call('/v1/revoke', { method: 'POST', body: form(forged) }, ADMIN_KEY)).status,
      (await call('/v1/revoke', { method: 'POST', body: form(tokens.hs) }, WRONG_KEY)).status,
      (await call('/v1/introspect', { method: 'POST', body: form(tokens.introspected) }, ADMIN_KEY)).status,
      (await call('/v1/introspect', { method: 'POST', body: form(tokens.expired) }, ADMIN_KEY)).status,
      (await call('/v1/logout', { method: 'POST' }, tokens.logout)).status,
      (await call('/v1/logout', { method: 'POST', body: JSON.stringify({ everywhere: true }) }, tokens.hs)).status,
      (await call('/v1/logout', { method: 'POST', body: `not json ${tokens.introspected}` }, tokens.accepted)).status,
      (await call('/v1/logout', { method: 'POST' }, forged)).status,
      (await call('/v1/verify', {}, tokens.revoked)).status,
      (await call('/v1/verify?strict=1', {}, tokens.introspected)).status,
      (await call('/v1/verify', {}, tokens.accepted)).status,
      (await call(`/v1/verify?access_token=${tokens.introspected}`)).status,
      (await call('/v1/verify', { headers: { Cookie: `token=${tokens.introspected}` } })).status,
      (await call('/v1/admin/users/x', {}, tokens.introspected)).status,
      (
        await call(
          `/v1/admin/users/${encodeURIComponent(sub)}/revoke`,
          { method: 'POST', body: JSON.stringify({ reason: 'audit me' }) },
          ADMIN_KEY,
        )
      ).status,
      (await call('/v1/admin/tokens/revoke', { method: 'POST', body: `{"jti":"x","sub":"${sub}","exp":"${tokens.expired}"}` }, ADMIN_KEY))
        .status,
      (await exports.Verifier.verify(tokens.introspected)).active ? 200 : 401,
      (await exports.Verifier.verify(tokens.accepted, { strict: true })).active ? 200 : 401,
      (await exports.Verifier.verify(forged)).active ? 200 : 401,
    ];
    expect(statuses).toEqual([200, 200, 200, 401, 200, 200, 200, 200, 400, 401, 401, 401, 200, 401, 401, 401, 200, 400, 401, 200, 401]);

    // An error path: the KV write-through fails inside the Durable Object.
    const kvSub = `${sub}-kv`;
    const failing = intercept(env.REVOCATIONS, (method, call) =>
      method === 'put' ? Promise.reject(new Error('injected KV put failure')) : call(),
    );
    await setObjectBindings(env.USER_STATE.getByName(userObjectName(kvSub)), { REVOCATIONS: failing });
    expect((await call('/v1/revoke', { method: 'POST', body: form(tokens.kvDown) }, ADMIN_KEY)).status).toBe(200);

    const logs = captured();
    // The capture works: the request lines and the DO's failure event are there.
    expect(logs).toContain('"route":"/v1/revoke"');
    expect(logs).toContain('"route":"rpc:verify"');
    expect(logs).toContain('kv_write_failed');
    for (const secret of secretsOf(all)) expect(logs).not.toContain(secret);
    expect(logs.toLowerCase()).not.toContain('authorization');

    const audits = await Promise.all(
      [sub, kvSub].map(async (s) => {
        const res = await call(`/v1/admin/audit?sub=${encodeURIComponent(s)}&limit=200`, {}, ADMIN_KEY);
        expect(res.status).toBe(200);
        return res.text();
      }),
    );
    const audit = audits.join('\n');
    expect(JSON.parse(audits[0] ?? '{}').events.length).toBeGreaterThanOrEqual(5);
    for (const secret of secretsOf(all)) expect(audit).not.toContain(secret);
    const state = await (await call(`/v1/admin/users/${encodeURIComponent(sub)}`, {}, ADMIN_KEY)).text();
    for (const secret of secretsOf(all)) expect(state).not.toContain(secret);
  });
});
