// @ts-check
// One bench run's shared state: the results being filled in, its log, the time budget, and
// measure() (a warm-up, then one timed run through bench/lib/load.mjs, flagged when off).
import { combineLoads, runLoad } from './load.mjs';
/** @typedef {ReturnType<typeof import('./machine.mjs').machineInfo>} Machine */
/** @typedef {ReturnType<typeof import('./machine.mjs').gitInfo>} Git */

/** @typedef {import('./plan.mjs').Plan} Plan */
/** @typedef {Awaited<ReturnType<typeof runLoad>>} LoadResult */
/** @typedef {Parameters<typeof runLoad>[0]} LoadOptions */
/**
 * @typedef {object} Slice one scenario of an interleaved group (createRun's interleave)
 * @property {string} label
 * @property {Omit<LoadOptions, 'durationS'>} opts
 * @property {Partial<LoadOptions> | false} [warm] as for measure()
 * @property {(round: number) => { stop(): Promise<unknown> }} [during] started before each of its slices, stopped after
 */

/**
 * @param {{ plan: Plan, quick: boolean, path: 'direct' | 'proxied', machine: Machine, git: Git }} setup
 */
export function createRun({ plan, quick, path, machine, git }) {
  const t0 = Date.now();
  const results = {
    startedAt: new Date(t0).toISOString(),
    mode: quick ? 'quick' : 'full',
    /** Where the load went: each Worker's own workerd socket, or wrangler dev's proxy. */
    loadPath: path,
    machine,
    git,
    plan,
    /** @type {Record<string, { url: string, publicUrl: string }>} */
    targets: {},
    /** Revocation modes measured, and those this build does not accept (with why). */
    /** @type {string[]} */
    modes: [],
    /** @type {Record<string, string>} */
    modesUnavailable: {},
    /** scenarios[alg] = { A, B: { peer: run }, [mode]: { C, D, F, G } } */
    /** @type {Record<string, any>} */
    scenarios: {},
    /** @type {Record<string, any>} */
    ratios: {},
    /** @type {Record<string, any>} */
    scale: {},
    /** @type {Record<string, any>} */
    userRevoke: {},
    /** @type {Record<string, any>} */
    revokeApi: {},
    /** @type {Record<string, any>} */
    firstRefusal: {},
    /** Shared Signals push (CAEP session-revoked) → first refusal, bounded mode (bench/lib/ssf-push.mjs). */
    /** @type {Record<string, any>} */
    pushFirstRefusal: {},
    /** @type {Record<string, any>} */
    stateReads: {},
    /** The Zipf mix with revocations meanwhile, killswitch bounded vs the fastest peer (bench/lib/real-traffic.mjs). */
    /** @type {Record<string, any> | undefined} */
    realTraffic: undefined,
    /** Forged refresh tokens at POST /v1/token (cached mode): throughput and Durable Object calls. */
    /** @type {Record<string, any> | undefined} */
    forgedRefresh: undefined,
    /** @type {string[]} */
    notes: [],
    /** @type {string[]} */
    warnings: [],
    /** @type {string[]} */
    skipped: [],
    logOutputLines: 0,
    finishedAt: '',
    totalSeconds: 0,
    /** @type {string | undefined} */
    error: undefined,
    table: '',
    summary: '',
  };
  const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
  /** @param {...unknown} m */
  const log = (...m) => console.log(`[bench ${elapsed()}]`, ...m);
  /** @param {string} m */
  const note = (m) => {
    results.notes.push(m);
    log(`note: ${m}`);
  };
  /** @param {string} m */
  const warn = (m) => {
    results.warnings.push(m);
    log(`WARNING: ${m}`);
  };
  const remainingS = () => plan.budgetS - (Date.now() - t0) / 1000;
  /** Seconds one measure() takes, with its warm-up and the gaps around it. */
  const runCostS = () => plan.durationS + plan.warmupS + (quick ? 0.3 : 0.6);
  /**
   * True when `seconds` still fit in the budget; otherwise records `what` as skipped.
   * @param {string} what
   * @param {number} seconds
   */
  const fits = (what, seconds) => {
    if (remainingS() >= seconds) return true;
    results.skipped.push(what);
    log(`skipped (time budget ${plan.budgetS} s): ${what}`);
    return false;
  };

  /**
   * Logs one scenario's result, flagged (and warned) when off.
   * @param {string} label
   * @param {LoadResult} r
   * @param {string} [how] e.g. "2 rounds"
   */
  const report = (label, r, how) => {
    const flags = [];
    if (r.unexpected > 0) flags.push(`${r.unexpected} unexpected status (${JSON.stringify(r.statuses)})`);
    if (r.errors > 0 || r.timeouts > 0) flags.push(`${r.errors} errors, ${r.timeouts} timeouts`);
    if (r.poolExhausted) flags.push('token pool used up before the time bound');
    const cpu = r.cpuUsPerRequest === undefined ? '' : `  ${r.cpuUsPerRequest} µs CPU/req`;
    log(
      `${label.padEnd(36)} ${String(r.rps).padStart(6)} req/s  p50 ${r.p50} ms  p99 ${r.p99} ms  (${r.requests} req${how ? `, ${how}` : ''})${cpu}${flags.length ? `  ! ${flags.join('; ')}` : ''}`,
    );
    if (r.unexpected > 0 || r.errors > 0) warn(`${label}: ${flags.join('; ')}`);
    return r;
  };

  /**
   * A warm-up (unless `warm` is false; `warm` overrides options for it), then the timed run.
   * @param {string} label
   * @param {Omit<LoadOptions, 'durationS'>} opts
   * @param {Partial<LoadOptions> | false} [warm]
   * @returns {Promise<LoadResult>}
   */
  const measure = async (label, opts, warm) => {
    if (warm !== false) {
      await runLoad({ connections: plan.connections, ...opts, ...(warm ?? {}), cpuPid: undefined, durationS: plan.warmupS });
    }
    return report(label, await runLoad({ connections: plan.connections, durationS: plan.durationS, ...opts }));
  };

  /**
   * The scenarios that ratios compare, measured in `plan.rounds` rounds of slices of
   * durationS / rounds each, taking turns, the order reversed every other round (A B C, C B A,
   * …): both sides of a ratio see the same machine, minutes of drift apart no longer enter it.
   * A scenario's warm-up runs before its first slice; a pool of distinct tokens (not `wrap`) is
   * cut into one part per round, so no token is sent twice; a `wrap` sequence goes on where the
   * last run on the same URL stopped. Each result is the slices combined.
   * @param {Slice[]} slices
   * @returns {Promise<{ results: LoadResult[], during: unknown[][] }>} `during`: what each slice's `during` stop() answered
   */
  const interleave = async (slices) => {
    const n = plan.rounds;
    /** @type {LoadResult[][]} */
    const parts = slices.map(() => []);
    /** @type {unknown[][]} */
    const during = slices.map(() => []);
    // A repeated sequence (`wrap`, the real-traffic draws) goes on, per URL, where the last run on
    // that URL stopped, instead of replaying its start: a token cache must not see the same head of
    // the sequence in every slice.
    /** @type {Map<string, number>} */
    const cursor = new Map();
    /** @param {Omit<LoadOptions, 'durationS'>} opts @param {number} round -1: the warm-up (its tokens whole) @param {number} durationS */
    const load = async (opts, round, durationS) => {
      /** @type {Partial<LoadOptions>} */
      let tokens = {};
      let at = 0;
      if (opts.tokens && opts.wrap) {
        at = (cursor.get(opts.url) ?? 0) % opts.tokens.length;
        tokens = { tokens: [...opts.tokens.slice(at), ...opts.tokens.slice(0, at)] };
      } else if (opts.tokens && round >= 0) tokens = { tokens: cut(opts.tokens, round, n) };
      const r = await runLoad({ connections: plan.connections, ...opts, ...tokens, durationS });
      if (opts.wrap) cursor.set(opts.url, at + r.requests);
      return r;
    };
    for (let round = 0; round < n; round++) {
      const order = slices.map((_, i) => i);
      if (round % 2 === 1) order.reverse();
      for (const i of order) {
        const { opts, warm } = slices[i];
        if (round === 0 && warm !== false) await load({ ...opts, ...(warm ?? {}), cpuPid: undefined }, -1, plan.warmupS);
        const side = slices[i].during?.(round);
        parts[i].push(await load(opts, round, plan.durationS / n));
        if (side) during[i].push(await side.stop());
      }
    }
    return { results: slices.map((s, i) => report(s.label, combineLoads(parts[i]), `${n} interleaved rounds`)), during };
  };

  return { t0, plan, quick, results, log, note, warn, remainingS, runCostS, fits, measure, interleave };
}

/**
 * The `round`-th of `n` equal parts of `items`.
 * @template T
 * @param {T[]} items
 * @param {number} round
 * @param {number} n
 * @returns {T[]}
 */
export function cut(items, round, n) {
  const size = Math.ceil(items.length / n);
  return items.slice(round * size, (round + 1) * size);
}

/** @typedef {ReturnType<typeof createRun>} Run */
