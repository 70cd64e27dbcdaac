/**
 * reference §4.2: `Idempotency-Key` on a user revocation is bound to the admin key's identity,
 * the user and the body. A replay answers the first result with `Idempotent-Replayed: true` and
 * is audited (`revoke_user_replay`); the same key with another body is a 422; the key is never
 * shared between admin keys, and the admin key itself is never stored.
 */
import { exports } from 'cloudflare:workers';
import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { userObjectName } from '../src/revocation/storage-keys';
import { ADMIN_KEY, ADMIN_KEY_ROTATED, BASE } from './helpers/fixtures';
import { uniqueSub } from './helpers/tokens';

function revoke(sub: string, body: unknown, idempotencyKey: string, adminKey = ADMIN_KEY, path = `/v1/admin/users/${sub}/revoke`) {
  return exports.default.fetch(`${BASE}${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${adminKey}`, 'Idempotency-Key': idempotencyKey },
    body: JSON.stringify(body),
  });
}

async function auditOf(sub: string): Promise<{ action: string; actor: string; reason?: string }[]> {
  const res = await exports.default.fetch(`${BASE}/v1/admin/audit?sub=${encodeURIComponent(sub)}`, {
    headers: { Authorization: `Bearer ${ADMIN_KEY}` },
  });
  return (await res.json<{ events: { action: string; actor: string; reason?: string }[] }>()).events;
}

describe('Idempotency-Key on a user revocation', () => {
  it('a replay answers the first result with Idempotent-Replayed: true, bumps nothing, and is audited', async () => {
    const sub = uniqueSub('idem');
    const first = await revoke(sub, { reason: 'phished' }, 'k-1');
    expect(first.status).toBe(200);
    expect(first.headers.get('Idempotent-Replayed')).toBeNull();
    const body = await first.json<{ version: number }>();
    expect(body).toMatchObject({ sub, version: 1 });

    // The body form names the same user with the same reason: the same request.
    const replay = await revoke(sub, { sub, reason: 'phished' }, 'k-1', ADMIN_KEY, '/v1/admin/users/revoke');
    expect(replay.status).toBe(200);
    expect(replay.headers.get('Idempotent-Replayed')).toBe('true');
    expect(await replay.json()).toEqual(body);

    const actions = (await auditOf(sub)).map((e) => e.action);
    expect(actions).toEqual(['revoke_user_replay', 'revoke_user']);
  });

  it('the same key with another body is a 422 JSON error, and changes nothing', async () => {
    const sub = uniqueSub('idem-body');
    expect((await revoke(sub, { reason: 'one' }, 'k-2')).status).toBe(200);
    const other = await revoke(sub, { reason: 'two' }, 'k-2');
    expect(other.status).toBe(422);
    expect(other.headers.get('Content-Type')).toMatch(/^application\/json/);
    expect(await other.json()).toEqual({ error: 'idempotency_key_reused', error_description: expect.any(String) });
    const noReason = await revoke(sub, {}, 'k-2');
    expect(noReason.status).toBe(422);
    const state = await exports.default.fetch(`${BASE}/v1/admin/users/${sub}`, { headers: { Authorization: `Bearer ${ADMIN_KEY}` } });
    expect(await state.json()).toMatchObject({ version: 1 });
  });

  it('the same key for another user, or from another admin key, is a new request (bound to the user and the admin identity)', async () => {
    const [a, b] = [uniqueSub('idem-a'), uniqueSub('idem-b')];
    expect(await (await revoke(a, {}, 'shared')).json()).toMatchObject({ version: 1 });
    const otherUser = await revoke(b, {}, 'shared');
    expect(otherUser.headers.get('Idempotent-Replayed')).toBeNull();
    expect(await otherUser.json()).toMatchObject({ sub: b, version: 1 });
    const otherAdmin = await revoke(a, {}, 'shared', ADMIN_KEY_ROTATED);
    expect(otherAdmin.headers.get('Idempotent-Replayed')).toBeNull();
    expect(await otherAdmin.json()).toMatchObject({ sub: a, version: 2 });
  });

  it('stores an identity label, never the admin key', async () => {
    const sub = uniqueSub('idem-store');
    expect((await revoke(sub, { reason: 'r' }, 'k-3')).status).toBe(200);
    const rows = await runInDurableObject(env.USER_STATE.getByName(userObjectName(sub)), (_instance, state) =>
      state.storage.sql.exec('SELECT * FROM idempotent_revocations').toArray(),
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor: expect.stringMatching(/^admin:[0-9a-f]{12}$/), key: 'k-3' });
    expect(JSON.stringify(rows)).not.toContain(ADMIN_KEY);
  });
});
