/**
 * Issue 18 "no single object on any check's path": in bounded mode neither a refusal's
 * confirmation nor a stale or over-cap mirror's fallback reads GLOBAL_STATE, the one global
 * object; the global revoke-all travels in the feed (and KV) instead.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { boundedEnv, checkAt, location, quietLogs, revokeToken, sleep } from './helpers/bounded';
import { call, counted } from './helpers/faults';
import { mint, uniqueSub } from './helpers/tokens';

quietLogs();

describe('bounded checks and the global object', () => {
  it('a mass revocation (confirmations), an unreachable feed and a mirror over its cap send no check to GLOBAL_STATE', async () => {
    const counts: Record<string, number> = {};
    const bindings = boundedEnv({ GLOBAL_STATE: counted(env.GLOBAL_STATE, counts, 'globalState') });
    const tokens = await Promise.all(Array.from({ length: 12 }, (_, i) => mint('es256-1', { claims: { sub: uniqueSub(`mass-${i}`) } })));
    for (const token of tokens) expect((await revokeToken(boundedEnv(), token)).status).toBe(200);
    const fresh = location();
    const stale = location({ drop: 1 });
    const overCap = location({ maxEntries: 0 });
    for (const at of [fresh, stale, overCap]) for (const token of tokens) expect(await checkAt(at, token, bindings)).toBe('revoked_token');
    expect(fresh.mirror.stats().confirmations).toBe(tokens.length);
    expect(stale.mirror.stats().strictReads).toBe(tokens.length);
    expect(overCap.mirror.stats().strictReads).toBe(tokens.length);
    expect(counts.globalState).toBe(0);
  });

  it('a revoke-all reaches a fallback check through the feed and KV, not the global object', async () => {
    const counts: Record<string, number> = {};
    const bindings = boundedEnv({ GLOBAL_STATE: counted(env.GLOBAL_STATE, counts, 'globalState') });
    const token = await mint('es256-1', { claims: { sub: uniqueSub('all'), iat: Math.floor(Date.now() / 1000) - 5 } });
    const fresh = location();
    expect(await checkAt(fresh, token, bindings)).toBe('active');
    const all = await call(boundedEnv(), '/v1/admin/revoke-all', {
      method: 'POST',
      admin: true,
      body: JSON.stringify({ reason: 'incident' }),
    });
    expect(all.status).toBe(200);
    await sleep(fresh.mirror.boundMs + 20); // past its bound: its next check refreshes first
    // A mirror that holds the revoke-all but is over its cap, and one the feed cannot reach (KV's copy).
    const overCap = location({ maxEntries: 0 });
    const stale = location({ drop: 1 });
    for (const at of [fresh, overCap, stale]) expect(await checkAt(at, token, bindings)).toBe('revoked_all');
    expect(counts.globalState).toBe(0);
  });
});
