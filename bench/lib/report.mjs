// @ts-check
// The results as ratios against the targets, a Markdown table and summary lines (printed,
// and kept in the results file for bench/README.md).
import { PEERS } from './matrix.mjs';
import { aboveCeiling } from './load.mjs';
import { realTrafficSummary } from './real-traffic.mjs';
import { ALGS } from './tokens.mjs';

/** Ratio name → target, in the order printed; `mode` ratios are per revocation mode. */
const RATIOS = [
  { key: 'C/B_best', target: '≥ 1.0', what: 'full check / fastest verify-only peer', perMode: true },
  { key: 'D/A', target: '≥ 0.9', what: 'repeated token / ceiling', perMode: true },
  { key: 'G/C', target: '≥ 1.0', what: 'forged / valid', perMode: true },
  { key: 'F/C', target: '≥ 1.0', what: 'revoked / valid', perMode: true },
  { key: 'D/B_best', target: '', what: 'repeated token / fastest peer', perMode: true },
  { key: 'B_best/A', target: '', what: 'fastest peer / ceiling', perMode: false },
  { key: 'C_log/C', target: '', what: 'LOG_ACCEPTED=true cost (cached)', perMode: false },
];

/**
 * The same comparisons in CPU µs per request of each Worker's workerd (bench/README.md, "CPU per
 * request"): the work above the ceiling A, so the runtime's own per-request cost, which both sides
 * pay, does not hide what the check costs. A/D is the plain ratio (D/A's req/s counterpart).
 */
const CPU_RATIOS = [
  { key: '(B_best−A)/(C−A)', target: '≥ 1.0', what: 'full check / fastest peer, CPU above A' },
  { key: 'A/D', target: '≥ 0.9', what: 'repeated token / ceiling, CPU' },
  { key: '(C−A)/(G−A)', target: '≥ 1.0', what: 'forged / valid, CPU above A' },
  { key: '(C−A)/(F−A)', target: '≥ 1.0', what: 'revoked / valid, CPU above A' },
  { key: '(B_best−A)/(D−A)', target: '', what: 'repeated token / fastest peer, CPU above A' },
];

/** @param {any} x @param {any} y CPU µs per request of two runs */
const cpuRatio = (x, y) => ratio(x?.cpuUsPerRequest, y?.cpuUsPerRequest);

/** @param {number | undefined} x @param {number | undefined} y */
const ratio = (x, y) => (x && y ? Math.round((x / y) * 100) / 100 : null);

/**
 * results.ratios[alg] = { bBest, 'B_best/A', 'C_log/C', [mode]: { 'C/B_best', … } }
 * @param {any} res the results object
 */
export function computeRatios(res) {
  for (const alg of ALGS) {
    const S = res.scenarios[alg];
    if (!S?.B || Object.keys(S.B).length === 0) continue;
    const [bestId, best] = /** @type {[string, any][]} */ (Object.entries(S.B)).sort((a, b) => b[1].rps - a[1].rps)[0];
    /** @type {Record<string, any>} */
    const out = { bBest: bestId, 'B_best/A': ratio(best.rps, S.A?.rps), 'C_log/C': ratio(S.C_log?.rps, S.cached?.C?.rps) };
    for (const mode of res.modes) {
      const M = S[mode];
      if (!M) continue;
      out[mode] = {
        'C/B_best': ratio(M.C?.rps, best.rps),
        'D/A': ratio(M.D?.rps, S.A?.rps),
        'G/C': ratio(M.G?.rps, M.C?.rps),
        'F/C': ratio(M.F?.rps, M.C?.rps),
        'D/B_best': ratio(M.D?.rps, best.rps),
        cpu: {
          '(B_best−A)/(C−A)': aboveCeiling(best, M.C, S.A),
          'A/D': cpuRatio(S.A, M.D),
          '(C−A)/(G−A)': aboveCeiling(M.C, M.G, S.A),
          '(C−A)/(F−A)': aboveCeiling(M.C, M.F, S.A),
          '(B_best−A)/(D−A)': aboveCeiling(best, M.D, S.A),
        },
      };
    }
    res.ratios[alg] = out;
  }
}

/** @param {unknown} n */
const fmt = (n) => (n === null || n === undefined || Number.isNaN(n) ? '—' : String(n));
/** @param {string[]} cells */
const row = (cells) => `| ${cells.join(' | ')} |`;

