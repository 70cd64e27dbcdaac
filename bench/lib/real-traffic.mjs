// @ts-check
// The real-traffic mix (issue 20): ES256 tokens drawn from a Zipf distribution over a few
// thousand live tokens (a client reuses its token for minutes, and a few clients make most of
// the calls), while revocations arrive at a steady rate. killswitch (bounded mode, the full
// check) against the fastest verify-only peer on the same draws. Target: ≥ 2× the peer, since
// killswitch does not verify a signature it has verified before and a peer verifies every time.
import { bearer } from './http.mjs';
import { PEERS } from './matrix.mjs';
import { aboveCeiling } from './load.mjs';
import { cut } from './run-context.mjs';
import { makePool } from './tokens.mjs';
import { mulberry32 } from '../../scripts/lib/mulberry32.mjs';

/**
 * @typedef {object} MixSettings
 * @property {number} liveTokens distinct tokens in use
 * @property {number} users their distinct `sub`s
 * @property {number} exponent Zipf's s: the k-th most used token is drawn ∝ 1/k^s
 * @property {number} draws the length of the request sequence (repeated if a run outlasts it)
 * @property {number} revocationsPerS revocations (`POST /v1/revoke`) sent while killswitch is measured
 */

/** @type {MixSettings} */
export const FULL_MIX = { liveTokens: 3000, users: 1000, exponent: 1, draws: 200_000, revocationsPerS: 20 };
/** @type {MixSettings} */
export const QUICK_MIX = { liveTokens: 1000, users: 400, exponent: 1, draws: 50_000, revocationsPerS: 20 };

/**
 * `count` indexes into `n` items, the k-th (0-based) drawn with probability ∝ 1/(k+1)^s
 * (inverse CDF by binary search).
 * @param {number} n
 * @param {number} count
 * @param {{ exponent?: number, seed?: number }} [options]
 * @returns {number[]}
 */
export function zipfDraws(n, count, { exponent = 1, seed = 1 } = {}) {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) cdf[k] = sum += 1 / (k + 1) ** exponent;
  const random = mulberry32(seed);
  const out = new Array(count);
  for (let i = 0; i < count; i++) {
    const u = random() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    out[i] = lo;
  }
  return out;
}

/**
 * Sends `POST /v1/revoke` for the tokens of `tokens`, one after another at `perS` per second on
 * the clock (a late call does not shift the next ones), until stop(); stop() waits for the calls
 * in flight and says what they answered.
 * @param {string} base
 * @param {string} adminKey
 * @param {string[]} tokens
 * @param {number} perS
 */
export function steadyRevocations(base, adminKey, tokens, perS) {
  const started = Date.now();
  /** @type {Record<string, number>} */
  const statuses = {};
  /** @type {Promise<void>[]} */
  const inFlight = [];
  let sent = 0;
  const tick = () => {
    const due = Math.min(tokens.length, Math.floor(((Date.now() - started) / 1000) * perS) + 1);
    for (; sent < due; sent++) {
      const call = fetch(`${base}/v1/revoke`, {
        method: 'POST',
        headers: { ...bearer(adminKey), 'content-type': 'application/x-www-form-urlencoded' },
        body: `token=${tokens[sent]}`,
      }).then(
        async (res) => {
          await res.arrayBuffer();
          statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        },
        (/** @type {unknown} */ error) => {
          const why = error instanceof Error ? error.message : String(error);
          statuses[why] = (statuses[why] ?? 0) + 1;
        },
      );
      inFlight.push(call);
    }
  };
  tick();
  const timer = setInterval(tick, Math.max(5, Math.floor(1000 / perS / 2)));
  return {
    async stop() {
      clearInterval(timer);
      const seconds = (Date.now() - started) / 1000;
      await Promise.all(inFlight);
      return {
        sent,
        seconds: Math.round(seconds * 10) / 10,
        perS: Math.round((sent / seconds) * 10) / 10,
        statuses,
        poolUsedUp: sent >= tokens.length,
      };
    },
  };
}

/**
 * @param {import('./run-context.mjs').Run} run
 * @param {import('./matrix.mjs').Setup} setup
 */
