// @ts-check
// The bench's command line and plan: how long each run is, which scenarios run for which
// algorithms, and the time budget that skips (and lists) what would not fit.
import { commandLine } from '../../scripts/lib/command-line.mjs';
import { ALGS } from './tokens.mjs';

const USAGE = `usage: npm run bench [-- --quick] [-- --proxied] [-- --ref <git-ref>] [-- --seed-denylist]
  (no flag)        full run, ≤ 9 minutes; load goes straight to each Worker's own workerd socket
  --quick          shorter runs and fewer scenarios, ≤ 90 s
  --proxied        send the load through wrangler dev's public port (its proxy workerd) instead
  --ref <git-ref>  measure killswitch at that commit (git archive) instead of the work tree
  --seed-denylist  only (re)build the cached 100,000-entry denylist in bench/.cache/ (a few minutes)
  env BENCH_BUDGET_S=<s> another time budget; BENCH_MAX_RPS=<n> size token pools for n req/s`;

/**
 * @typedef {object} Plan
 * @property {number} budgetS the whole run's time bound; a section that would not fit is skipped
 * @property {number} durationS one measured scenario (split into `rounds` interleaved slices where a ratio compares it)
 * @property {number} rounds the interleaved rounds of the scenarios a ratio compares (bench/lib/run-context.mjs interleave)
 * @property {number} warmupS the warm-up before it
 * @property {number} connections autocannon connections
 * @property {number} revokePool tokens revoked beforehand for scenario F, per algorithm
 * @property {number} userRevokes user revocations (one sub N times, then N subs)
 * @property {number} refusalSamples revoke → first refusal samples per mode
 * @property {string[]} revokedAlgs algorithms with scenario F
 * @property {string[]} logAlgs algorithms with the LOG_ACCEPTED=true runs
 * @property {number} readsLoadS seconds of load for the storage-read counts per mode
 * @property {number} seedBudgetS seconds for an in-run denylist seed when none is cached
 */

/** @type {Plan} */
const QUICK_PLAN = {
  budgetS: 85,
  durationS: 1,
  rounds: 2,
  warmupS: 0.15,
  connections: 50,
  revokePool: 100,
  userRevokes: 200,
  refusalSamples: 5,
  revokedAlgs: ['ES256'],
  logAlgs: ['ES256'],
  readsLoadS: 1,
  seedBudgetS: 5,
};
/** @type {Plan} */
const FULL_PLAN = {
  budgetS: 540,
  durationS: 3,
  rounds: 2,
  warmupS: 0.4,
  connections: 50,
  revokePool: 200,
  userRevokes: 1000,
  refusalSamples: 20,
  revokedAlgs: ALGS,
  logAlgs: ALGS,
  readsLoadS: 5,
  seedBudgetS: 30,
};

/**
 * @returns {{ quick: boolean, proxied: boolean, ref: string | undefined, seedDenylist: boolean, plan: Plan }}
 */
export function readCommandLine() {
  const { values } = commandLine(USAGE, {
    quick: { type: 'boolean', default: false },
    proxied: { type: 'boolean', default: false },
    'seed-denylist': { type: 'boolean', default: false },
    ref: { type: 'string' },
  });
  const quick = Boolean(values.quick);
  return {
    quick,
    proxied: Boolean(values.proxied),
    ref: typeof values.ref === 'string' ? values.ref : undefined,
    seedDenylist: Boolean(values['seed-denylist']),
    // BENCH_BUDGET_S=<s>: another time budget (e.g. to let a --quick run reach every section on a busy machine).
    plan: { ...(quick ? QUICK_PLAN : FULL_PLAN), ...(process.env.BENCH_BUDGET_S ? { budgetS: Number(process.env.BENCH_BUDGET_S) } : {}) },
  };
}
