// @ts-check
// Token pools per algorithm, cut into disjoint slices so that no Worker isolate sees a token
// twice where a run needs distinct tokens (a verified-signature cache cannot flatter it).
// Each revocation mode runs in its own Worker (its own isolate), so the slices are reused
// across modes; the peers' slice (B) also serves the empty-denylist scale run.
import { randomUUID } from 'node:crypto';
import { forge, makePool } from './tokens.mjs';

/**
 * Pool sizes follow the fastest rate a run can reach: the ceiling (A) just measured, with
 * margin and a floor (on a busy machine one A sample can be far below the next run).
 * BENCH_MAX_RPS=<n> fixes it instead. A run that uses up its slice stops early and is flagged.
 * @param {import('./plan.mjs').Plan} plan
 * @param {boolean} quick
 */
export function poolSizer(plan, quick) {
  const fixed = Number(process.env.BENCH_MAX_RPS ?? 0);
  let maxRps = fixed;
  return {
    /** @param {number} ceilingRps */
    fromCeiling(ceilingRps) {
      if (!fixed) maxRps = Math.ceil(Math.max(ceilingRps * 1.5 + 100, quick ? 600 : 1000));
    },
    maxRps: () => maxRps,
    slice: () => Math.ceil(maxRps * (plan.durationS + plan.warmupS) * 1.1),
    warmSlice: () => Math.ceil(maxRps * plan.warmupS * 1.2) + plan.connections,
  };
}

/**
 * @param {any} key a bench key (bench/lib/tokens.mjs makeKeys)
 * @param {{ warm: number, slice: number, revoke: number }} sizes
 * @param {string[]} check 200 tokens for sanity checks and the repeated-token runs
 */
export async function buildPools(key, sizes, check) {
  const need = 2 * sizes.warm + 2 * sizes.slice + sizes.revoke;
  const all = await makePool(key, need);
  let at = 0;
  /** @param {number} n */
  const take = (n) => {
    const s = all.slice(at, at + n);
    at += n;
    return s;
  };
  const pools = {
    warm: take(sizes.warm),
    warm2: take(sizes.warm),
    B: take(sizes.slice),
    C: take(sizes.slice),
    F: take(sizes.revoke),
    check,
  };
  // Forged: distinct header.payload (new jti), a signature of the right length but wrong.
  const [header, payload, signature] = all[0].split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
  const forged = Array.from({ length: sizes.slice + sizes.warm }, (_, i) => {
    const body = Buffer.from(JSON.stringify({ ...claims, jti: randomUUID(), sub: `forger-${i % 1000}` })).toString('base64url');
    return forge(`${header}.${body}.${signature}`);
  });
  return { ...pools, forgedWarm: forged.slice(0, sizes.warm), forged: forged.slice(sizes.warm), signed: need };
}

/** @typedef {Awaited<ReturnType<typeof buildPools>>} Pools */
