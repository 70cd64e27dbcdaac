/**
 * The short soak in CI (issue 7, item 2): `scripts/soak.mjs` for 15 s against a real
 * `wrangler dev` — verifies (cached and strict), token and user revokes, sessions, refreshes and
 * refresh replays at once — with zero invariant violations and zero 5xx. The long run is
 * `npm run soak` (60 s by default).
 */
import { describe, expect, it } from 'vitest';
import { formatSummary, runSoak } from '../../scripts/soak.mjs';

describe('soak (short)', () => {
  it('15 s of mixed load: no revoked token accepted, no replay accepted, no 5xx, memory stable', async () => {
    const summary = await runSoak({ seconds: 15, concurrency: 24, users: 24 });
    // The whole report on failure: which invariant, which request, the RSS samples.
    const report = formatSummary(summary);
    expect(summary.violationsByKind, report).toEqual({});
    expect(summary.violations, report).toBe(0);
    expect(summary.fiveXX, report).toBe(0);
    // It did exercise what it claims to: refusals after acknowledged revocations, and acceptances.
    expect(summary.checks.refusedAsExpected, report).toBeGreaterThan(0);
    expect(summary.checks.acceptedAsExpected, report).toBeGreaterThan(0);
    expect(summary.requests.kinds['revoke-user']?.requests ?? 0, report).toBeGreaterThan(0);
    expect(summary.requests.kinds['refresh-replay']?.requests ?? 0, report).toBeGreaterThan(0);
    expect(summary.ok, report).toBe(true);
  });
});