/** @param {any} res */
export function renderTable(res) {
  const lines = [];
  lines.push(
    row(['scenario', ...ALGS.map((a) => `${a} req/s`), ...ALGS.map((a) => `${a} µs CPU/req`), ...ALGS.map((a) => `${a} p50/p99 ms`)]),
  );
  lines.push(row(Array(1 + 3 * ALGS.length).fill('---')));
  /** @type {[string, (alg: string) => any][]} */
  const rows = [
    ['A ceiling (/healthz)', (alg) => res.scenarios[alg]?.A],
    ['A peers Worker (/healthz)', (alg) => res.scenarios[alg]?.A_peers],
    ...PEERS.map((p) => /** @type {[string, (alg: string) => any]} */ ([`B ${p.label}`, (alg) => res.scenarios[alg]?.B?.[p.id]])),
  ];
  const names = { C: 'distinct tokens', D: 'one token', F: 'revoked tokens', G: 'forged tokens' };
  for (const [id, label] of Object.entries(names)) {
    for (const mode of res.modes) rows.push([`${id} ${mode}, ${label}`, (alg) => res.scenarios[alg]?.[mode]?.[id]]);
  }
  rows.push(
    ['C cached, LOG_ACCEPTED=true', (alg) => res.scenarios[alg]?.C_log],
    ['D cached, LOG_ACCEPTED=true', (alg) => res.scenarios[alg]?.D_log],
  );
  for (const [label, get] of rows) {
    if (!ALGS.some(get)) continue;
    lines.push(
      row([
        label,
        ...ALGS.map((a) => fmt(get(a)?.rps)),
        ...ALGS.map((a) => fmt(get(a)?.cpuUsPerRequest)),
        ...ALGS.map((a) => (get(a) ? `${fmt(get(a).p50)} / ${fmt(get(a).p99)}` : '—')),
      ]),
    );
  }
  lines.push('');
  lines.push(row(['ratio (req/s)', 'mode', ...ALGS, 'target']));
  lines.push(row(Array(3 + ALGS.length).fill('---')));
  lines.push(row(['B_best (fastest peer)', '', ...ALGS.map((a) => res.ratios[a]?.bBest ?? '—'), '']));
  for (const { key, target, what, perMode } of RATIOS) {
    for (const mode of perMode ? res.modes : ['']) {
      const get = (/** @type {string} */ a) => (perMode ? res.ratios[a]?.[mode]?.[key] : res.ratios[a]?.[key]);
      if (!ALGS.some((a) => get(a) !== null && get(a) !== undefined)) continue;
      lines.push(row([`${key} (${what})`, mode, ...ALGS.map((a) => fmt(get(a))), target]));
    }
  }
  lines.push('');
  lines.push(row(['ratio (CPU µs per request)', 'mode', ...ALGS, 'target']));
  lines.push(row(Array(3 + ALGS.length).fill('---')));
  for (const { key, target, what } of CPU_RATIOS) {
    for (const mode of res.modes) {
      const get = (/** @type {string} */ a) => res.ratios[a]?.[mode]?.cpu?.[key];
      if (!ALGS.some((a) => get(a) !== null && get(a) !== undefined)) continue;
      lines.push(row([`${key} (${what})`, mode, ...ALGS.map((a) => fmt(get(a))), target]));
    }
  }
  return lines.join('\n');
}

/** @param {{ p50?: number, p99?: number, max?: number }} s */
const dist = (s) => `p50 ${fmt(s.p50)} / p99 ${fmt(s.p99)} / max ${fmt(s.max)} ms`;

