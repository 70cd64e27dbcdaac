/**
 * reference §4.1, the iat gap: a user revocation at R refuses every token with `iat` ≤ R +
 * REVOCATION_IAT_MARGIN_SECONDS (an issuer clock running ahead of ours), unless the token's
 * version claim is at least the user's new version; a token issued more than the margin + 1 s
 * after the call returned is accepted. Property-tested with an injected clock (the Durable
 * Objects read the same faked Date), through the strict and cached paths.
 */
import { env, exports } from 'cloudflare:workers';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseConfig, type RawEnv } from '../src/config/config';
import { ADMIN_KEY, BASE } from './helpers/fixtures';
import { mint, uniqueSub } from './helpers/tokens';

const MARGIN = 2; // the default; the test env does not set it
const SEED = 0x1a7;

afterEach(() => vi.useRealTimers());

async function revokeUser(sub: string): Promise<{ version: number; revokedBefore: number }> {
  const res = await exports.default.fetch(`${BASE}/v1/admin/users/${encodeURIComponent(sub)}/revoke`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${ADMIN_KEY}` },
  });
  expect(res.status).toBe(200);
  return res.json();
}

async function reasons(token: string): Promise<string[]> {
  const strict = await exports.Verifier.verify(token, { strict: true });
  const cached = await exports.Verifier.verify(token);
  return [strict, cached].map((r) => (r.active ? 'active' : r.reason));
}

describe('REVOCATION_IAT_MARGIN_SECONDS', () => {
  it('config: default 2, an integer from 0 to CLOCK_TOLERANCE_SECONDS, anything else a config error', () => {
    const base = env as unknown as RawEnv;
    expect(parseConfig(base).revocationIatMarginSeconds).toBe(2);
    expect(parseConfig({ ...base, REVOCATION_IAT_MARGIN_SECONDS: '0' }).revocationIatMarginSeconds).toBe(0);
    expect(parseConfig({ ...base, REVOCATION_IAT_MARGIN_SECONDS: '30' }).revocationIatMarginSeconds).toBe(30);
    expect(parseConfig({ ...base, CLOCK_TOLERANCE_SECONDS: '1' }).revocationIatMarginSeconds).toBe(1);
    for (const bad of ['-1', '1.5', 'two', '31']) {
      expect(() => parseConfig({ ...base, REVOCATION_IAT_MARGIN_SECONDS: bad })).toThrow(/REVOCATION_IAT_MARGIN_SECONDS/);
    }
  });

  it('property (injected clock): within the margin refused, past margin + 1 s accepted, the new version accepted within it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1_900_000_000, max: 2_000_000_000 }), // the instant of the call
        fc.integer({ min: 0, max: 999 }), // ms into that second
        fc.integer({ min: 0, max: MARGIN }), // iat - R within the margin
        fc.integer({ min: MARGIN + 1, max: MARGIN + 600 }), // iat - R past it (R is the second the call returned in)
        async (t, ms, within, past) => {
          vi.setSystemTime(t * 1000 + ms);
          const sub = uniqueSub('iat-gap');
          const { version, revokedBefore } = await revokeUser(sub);
          expect(revokedBefore).toBe(t);
          const exp = revokedBefore + 3600;
          const at = (iat: number, ver?: number) => mint('es256-1', { claims: { sub, iat, exp, ...(ver === undefined ? {} : { ver }) } });
          // The issuer's tokens are checked against our (faked) now + the 30 s tolerance.
          expect(await reasons(await at(revokedBefore + within))).toEqual(['revoked_user', 'revoked_user']);
          expect(await reasons(await at(revokedBefore + within, version - 1))).toEqual(['revoked_user', 'revoked_user']);
          expect(await reasons(await at(revokedBefore + within, version))).toEqual(
            within === 0 ? ['revoked_user', 'revoked_user'] : ['active', 'active'],
          );
          vi.setSystemTime((revokedBefore + past) * 1000);
          expect(await reasons(await at(revokedBefore + past))).toEqual(['active', 'active']);
        },
      ),
      { seed: SEED, numRuns: 15 },
    );
  }, 60_000);
});
