/**
 * Bounded mode's promise (reference §4.1) as a property over random interleavings: several
 * locations — each a mirror with its own clock (±50 ms), its own cache and its own faults on
 * the way to the REAL feed replicas (delays, dropped reads) — check tokens while the real
 * writers revoke tokens, users and everything. For every interleaving:
 *   - a check that starts REVOCATION_MAX_STALENESS_MS or more after a revocation was
 *     acknowledged (2xx) refuses the token;
 *   - a token no revocation covers is never refused, and no check is `unavailable`
 *     (a location whose feed reads fail reads the writers past the bound).
 * Alone in its file: revoke-all refuses every older token in the file's storage.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { boundedEnv, checkAt, location, sleep, type Location } from './helpers/bounded';
import { call } from './helpers/faults';
import { mint, now, type SigningKey } from './helpers/tokens';

const SEED = 0x626f756e; // "boun"
const BOUND_MS = 500;
const KEYS: SigningKey[] = ['es256-1', 'HS256', 'ed-1', 'rs256-1'];

beforeEach(() => {
  vi.spyOn(console, 'log').mockImplementation(() => {});
}); // dropped reads are logged
afterEach(() => {
  vi.restoreAllMocks();
});

type Op =
  | { readonly kind: 'revokeToken'; readonly t: number }
  | { readonly kind: 'revokeUser'; readonly u: number }
  | { readonly kind: 'revokeAll' }
  | { readonly kind: 'wait'; readonly ms: number }
  | { readonly kind: 'check'; readonly at: number; readonly t: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('revokeToken' as const), t: fc.nat(3) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('revokeUser' as const), u: fc.nat(1) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('revokeAll' as const) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: BOUND_MS * 1.5 }) }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('check' as const), at: fc.nat(2), t: fc.nat(3) }), weight: 6 },
);

interface Check {
  readonly t: number;
  readonly at: number;
  readonly started: number;
  readonly outcome: string;
}

it('no check that starts bound after an acknowledged revocation accepts the token; live tokens are never refused', async () => {
  const bindings = boundedEnv({ REVOCATION_MAX_STALENESS_MS: String(BOUND_MS) });
  const locations: Location[] = [
    location({ boundMs: BOUND_MS, skewMs: 50, delayMs: 20, drop: 0.1 }),
    location({ boundMs: BOUND_MS, skewMs: -50, drop: 0.5 }),
    location({ boundMs: BOUND_MS, skewMs: 30, delayMs: 40, cache: 'missing' }),
  ];
  // A revocation at R covers iat <= R + REVOCATION_IAT_MARGIN_SECONDS (2 by default; no version claims here).
  const IAT_MARGIN = 2;
  let global = { revokedBefore: 0, ackedAt: 0 };
  let runs = 0;
  let refusedInTime = 0;

  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 3, maxLength: 10 }), async (ops) => {
      const run = `prop-${++runs}-${crypto.randomUUID()}`;
      const subs = [`${run}-0`, `${run}-1`];
      const iat = now();
      const tokens = await Promise.all(KEYS.map((key, i) => mint(key, { claims: { sub: subs[i >> 1], iat } })));
      // Issued 10 s ahead (within the 30 s tolerance): no revoke-all of this run covers it.
      const live = await mint('es256-1', { claims: { sub: `${run}-live`, iat: iat + 10 } });
      // When the first revocation covering each token was acknowledged (a revoke-all of an earlier run may already).
      const revokedAt: (number | undefined)[] = tokens.map(() => (iat <= global.revokedBefore + IAT_MARGIN ? global.ackedAt : undefined));
      const cover = (t: number, ackedAt: number) => {
        revokedAt[t] ??= ackedAt;
      };
      const checks: Check[] = [];

      for (const step of ops) {
        if (step.kind === 'wait') {
          await sleep(step.ms);
        } else if (step.kind === 'check') {
          const started = Date.now();
          checks.push({ t: step.t, at: step.at, started, outcome: await checkAt(locations[step.at]!, tokens[step.t]!, bindings) });
        } else if (step.kind === 'revokeToken') {
          const answer = await call(bindings, '/v1/revoke', {
            method: 'POST',
            admin: true,
            body: new URLSearchParams({ token: tokens[step.t]! }),
          });
          expect(answer.status).toBe(200);
          cover(step.t, Date.now());
        } else if (step.kind === 'revokeUser') {
          const answer = await call(bindings, `/v1/admin/users/${subs[step.u]}/revoke`, { method: 'POST', admin: true, body: '{}' });
          expect(answer.status).toBe(200);
          const ackedAt = Date.now();
          if (iat <= (answer.body.revokedBefore as number) + IAT_MARGIN) [step.u * 2, step.u * 2 + 1].forEach((t) => cover(t, ackedAt));
        } else {
          const answer = await call(bindings, '/v1/admin/revoke-all', { method: 'POST', admin: true, body: '{"reason":"property"}' });
          expect(answer.status).toBe(200);
          global = { revokedBefore: answer.body.revokedBefore as number, ackedAt: Date.now() };
          if (iat <= global.revokedBefore + IAT_MARGIN) tokens.forEach((_, t) => cover(t, global.ackedAt));
        }
      }
      // Then a bound later, every token at every location (and the live one).
      await sleep(BOUND_MS);
      for (let at = 0; at < locations.length; at++) {
        for (let t = -1; t < tokens.length; t++) {
          const started = Date.now();
          checks.push({ t, at, started, outcome: await checkAt(locations[at]!, t < 0 ? live : tokens[t]!, bindings) });
        }
      }

      for (const check of checks) {
        const label = `token ${check.t} at location ${check.at}, ${JSON.stringify(ops)}`;
        expect(check.outcome, label).not.toBe('unavailable');
        const acked = check.t < 0 ? undefined : revokedAt[check.t];
        if (acked === undefined) {
          expect(check.outcome, `live ${label}`).toBe('active');
        } else if (check.started >= acked + BOUND_MS) {
          expect(check.outcome, `${check.started - acked} ms after the ack: ${label}`).toMatch(/^revoked_(token|user|all)$/);
          refusedInTime++;
        }
      }
    }),
    { seed: SEED, numRuns: 14 },
  );

  // The property was exercised, not vacuous: checks landed past the bound, and some locations read strictly.
  expect(refusedInTime).toBeGreaterThan(50);
  expect(locations.reduce((n, at) => n + at.mirror.stats().feedReads, 0)).toBeGreaterThan(10);
}, 180_000);
