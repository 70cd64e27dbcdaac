/**
 * The UserState Durable Object itself (reference §1, §4.1): the single writer of one user's state.
 * KV faults are injected by wrapping the real binding inside the DO instance.
 */
import { exports, env } from 'cloudflare:workers';
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AUDIT_MAX_EVENTS, AUDIT_RETENTION_SECONDS, AuditLog } from '../src/revocation/audit-log';
import { tokenKvKey, userKvKey, userObjectName } from '../src/revocation/storage-keys';
import { ADMIN_KEY, BASE, ISSUERS } from './helpers/fixtures';
import { mint, now, uniqueSub } from './helpers/tokens';
import { intercept, setObjectBindings } from './helpers/faults';

const TOLERANCE = 30; // CLOCK_TOLERANCE_SECONDS in wrangler.toml

const stubFor = (sub: string) => env.USER_STATE.getByName(userObjectName(sub));

/** Makes the DO's next `failures` KV puts fail; the rest go to the real binding. */
async function failKvPuts(sub: string, failures: number): Promise<{ puts: number }> {
  const calls = { puts: 0 };
  let left = failures;
  const flaky = intercept(env.REVOCATIONS, (method, call) => {
    if (method !== 'put') return call();
    calls.puts++;
    return left-- > 0 ? Promise.reject(new Error('injected KV put failure')) : call();
  });
  await setObjectBindings(stubFor(sub), { REVOCATIONS: flaky });
  return calls;
}

const alarmOf = (sub: string) => runInDurableObject(stubFor(sub), (_i, state) => state.storage.getAlarm());
const sqlCount = (sub: string, table: string) =>
  runInDurableObject(stubFor(sub), (_i, state) => state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`).one().n);

async function verify(token: string, strict: boolean): Promise<string> {
  const res = await exports.default.fetch(`${BASE}/v1/verify${strict ? '?strict=1' : ''}`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  const body = await res.json<{ active: boolean; reason?: string }>();
  return body.active ? 'active' : (body.reason ?? `status ${res.status}`);
}

/** The KV entry's expiration, from list() (get() does not return it). */
async function kvExpiration(key: string): Promise<number | undefined> {
  const { keys } = await env.REVOCATIONS.list({ prefix: key });
  return keys.find((k) => k.name === key)?.expiration;
}

/**
 * Moves Date.now() (worker, DO and test alike) a day ahead, so a retry alarm the DO schedules
 * lies a day ahead of the runtime's real clock: it runs only when the test runs it.
 */
function holdAlarms(): void {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(Date.now() + 86_400_000);
}

afterEach(() => {
  vi.useRealTimers();
});

describe('write-through to KV', () => {
  it('a user revocation whose KV write fails 3 times lands after the alarm retries it', async () => {
    holdAlarms();
    const sub = uniqueSub('retry');
    const token = await mint('es256-1', { claims: { sub } });
    const calls = await failKvPuts(sub, 3);

    const before = Date.now();
    const state = await stubFor(sub).revokeUser({ sub, actor: 'test' });
    // The KV write failed, the feed append did not: the feed has it (propagated).
    expect(state).toEqual({
      sub,
      version: 1,
      revokedBefore: expect.any(Number),
      propagated: true,
      changes: [expect.objectContaining({ kind: 'user', version: 1 })],
    });
    const key = await userKvKey(sub);
    expect(await env.REVOCATIONS.get(key)).toBeNull();

    // Stored durably in the DO: strict checks refuse at once; the KV replica lags behind.
    expect(await verify(token, true)).toBe('revoked_user');
    expect(await verify(token, false)).toBe('active');

    // Backoff: 1 s after the first failure, 2 s after the second.
    for (const [attempt, delay] of [
      [1, 1000],
      [2, 2000],
    ] as const) {
      const alarm = await alarmOf(sub);
      expect(alarm).not.toBeNull();
      expect(alarm! - before).toBeGreaterThanOrEqual(delay);
      expect(alarm! - Date.now()).toBeLessThanOrEqual(delay);
      expect(calls.puts).toBe(attempt);
      expect(await runDurableObjectAlarm(stubFor(sub))).toBe(true);
      expect(await env.REVOCATIONS.get(key)).toBeNull();
    }
    expect(await runDurableObjectAlarm(stubFor(sub))).toBe(true);
    expect(calls.puts).toBe(4);
    expect(await env.REVOCATIONS.get(key, 'json')).toEqual({ version: 1, revokedBefore: state.revokedBefore });
    expect(await sqlCount(sub, 'kv_outbox')).toBe(0);
    expect(await alarmOf(sub)).toBeNull();
    expect(await verify(token, false)).toBe('revoked_user');
  });

  it('a DO that dies mid-flush still retries: the alarm is armed before the KV put starts', async () => {
    holdAlarms();
    const sub = uniqueSub('dies-mid-flush');
    const hung = intercept(env.REVOCATIONS, (method, call) => (method === 'put' ? new Promise(() => {}) : call())); // a put that never answers
    await setObjectBindings(stubFor(sub), { REVOCATIONS: hung });
    const revoking = stubFor(sub)
      .revokeUser({ sub, actor: 'test' })
      .catch((error: unknown) => error);
    let alarm: number | null = null;
    for (let i = 0; i < 50 && alarm === null; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      alarm = await alarmOf(sub);
    }
    expect(alarm).not.toBeNull(); // armed while the put is still in flight
    expect(alarm! - Date.now()).toBeLessThanOrEqual(1000);
    expect(await sqlCount(sub, 'kv_outbox')).toBe(1);

    // The object dies mid-flush; the restarted one (real KV binding) lands the write on its alarm.
    await runInDurableObject(stubFor(sub), (_i, state) => state.abort('dies mid-flush')).catch(() => undefined);
    expect(await revoking).toBeInstanceOf(Error);
    expect(await env.REVOCATIONS.get(await userKvKey(sub))).toBeNull();
    expect(await runDurableObjectAlarm(stubFor(sub))).toBe(true);
    expect(await env.REVOCATIONS.get(await userKvKey(sub), 'json')).toMatchObject({ version: 1 });
    expect(await sqlCount(sub, 'kv_outbox')).toBe(0);
  });

  it('a retry sends the newest value: an older queued value never lands over a newer one', async () => {
    holdAlarms();
    const sub = uniqueSub('newest');
    await failKvPuts(sub, 2);
    await stubFor(sub).revokeUser({ sub, actor: 'test' });
    const second = await stubFor(sub).revokeUser({ sub, actor: 'test' });
    expect(await env.REVOCATIONS.get(await userKvKey(sub))).toBeNull();
    expect(await runDurableObjectAlarm(stubFor(sub))).toBe(true);
    expect(await env.REVOCATIONS.get(await userKvKey(sub), 'json')).toEqual({ version: 2, revokedBefore: second.revokedBefore });
  });

  it('a denylisted token whose KV write fails is refused in strict mode, and lands in KV after the alarm', async () => {
    holdAlarms();
    const sub = uniqueSub('deny-retry');
    const jti = crypto.randomUUID();
    const token = await mint('es256-1', { claims: { sub, jti } });
    await failKvPuts(sub, 1);
    const res = await exports.default.fetch(`${BASE}/v1/revoke`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN_KEY}` },
      body: new URLSearchParams({ token }),
    });
    expect(res.status).toBe(200);
    expect(await verify(token, true)).toBe('revoked_token');
    expect(await verify(token, false)).toBe('active');
    expect(await runDurableObjectAlarm(stubFor(sub))).toBe(true);
    expect(await env.REVOCATIONS.get(await tokenKvKey(sub, ISSUERS.inline, jti))).not.toBeNull();
    expect(await verify(token, false)).toBe('revoked_token');
  });
});