export async function realTraffic(run, setup) {
  const { results, plan, quick, fits, runCostS, interleave, log, warn } = run;
  const worker = setup.ks.bounded;
  if (!worker) {
    results.realTraffic = { notMeasured: 'bounded mode is not available in this build' };
    return;
  }
  if (!fits('real traffic (Zipf mix + revocations)', 5 * runCostS() + (quick ? 3 : 10))) return;
  const mix = quick ? QUICK_MIX : FULL_MIX;
  const measured = results.scenarios.ES256?.B ?? {};
  // The fastest peer of the matrix's ES256 runs (hono/jwt in the quiet runs so far, its default).
  const [peerId] = /** @type {[string, any][]} */ (Object.entries(measured)).sort((a, b) => b[1].rps - a[1].rps)[0] ?? ['hono-jwt'];
  const peer = PEERS.find((p) => p.id === peerId) ?? PEERS[0];
  const t = Date.now();
  const key = setup.keys.ES256;
  const live = await makePool(key, mix.liveTokens, { subPrefix: 'live', users: mix.users });
  // Revoked: other live users' tokens, so every drawn token stays valid (200 on both sides) while
  // the mirror takes a steady stream of changes; one part per round.
  const perSlice = Math.ceil(mix.revocationsPerS * (plan.durationS / plan.rounds + 1)) + 5;
  const leaving = await makePool(key, perSlice * plan.rounds, { subPrefix: 'leaving' });
  const order = zipfDraws(live.length, mix.draws, { exponent: mix.exponent }).map((i) => live[i]);
  log(
    `real traffic: ${live.length} live ES256 tokens, ${order.length} Zipf draws (s=${mix.exponent}), ${leaving.length} to revoke (${Date.now() - t} ms)`,
  );

  // Interleaved: the ceilings of both Workers, killswitch without revocations (the check alone),
  // with them (under `wrangler dev` the writers, a new user's SQLite-backed Durable Object per
  // revocation, KV, the feed, run in the checking Worker's own workerd, on the same two cores; on
  // Cloudflare they run elsewhere), and the peer on the same draws.
  const verify = { url: `${worker.url}/v1/verify`, tokens: order, wrap: true, expect: 200, cpuPid: worker.workerdPid };
  const {
    results: [ceiling, peerCeiling, quiet, ks, other],
    during,
  } = await interleave([
    { label: 'real traffic, killswitch /healthz', opts: { url: `${worker.url}/healthz`, expect: 200, cpuPid: worker.workerdPid } },
    { label: 'real traffic, peers /healthz', opts: { url: `${setup.peers.url}/healthz`, expect: 200, cpuPid: setup.peers.workerdPid } },
    { label: 'real traffic, killswitch bounded (no revocations)', opts: verify },
    {
      label: `real traffic, killswitch bounded (${mix.revocationsPerS} revocations/s)`,
      opts: verify,
      warm: false,
      during: (round) => steadyRevocations(worker.url, setup.adminKey, cut(leaving, round, plan.rounds), mix.revocationsPerS),
    },
    {
      label: `real traffic, ${peer.label}`,
      opts: { url: `${setup.peers.url}/${peer.id}/ES256`, tokens: order, wrap: true, expect: 200, cpuPid: setup.peers.workerdPid },
    },
  ]);
  const revoked = combineRevocations(/** @type {Revocations[]} */ (during[3]));
  const ratio = other.rps > 0 ? Math.round((ks.rps / other.rps) * 100) / 100 : null;
  if ((revoked.statuses[200] ?? 0) !== revoked.sent)
    warn(`real traffic: revocations answered ${JSON.stringify(revoked.statuses)} of ${revoked.sent}`);
  const quietRatio = other.rps > 0 ? Math.round((quiet.rps / other.rps) * 100) / 100 : null;
  results.realTraffic = {
    mix,
    peer: peer.id,
    ceiling,
    peerCeiling,
    killswitch: ks,
    killswitchNoRevocations: quiet,
    peerRun: other,
    ratio,
    quietRatio,
    cpu: {
      aboveCeiling: aboveCeiling(other, quiet, ceiling),
      aboveCeilingWithRevocations: aboveCeiling(other, ks, ceiling),
    },
    target: 2,
    revocations: revoked,
  };
}

/** @typedef {Awaited<ReturnType<ReturnType<typeof steadyRevocations>['stop']>>} Revocations */

/**
 * The revocations of every slice as one.
 * @param {Revocations[]} parts
 * @returns {Revocations}
 */
function combineRevocations(parts) {
  /** @type {Record<string, number>} */
  const statuses = {};
  for (const p of parts) for (const [k, n] of Object.entries(p.statuses)) statuses[k] = (statuses[k] ?? 0) + n;
  const sent = parts.reduce((a, p) => a + p.sent, 0);
  const seconds = parts.reduce((a, p) => a + p.seconds, 0);
  return {
    sent,
    seconds: Math.round(seconds * 10) / 10,
    perS: seconds > 0 ? Math.round((sent / seconds) * 10) / 10 : 0,
    statuses,
    poolUsedUp: parts.some((p) => p.poolUsedUp),
  };
}

/**
 * The summary line of the real-traffic mix.
 * @param {any} r results.realTraffic
 */
export function realTrafficSummary(r) {
  if (r.notMeasured) return `Real traffic (Zipf mix + revocations): not measured, ${r.notMeasured}`;
  const cpu = r.cpu
    ? `; CPU µs/request: ceiling ${r.ceiling.cpuUsPerRequest} (peers' ${r.peerCeiling.cpuUsPerRequest}), killswitch ${r.killswitchNoRevocations.cpuUsPerRequest} (${r.killswitch.cpuUsPerRequest} with revocations), ${r.peer} ${r.peerRun.cpuUsPerRequest}: work above the ceiling, peer ÷ killswitch, ${r.cpu.aboveCeiling ?? '—'}× (target ≥ ${r.target}×: ${r.cpu.aboveCeiling !== null && r.cpu.aboveCeiling >= r.target ? 'met' : 'MISSED'}; ${r.cpu.aboveCeilingWithRevocations ?? '—'}× with revocations)`
    : '';
  return `Real traffic (ES256, Zipf s=${r.mix.exponent} over ${r.mix.liveTokens} live tokens, ${r.revocations.perS} revocations/s meanwhile): killswitch bounded ${r.killswitch.rps} req/s (p50 ${r.killswitch.p50} ms), ${r.peer} ${r.peerRun.rps} req/s: ${r.ratio}× (target ≥ ${r.target}×: ${r.ratio !== null && r.ratio >= r.target ? 'met' : 'MISSED'}); without revocations ${r.killswitchNoRevocations.rps} req/s: ${r.quietRatio}×${cpu}`;
}
