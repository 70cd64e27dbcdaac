// @ts-check
// Storage calls per revocation mode, counted inside the isolate by the wrapper in
// bench/ks-counting (one counting Worker per mode): forged tokens must cause none, and under
// load with valid tokens the calls per second and per check show what each mode reads — KV
// per check in cached mode, the user's Durable Object in strict mode, the feed in bounded mode.
import { runLoad } from './load.mjs';
import { bearer, getJson } from './http.mjs';
import { forge } from './tokens.mjs';

/** The counting wrapper's key for calls on the feed's Durable Object stubs (bench/ks-counting). */
const FEED_STUB = 'REVOCATION_FEED:stub';

/**
 * Numeric fields of GET /v1/admin/stats whose name mentions the feed (a counter a build with
 * bounded mode may expose), as "path → value".
 * @param {unknown} stats
 * @param {string} [at]
 * @returns {Record<string, number>}
 */
export function feedCounters(stats, at = '') {
  /** @type {Record<string, number>} */
  const out = {};
  if (stats === null || typeof stats !== 'object') return out;
  for (const [k, v] of Object.entries(stats)) {
    const path = at ? `${at}.${k}` : k;
    if (typeof v === 'number' && /feed/i.test(path)) out[path] = v;
    else Object.assign(out, feedCounters(v, path));
  }
  return out;
}

/**
 * @param {import('./run-context.mjs').Run} run
 * @param {import('./matrix.mjs').Setup} setup
 * @param {Record<string, import('./workers.mjs').BenchWorker>} counting per mode
 */
export async function stateReads(run, setup, counting) {
  const { plan, fits, warn, note } = run;
  if (!setup.pools.ES256) return;
  let feedCounterSeen = false;
  for (const [mode, worker] of Object.entries(counting)) {
    if (!fits(`state reads (${mode})`, plan.readsLoadS + 8)) continue;
    try {
      feedCounterSeen = (await countMode(run, setup, mode, worker)) || feedCounterSeen;
    } catch (error) {
      warn(
        `state reads (${mode}) failed: ${error instanceof Error ? `${error.message} ${error.cause ?? ''}` : error}\n${worker.output().slice(-1500)}`,
      );
    }
  }
  if (!feedCounterSeen)
    note(
      'this build exposes no feed-read counter in GET /v1/admin/stats: feed reads are counted only at the binding level (bench/ks-counting)',
    );
}

/**
 * One mode: forged tokens, then valid ones under load. True when the build has a feed counter.
 * @param {import('./run-context.mjs').Run} run
 * @param {import('./matrix.mjs').Setup} setup
 * @param {string} mode
 * @param {import('./workers.mjs').BenchWorker} worker
 */
async function countMode(run, setup, mode, worker) {
  const { results, plan, log, warn } = run;
  const P = /** @type {import('./pools.mjs').Pools} */ (setup.pools.ES256);
  const reset = () => fetch(`${worker.url}/__bench/reset`).then((r) => r.text());
  /** @returns {Promise<{ counts: Record<string, number>, requests: number }>} */
  const reads = async () => getJson(`${worker.url}/__bench/reads`);
  const total = (/** @type {Record<string, number>} */ c) => Object.values(c).reduce((s, x) => s + x, 0);
  await reset();
  const g = await runLoad({
    url: `${worker.url}/v1/verify`,
    connections: 10,
    durationS: 10,
    tokens: setup.checkTokens.ES256.slice(100).map(forge),
    maxRequests: 90,
    expect: 401,
  });
  const { counts: forged } = await reads();
  const statsBefore = feedCounters(await getJson(`${worker.url}/v1/admin/stats`, { headers: bearer(setup.adminKey) }));
  await reset();
  const v = await runLoad({ url: `${worker.url}/v1/verify`, connections: 50, durationS: plan.readsLoadS, tokens: P.C, expect: 200 });
  const { counts: valid, requests: entered } = await reads();
  const statsAfter = feedCounters(await getJson(`${worker.url}/v1/admin/stats`, { headers: bearer(setup.adminKey) }));
  const perSecond = Object.fromEntries(Object.entries(valid).map(([k, n]) => [k, Math.round((n / v.seconds) * 10) / 10]));
  // Per request the isolate began: calls made by requests autocannon dropped at the end count too.
  const perCheck = Object.fromEntries(Object.entries(valid).map(([k, n]) => [k, Math.round((n / Math.max(1, entered)) * 100) / 100]));
  const feedPerSecond = Object.fromEntries(
    Object.entries(statsAfter).map(([k, n]) => [k, Math.round(((n - (statsBefore[k] ?? 0)) / v.seconds) * 10) / 10]),
  );
  // Feed reads: RPC calls on the feed's replica stubs (checks append nothing; `REVOCATION_FEED`
  // alone counts getByName, which makes a stub and sends nothing).
  const feedCalls = valid[FEED_STUB] ?? 0;
  const feedReads =
    mode === 'bounded'
      ? {
          perSecond: Math.round((feedCalls / v.seconds) * 10) / 10,
          perCheck: Math.round((feedCalls / Math.max(1, entered)) * 10_000) / 10_000,
          checksPerFeedRead: feedCalls > 0 ? Math.round(entered / feedCalls) : null,
          counted: `${FEED_STUB} calls`,
        }
      : undefined;
  results.stateReads[mode] = {
    forged: { requests: g.requests, refused401: g.statuses[401] ?? 0, calls: forged },
    underLoad: {
      requests: v.requests,
      entered,
      seconds: v.seconds,
      rps: v.rps,
      accepted200: v.statuses[200] ?? 0,
      calls: valid,
      perSecond,
      perCheck,
      feedReads,
      feedCounterPerSecond: feedPerSecond,
    },
    how: 'src/index.ts behind bench/ks-counting/worker.mjs: calls on every KV and Durable Object binding (and on the stubs they hand out, `NAME:stub`) and Cache API matches (`cache`), in one isolate',
  };
  log(
    `state reads (${mode}): ${g.requests} forged → ${total(forged)} calls; under load ${v.rps} req/s (valid) → ${
      Object.entries(perSecond)
        .map(([k, n]) => `${k} ${n}/s (${perCheck[k]}/check)`)
        .join(', ') || 'no storage calls'
    }${feedReads ? `; feed reads ${feedReads.perSecond}/s, ${feedReads.perCheck} per check` : ''}`,
  );
  if (total(forged) !== 0) warn(`${mode}: forged tokens caused ${total(forged)} storage calls (target 0): ${JSON.stringify(forged)}`);
  return Object.keys(statsAfter).length > 0;
}