/** @param {any} res */
export function renderSummary(res) {
  const out = [];
  out.push(
    `Load path: ${res.loadPath === 'direct' ? "each Worker's own workerd socket (wrangler dev's proxy skipped)" : "wrangler dev's public port (its proxy workerd in front of each Worker)"}.`,
  );
  out.push(
    `Modes: ${res.modes.join(', ')}${Object.entries(res.modesUnavailable)
      .map(([m, why]) => `; ${m}: not available in this build (${why})`)
      .join('')}.`,
  );
  for (const [mode, s] of Object.entries(res.scale ?? {})) {
    if (s.notMeasured) out.push(`100k active entries (${mode}): not measured, ${s.notMeasured}`);
    else {
      const seeded =
        s.seed === 'feed-snapshot'
          ? ` [feed snapshot written in ${s.seedMs} ms; cold first check ${s.firstCheckMs} ms${s.mirror ? `; mirror ${s.mirror.users} users + ${s.mirror.tokens} tokens, ${(s.mirror.tableBytes / 2 ** 20).toFixed(1)} MiB of tables` : ''}${s.workerdRssMiB?.full ? `; workerd RSS ${s.workerdRssMiB.empty} MiB empty / ${s.workerdRssMiB.full} MiB seeded` : ''}]`
          : s.seededInRun
            ? ' [seeded in-run, not the cached 100k]'
            : '';
      out.push(
        `100k active entries (${mode}, ES256 C): 0 entries p50 ${s.empty.p50} ms / p99 ${s.empty.p99} ms, ${s.empty.rps} req/s; ${s.entries} entries p50 ${s.full.p50} ms / p99 ${s.full.p99} ms, ${s.full.rps} req/s; p50 ratio ${s.p50Ratio} (target ≤ 1.1)${seeded}`,
      );
    }
  }
  /** @param {string} what @param {any} f a refusalSamples result @param {string} ack @param {string} call */
  const refusal = (what, f, ack, call) => {
    const bound =
      f.boundMs === undefined
        ? ''
        : `; bound ${f.boundMs} ms: ${f.failed === 0 && (f.refusedAfterAckMs.max ?? Infinity) <= f.boundMs ? 'met' : 'MISSED'}`;
    return `${what}, polled every 20 ms: ${dist(f.refusedAfterAckMs)} after the ${ack} (${call} ${dist(f.revokeCallMs)}); ${f.measured}/${f.samples} refused, ${f.acceptedAfterRefusal} accepted again after a refusal, ${f.revoke503 + f.verify503} × 503${bound}`;
  };
  for (const [mode, f] of Object.entries(res.firstRefusal ?? {}))
    out.push(refusal(`Revoke → first refusal (${mode})`, f, "revocation's 2xx", 'revoke call'));
  for (const [mode, f] of Object.entries(res.pushFirstRefusal ?? {}))
    out.push(refusal(`Shared Signals push → first refusal (${mode}, CAEP session-revoked)`, f, '202', 'push'));
  for (const [mode, s] of Object.entries(res.stateReads ?? {})) {
    const calls =
      Object.entries(s.underLoad.perSecond)
        .map(([k, n]) => `${k} ${n}/s (${s.underLoad.perCheck[k]} per check)`)
        .join(', ') || 'none';
    const feed = Object.entries(s.underLoad.feedCounterPerSecond)
      .map(([k, n]) => `${k} ${n}/s`)
      .join(', ');
    const f = s.underLoad.feedReads;
    const reads = f
      ? `; FEED READS ${f.perSecond}/s per isolate, ${f.perCheck} per check (one per ${f.checksPerFeedRead ?? '∞'} checks)`
      : '';
    out.push(
      `Storage calls per isolate (${mode}): forged ${s.forged.requests} → ${Object.values(s.forged.calls).reduce((a, b) => a + b, 0)} (target 0); under load ${s.underLoad.rps} valid checks/s → ${calls}${reads}${feed ? `; the build's counters ${feed}` : ''}`,
    );
  }
  const u = res.userRevoke;
  if (u?.oneSub) {
    out.push(
      `User revoke, one sub: ${u.oneSub.calls} calls at concurrency 50 → ${u.oneSub.ok200} × 200, ${u.oneSub.rps}/s, p50 ${u.oneSub.p50} ms, p99 ${u.oneSub.p99} ms; version +${u.oneSub.versionAfter - u.oneSub.versionBefore} (${u.oneSub.exact ? 'exact' : 'NOT exact'})`,
    );
    if (u.manySubs)
      out.push(
        `User revoke, ${u.manySubs.subs} subs: ${u.manySubs.ok200} × 200, ${u.manySubs.rps}/s, p50 ${u.manySubs.p50} ms, p99 ${u.manySubs.p99} ms`,
      );
  }
  if (res.realTraffic) out.push(realTrafficSummary(res.realTraffic));
  for (const [mode, byAlg] of Object.entries(res.revokeApi ?? {})) {
    out.push(`POST /v1/revoke (F setup, ${mode}): ${ALGS.map((a) => `${a} ${byAlg[a]?.rps ?? '—'}/s`).join(', ')}`);
  }
  return out.join('\n');
}