describe('denylist lifetime', () => {
  it.each([
    ['far exp: exp + tolerance', 600, (exp: number): [number, number] => [exp + TOLERANCE, exp + TOLERANCE]],
    ['near exp: at least now + 60 (KV minimum)', 5, (): [number, number] => [now() + 60, now() + 61]],
  ] as const)('the KV entry expires with the token (%s)', async (_label, lifetime, range) => {
    const sub = uniqueSub('ttl');
    const jti = crypto.randomUUID();
    const exp = now() + lifetime;
    const res = await exports.default.fetch(`${BASE}/v1/admin/tokens/revoke`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN_KEY}` },
      body: JSON.stringify({ jti, sub, exp }),
    });
    expect(res.status).toBe(200);
    const expiration = await kvExpiration(await tokenKvKey(sub, null, jti));
    const [low, high] = range(exp);
    expect(expiration).toBeGreaterThanOrEqual(low - 1);
    expect(expiration).toBeLessThanOrEqual(high);
  });

  it('forgets denylist entries once exp + tolerance has passed (alarm), but not before', async () => {
    const sub = uniqueSub('forget');
    const exp = now() + 10;
    const stub = stubFor(sub);
    await stub.revokeToken({ sub, iss: ISSUERS.inline, tokenId: 'short', exp, forgetAt: exp + TOLERANCE, actor: 'test' });
    await stub.revokeToken({ sub, iss: ISSUERS.inline, tokenId: 'long', exp: exp + 3600, forgetAt: exp + 3600 + TOLERANCE, actor: 'test' });
    expect(await alarmOf(sub)).toBe((exp + TOLERANCE + 1) * 1000);

    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime((exp + TOLERANCE - 1) * 1000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await sqlCount(sub, 'revoked_tokens')).toBe(2);
    expect((await stub.check({ sub, iss: ISSUERS.inline, tokenId: 'short' })).tokenRevoked).toBe(true);

    vi.setSystemTime((exp + TOLERANCE + 2) * 1000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await sqlCount(sub, 'revoked_tokens')).toBe(1);
    expect((await stub.state(sub)).revokedTokens.map((t) => t.jti)).toEqual(['long']);
    expect(await alarmOf(sub)).toBe((exp + 3600 + TOLERANCE + 1) * 1000);

    vi.setSystemTime((exp + 3600 + TOLERANCE + 2) * 1000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await sqlCount(sub, 'revoked_tokens')).toBe(0);
    expect((await stub.state(sub)).revokedTokens).toEqual([]);
    expect(await alarmOf(sub)).toBeNull();
  });
});

describe('audit pruning', () => {
  it(`drops events older than ${AUDIT_RETENTION_SECONDS / 86400} days`, async () => {
    const sub = uniqueSub('audit-age');
    const stub = stubFor(sub);
    await stub.revokeUser({ sub, actor: 'test', reason: 'old' });
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + (AUDIT_RETENTION_SECONDS + 60) * 1000);
    await stub.revokeUser({ sub, actor: 'test', reason: 'new' });
    const page = await stub.auditPage(10);
    expect(page.events.map((e) => e.reason)).toEqual(['new']);
  });

  it(`keeps at most ${AUDIT_MAX_EVENTS} events`, async () => {
    const sub = uniqueSub('audit-count');
    const ids = await runInDurableObject(stubFor(sub), (_i, state) => {
      const log = new AuditLog(state.storage.sql);
      const at = now();
      // Seed AUDIT_MAX_EVENTS - 1 rows in one statement, then append through the log.
      state.storage.sql.exec(
        `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
        INSERT INTO audit (at, action, sub, jti, actor) SELECT ?, 'revoke_token', ?, 'j' || i, 'test' FROM n`,
        AUDIT_MAX_EVENTS - 2,
        at,
        sub,
      );
      for (let i = AUDIT_MAX_EVENTS - 1; i < AUDIT_MAX_EVENTS + 5; i++)
        log.append({ at, action: 'revoke_token', sub, jti: `j${i}`, actor: 'test' });
      return state.storage.sql
        .exec<{ n: number; oldest: string }>('SELECT COUNT(*) AS n, (SELECT jti FROM audit ORDER BY id LIMIT 1) AS oldest FROM audit')
        .one();
    });
    expect(ids).toEqual({ n: AUDIT_MAX_EVENTS, oldest: 'j5' });
  }, 30_000);
});

describe('serialization', () => {
  it('50 concurrent revokeUser calls get versions 1..50, each once', async () => {
    const sub = uniqueSub('concurrent');
    const stub = stubFor(sub);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => stub.revokeUser({ sub, actor: 'test', reason: `r${i}` })));
    expect(results.map((r) => r.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect((await stub.state(sub)).version).toBe(50);
    expect(await env.REVOCATIONS.get(await userKvKey(sub), 'json')).toMatchObject({ version: 50 });
    expect((await stub.auditPage(200)).events).toHaveLength(50);
  });

  it('revokedBefore never goes backwards, even if the clock does', async () => {
    const sub = uniqueSub('monotonic');
    const stub = stubFor(sub);
    const first = await stub.revokeUser({ sub, actor: 'test' });
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime((first.revokedBefore - 3600) * 1000);
    const second = await stub.revokeUser({ sub, actor: 'test' });
    expect(second).toMatchObject({ sub, version: 2, revokedBefore: first.revokedBefore });
    expect(await env.REVOCATIONS.get(await userKvKey(sub), 'json')).toEqual({ version: 2, revokedBefore: first.revokedBefore });
  });

  it('revoking the same token twice keeps the first entry and audits once', async () => {
    const sub = uniqueSub('twice');
    const stub = stubFor(sub);
    const input = { sub, iss: ISSUERS.inline, tokenId: 'dup', exp: now() + 300, forgetAt: now() + 330, actor: 'test' };
    const [a, b] = await Promise.all([stub.revokeToken(input), stub.revokeToken({ ...input, reason: 'again' })]);
    expect(a).toEqual(b);
    expect((await stub.state(sub)).revokedTokens).toHaveLength(1);
    expect((await stub.auditPage(10)).events).toHaveLength(1);
  });
});
