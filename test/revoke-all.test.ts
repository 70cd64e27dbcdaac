/**
 * reference §4.2 POST /v1/admin/revoke-all: the global "revoke everything issued before T".
 * Alone in this file because it refuses every older token in the file's isolated storage
 * (vitest-pool-workers isolates storage per test file: checked, a KV write made in one file
 * is not visible in another). Tests run in order and build on one another's state.
 */
import { exports, env } from 'cloudflare:workers';
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { GLOBAL_KV_KEY, GLOBAL_OBJECT_NAME } from '../src/revocation/storage-keys';
import { ADMIN_KEY, ADMIN_KEY_ROTATED, BASE } from './helpers/fixtures';
import { mint, now, type SigningKey } from './helpers/tokens';
import { intercept, setObjectBindings } from './helpers/faults';

function admin(path: string, init: RequestInit = {}, key = ADMIN_KEY): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('Authorization', `Bearer ${key}`);
  return exports.default.fetch(`${BASE}${path}`, { ...init, headers });
}

async function revokeAll(reason: string, key = ADMIN_KEY): Promise<{ revokedBefore: number }> {
  const res = await admin('/v1/admin/revoke-all', { method: 'POST', body: JSON.stringify({ reason }) }, key);
  expect(res.status).toBe(200);
  const body = await res.json<{ revokedBefore: number }>();
  expect(Object.keys(body)).toEqual(['revokedBefore']);
  expect(Number.isSafeInteger(body.revokedBefore)).toBe(true);
  return body;
}

