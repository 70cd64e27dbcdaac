// @ts-check
// 100,000 active revocation entries vs none: the same distinct-token run (ES256) against an
// empty denylist and a seeded one, target p50 ≤ 1.1× empty. The seed is KV `token:` keys
// (bench/lib/denylist.mjs), so only modes that read those are measured; a mode with its own
// storage format needs its own seeder here.
import { join } from 'node:path';
import { readManifest, seedDenylist } from './denylist.mjs';
import { MODES } from './modes.mjs';

export const DENYLIST_SIZE = 100_000;

/**
 * Starts finding (or, within the plan's seed budget, building) the seeded state directory.
 * @param {import('./run-context.mjs').Run} run
 * @param {string} cacheDir bench/.cache/denylist-100000
 * @param {string} tmp
 * @returns {Promise<{ dir: string, count: number, inRun: boolean } | undefined>}
 */
export async function prepareDenylist(run, cacheDir, tmp) {
  const cached = readManifest(cacheDir);
  if (cached) return { dir: join(cacheDir, 'state'), count: cached.count, inRun: false };
  if (run.quick) {
    run.note('quick run without the cached denylist (bench/.cache/): scale scenario skipped; `npm run bench -- --seed-denylist` builds it');
    return undefined;
  }
  const r = await seedDenylist(join(tmp, 'denylist'), DENYLIST_SIZE, { deadlineMs: Date.now() + run.plan.seedBudgetS * 1000 });
  run.note(`no cached ${DENYLIST_SIZE}-entry denylist (bench/.cache/): seeded ${r.count} entries in ${run.plan.seedBudgetS} s instead; run \`npm run bench -- --seed-denylist\` once (a few minutes) for the 100k figure`);
  return { dir: join(tmp, 'denylist', 'state'), count: r.count, inRun: true };
}

/**
 * @param {import('./run-context.mjs').Run} run
 * @param {import('./matrix.mjs').Setup} setup
 * @param {{ dir: string, count: number, inRun: boolean } | undefined} denylist
 * @param {(name: string, mode: string, persistTo: string) => Promise<import('./workers.mjs').BenchWorker>} startSeeded
 */
export async function denylistScale(run, setup, denylist, startSeeded) {
  const { results, measure, fits, runCostS, note } = run;
  const P = setup.pools.ES256;
  if (!denylist || !P) return;
  for (const mode of Object.keys(setup.ks)) {
    if (!MODES.find((m) => m.id === mode)?.kvDenylist) {
      results.scale[mode] = { notMeasured: 'the 100k seed is KV `token:` keys, which this mode does not read per check; it needs a seeder for its own storage' };
      note(`scale (${mode}): not measured (${results.scale[mode].notMeasured})`);
      continue;
    }
    if (!fits(`denylist scale (${mode})`, 2 * runCostS() + 20)) continue;
    const seeded = await startSeeded(`killswitch-denylist-${mode}`, mode, denylist.dir);
    // The mode's own Worker never saw the peers' tokens (B); the seeded one never saw C's.
    const empty = await measure(`scale ${mode}: 0 entries`, { url: `${setup.ks[mode].url}/v1/verify`, tokens: P.B, expect: 200 }, { tokens: P.warm });
    const full = await measure(`scale ${mode}: ${denylist.count} entries`, { url: `${seeded.url}/v1/verify`, tokens: P.C, expect: 200 }, { tokens: P.warm2 });
    await seeded.stop();
    results.scale[mode] = {
      alg: 'ES256', entries: denylist.count, seededInRun: denylist.inRun, empty, full,
      p50Ratio: empty.p50 && full.p50 ? Math.round((full.p50 / empty.p50) * 100) / 100 : null,
    };
  }
}
