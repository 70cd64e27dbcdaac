// @ts-check
// 100,000 active revocation entries vs none: the same distinct-token run (ES256) against an
// empty Worker and a seeded one, target p50 ≤ 1.1× empty. Each mode is seeded in its own
// storage format (bench/lib/modes.mjs `scaleSeed`): cached reads KV `token:` keys per check
// (bench/lib/denylist.mjs, slow to write, so cached in bench/.cache/); bounded answers from its
// mirror, loaded from the feed's KV snapshot (bench/lib/feed-snapshot-seed.mjs, seconds, so
// written in every run); strict reads one user's Durable Object whatever the count: not seeded.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readManifest, seedDenylist } from './denylist.mjs';
import { seedFeedSnapshot } from './feed-snapshot-seed.mjs';
import { bearer, getJson } from './http.mjs';
import { runLoad } from './load.mjs';
import { MODES } from './modes.mjs';

export const DENYLIST_SIZE = 100_000;
/** Bounded mode's seeded entries (a tenth users, the rest tokens). */
export const FEED_SNAPSHOT_SIZE = 100_000;

/**
 * A process's resident set in MiB (Linux /proc), or undefined.
 * @param {number | undefined} pid
 */
function residentMiB(pid) {
  try {
    const kb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    return pid !== undefined && Number.isFinite(kb) ? Math.round(kb / 1024) : undefined;
  } catch {
    return undefined;
  }
}

/** @typedef {{ dir: string, count: number, inRun: boolean, seedMs?: number, users?: number, tokens?: number, bytes?: number }} Seed */

/**
 * Starts finding (or, within the plan's seed budget, building) the seeded denylist directory.
 * @param {import('./run-context.mjs').Run} run
 * @param {string} cacheDir bench/.cache/denylist-100000
 * @param {string} tmp
 * @returns {Promise<Seed | undefined>}
 */
export async function prepareDenylist(run, cacheDir, tmp) {
  const cached = readManifest(cacheDir);
  if (cached) return { dir: join(cacheDir, 'state'), count: cached.count, inRun: false };
  if (run.quick) {
    run.note(
      'quick run without the cached denylist (bench/.cache/): cached-mode scale scenario skipped; `npm run bench -- --seed-denylist` builds it',
    );
    return undefined;
  }
  const r = await seedDenylist(join(tmp, 'denylist'), DENYLIST_SIZE, { deadlineMs: Date.now() + run.plan.seedBudgetS * 1000 });
  run.note(
    `no cached ${DENYLIST_SIZE}-entry denylist (bench/.cache/): seeded ${r.count} entries in ${run.plan.seedBudgetS} s instead; run \`npm run bench -- --seed-denylist\` once (a few minutes) for the 100k figure`,
  );
  return { dir: join(tmp, 'denylist', 'state'), count: r.count, inRun: true };
}

/**
 * Bounded mode's seed: the feed snapshot, written in this run.
 * @param {string} tmp
 * @returns {Promise<Seed>}
 */
export async function prepareFeedSnapshot(tmp) {
  const r = await seedFeedSnapshot(join(tmp, 'feed-snapshot'), FEED_SNAPSHOT_SIZE);
  return { dir: r.dir, count: r.count, inRun: true, seedMs: r.ms, users: r.users, tokens: r.tokens, bytes: r.bytes };
}

/**
 * @param {import('./run-context.mjs').Run} run
 * @param {import('./matrix.mjs').Setup} setup
 * @param {Record<string, Promise<Seed | undefined> | undefined>} seeds by MODES' `scaleSeed`
 * @param {(name: string, mode: string, persistTo: string) => Promise<import('./workers.mjs').BenchWorker>} startSeeded
 */
export async function scale(run, setup, seeds, startSeeded) {
  const { results, measure, fits, runCostS, note, log } = run;
  const P = setup.pools.ES256;
  if (!P) return;
  for (const mode of Object.keys(setup.ks)) {
    const how = MODES.find((m) => m.id === mode)?.scaleSeed;
    if (how === undefined) {
      results.scale[mode] = { notMeasured: "each check reads one user's Durable Object, whatever the number of entries" };
      note(`scale (${mode}): not measured (${results.scale[mode].notMeasured})`);
      continue;
    }
    const seed = await seeds[how];
    if (!seed || !fits(`scale (${mode})`, 2 * runCostS() + 20)) continue;
    const seeded = await startSeeded(`killswitch-scale-${mode}`, mode, seed.dir);
    // A cold isolate's first check: in bounded mode it loads the mirror from the snapshot.
    const t = performance.now();
    const first = await fetch(`${seeded.url}/v1/verify`, { headers: bearer(P.check[0]) });
    await first.arrayBuffer();
    const firstCheckMs = Math.round(performance.now() - t);
    // The mode's own Worker never saw the peers' tokens (B); the seeded one never saw C's.
    const empty = await measure(
      `scale ${mode}: 0 entries`,
      { url: `${setup.ks[mode].url}/v1/verify`, tokens: P.B, expect: 200 },
      { tokens: P.warm },
    );
    // The seeded Worker has just started while the mode's own one ran every scenario: one more
    // warm-up (with the tokens the empty run warmed the other isolate with) before its own.
    await runLoad({ url: `${seeded.url}/v1/verify`, tokens: P.warm, connections: run.plan.connections, durationS: run.plan.warmupS });
    const full = await measure(
      `scale ${mode}: ${seed.count} entries`,
      { url: `${seeded.url}/v1/verify`, tokens: P.C, expect: 200 },
      { tokens: P.warm2 },
    );
    const mirror = (await getJson(`${seeded.url}/v1/admin/stats`, { headers: bearer(setup.adminKey) }).catch(() => undefined))?.mirror;
    // The isolate's memory is not observable; its workerd's resident set is, next to the empty Worker's.
    const rssMiB = { empty: residentMiB(setup.ks[mode].workerdPid), full: residentMiB(seeded.workerdPid) };
    await seeded.stop();
    results.scale[mode] = {
      alg: 'ES256',
      seed: how,
      entries: seed.count,
      seededInRun: seed.inRun,
      seedMs: seed.seedMs,
      firstCheckStatus: first.status,
      firstCheckMs,
      empty,
      full,
      p50Ratio: empty.p50 && full.p50 ? Math.round((full.p50 / empty.p50) * 100) / 100 : null,
      workerdRssMiB: rssMiB,
      ...(mirror
        ? {
            mirror: {
              users: mirror.users,
              tokens: mirror.tokens,
              tableBytes: mirror.tableBytes,
              snapshotLoads: mirror.snapshotLoads,
              strictReads: mirror.strictReads,
            },
          }
        : {}),
    };
    if (mirror)
      log(
        `scale (${mode}): the mirror holds ${mirror.users} users + ${mirror.tokens} tokens in ${mirror.tableBytes} bytes of tables; first (cold) check ${firstCheckMs} ms`,
      );
  }
}