async function outcome(token: string, mode: 'cached' | 'strict' | 'rpc'): Promise<string> {
  if (mode === 'rpc') {
    const result = await exports.Verifier.verify(token);
    return result.active ? 'active' : result.reason;
  }
  const res = await exports.default.fetch(`${BASE}/v1/verify${mode === 'strict' ? '?strict=1' : ''}`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  const body = await res.json<{ active: boolean; reason?: string }>();
  expect(res.status).toBe(body.active ? 200 : 401);
  return body.active ? 'active' : (body.reason ?? 'no reason');
}
const MODES = ['cached', 'strict', 'rpc'] as const;

const KEYS: SigningKey[] = ['es256-1', 'HS256', 'second-1', 'ed-1'];

afterEach(() => {
  vi.useRealTimers();
});

describe('revoke-all', () => {
  let first = 0;

  it('refuses old tokens of every user and issuer with revoked_all, and accepts later ones', async () => {
    const old = await Promise.all(KEYS.map((key, i) => mint(key, { claims: { sub: `all-user-${i}` } })));
    for (const token of old) for (const mode of MODES) expect(await outcome(token, mode)).toBe('active');

    const t0 = now();
    const { revokedBefore } = await revokeAll('incident 42');
    expect(revokedBefore).toBeGreaterThanOrEqual(t0);
    expect(revokedBefore).toBeLessThanOrEqual(now());
    first = revokedBefore;

    for (const token of old) for (const mode of MODES) expect(await outcome(token, mode)).toBe('revoked_all');
    const sameSecond = await mint('es256-1', { claims: { sub: 'all-user-x', iat: revokedBefore } });
    for (const mode of MODES) expect(await outcome(sameSecond, mode)).toBe('revoked_all');
    // REVOCATION_IAT_MARGIN_SECONDS (2 by default) covers an issuer clock running ahead; no version exempts a token from a revoke-all.
    const withinMargin = await mint('es256-1', { claims: { sub: 'all-user-x', ver: 99, iat: revokedBefore + 2 } });
    for (const mode of MODES) expect(await outcome(withinMargin, mode)).toBe('revoked_all');
    for (const [i, key] of KEYS.entries()) {
      const later = await mint(key, { claims: { sub: `all-user-${i}`, iat: revokedBefore + 3 } });
      for (const mode of MODES) expect(await outcome(later, mode)).toBe('active');
    }
  });

  it('writes the global instant through to the KV replica', async () => {
    expect(await env.REVOCATIONS.get(GLOBAL_KV_KEY, 'json')).toEqual({ revokedBefore: first });
  });

  it('never moves the global instant backwards', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime((first - 3600) * 1000);
    const { revokedBefore } = await revokeAll('clock went back');
    expect(revokedBefore).toBe(first);
    expect(await env.REVOCATIONS.get(GLOBAL_KV_KEY, 'json')).toEqual({ revokedBefore: first });
  });

  it('works with the rotated admin key too, and audits each call with its key fingerprint', async () => {
    await revokeAll('rotated key', ADMIN_KEY_ROTATED);
    const res = await admin('/v1/admin/audit?limit=10');
    expect(res.status).toBe(200);
    const { events } = await res.json<{ events: Record<string, unknown>[] }>();
    expect(events.map((e) => e.reason)).toEqual(['rotated key', 'clock went back', 'incident 42']);
    const filtered = await (await admin('/v1/admin/audit?action=revoke_all&limit=2')).json<{ events: unknown[]; cursor?: string }>();
    expect(filtered.events).toEqual(events.slice(0, 2));
    expect(filtered.cursor).toBeDefined();
    expect(await (await admin('/v1/admin/audit?action=revoke_user')).json()).toEqual({ events: [] });
    for (const event of events) {
      expect(Object.keys(event).sort()).toEqual(['action', 'actor', 'at', 'reason', 'sub']);
      expect(event).toMatchObject({ action: 'revoke_all', sub: null, actor: expect.stringMatching(/^admin:[0-9a-f]{12}$/) });
    }
    expect(events[0]?.actor).not.toBe(events[1]?.actor);
    expect(events[1]?.actor).toBe(events[2]?.actor);
  });

  it('the user state shows the sessions it ended as revoked_all', async () => {
    const sessionsOf = async (sub: string) =>
      (await (await admin(`/v1/admin/users/${sub}`)).json<{ sessions: { state: string }[] }>()).sessions.map((s) => s.state);
    // Past the earlier revoke-alls: a session started in their second would already be ended.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 2000);
    const started = await admin('/v1/sessions', { method: 'POST', body: JSON.stringify({ sub: 'all-user-session' }) });
    expect(started.status).toBe(200);
    expect(await sessionsOf('all-user-session')).toEqual(['active']);
    await revokeAll('sessions too');
    expect(await sessionsOf('all-user-session')).toEqual(['revoked_all']);
  });

  it('takes precedence over a user revocation in the reason code', async () => {
    const token = await mint('es256-1', { claims: { sub: 'all-user-both', iat: now() - 5 } });
    const res = await admin('/v1/admin/users/all-user-both/revoke', { method: 'POST' });
    expect(res.status).toBe(200);
    await revokeAll('both');
    for (const mode of MODES) expect(await outcome(token, mode)).toBe('revoked_all');
  });

  it('is retried by the GlobalState alarm until KV accepts the write, and strict mode enforces it meanwhile', async () => {
    const stub = env.GLOBAL_STATE.getByName(GLOBAL_OBJECT_NAME);
    let failures = 2;
    const flaky = intercept(env.REVOCATIONS, (method, call) =>
      method === 'put' && failures-- > 0 ? Promise.reject(new Error('injected KV put failure')) : call(),
    );
    await setObjectBindings(stub, { REVOCATIONS: flaky });
    const previous = await env.REVOCATIONS.get<{ revokedBefore: number }>(GLOBAL_KV_KEY, 'json');

    // A day ahead: the retry alarm then runs only when the test runs it, and the new instant
    // is distinguishable from the previous one.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 86_400_000);
    const token = await mint('es256-1', { claims: { sub: 'all-user-retry' } });
    const { revokedBefore } = await revokeAll('kv down');
    expect(revokedBefore).toBeGreaterThan(previous?.revokedBefore ?? 0);

    expect(await env.REVOCATIONS.get(GLOBAL_KV_KEY, 'json')).toEqual(previous);
    expect(await outcome(token, 'strict')).toBe('revoked_all');
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).not.toBeNull();

    expect(await runDurableObjectAlarm(stub)).toBe(true); // second failure
    expect(await env.REVOCATIONS.get(GLOBAL_KV_KEY, 'json')).toEqual(previous);
    expect(await runDurableObjectAlarm(stub)).toBe(true); // lands
    expect(await env.REVOCATIONS.get(GLOBAL_KV_KEY, 'json')).toEqual({ revokedBefore });
    expect(await outcome(token, 'cached')).toBe('revoked_all');
  });
});
