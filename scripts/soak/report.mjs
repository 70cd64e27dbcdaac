// @ts-check
// The soak's human-readable report.

/** @import { HeapSummary, SoakSummary } from './types.d.ts' */

/** @param {number} x  a ratio, as a signed percentage */
const pct = (x) => `${x >= 0 ? '+' : ''}${Math.round(x * 100)} %`;
/** @param {number} x */
const mib = (x) => `${x >= 0 ? '+' : ''}${x} MiB`;

/**
 * A human-readable report of a summary.
 * @param {SoakSummary} s
 * @returns {string}
 */
export function formatSummary(s) {
  /** @type {string[]} */
  const lines = [];
  lines.push(`soak: ${s.seconds} s, ${s.requests.total} requests (${s.requestsPerSecond}/s), concurrency ${s.concurrency}`);
  lines.push(`latency (all): p50 ${s.requests.p50Ms} ms, p99 ${s.requests.p99Ms} ms; statuses ${JSON.stringify(s.requests.statuses)}`);
  lines.push('');
  lines.push(`${'kind'.padEnd(22)}${'requests'.padStart(9)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}  statuses`);
  for (const [kind, k] of Object.entries(s.requests.kinds)) {
    lines.push(
      `${kind.padEnd(22)}${String(k.requests).padStart(9)}${String(k.p50Ms).padStart(9)}${String(k.p99Ms).padStart(9)}  ${JSON.stringify(k.statuses)}`,
    );
  }
  lines.push('');
  const c = s.checks;
  lines.push(
    `checks: ${c.refusedAsExpected} refusals of revoked tokens, ${c.acceptedAsExpected} acceptances of live tokens, ` +
      `${c.notJudged} not judged (revocation in flight / same second), ${c.malleatedTwinsChecked} malleated twins`,
  );
  lines.push(
    `state: ${c.tokensMinted} demo tokens minted, ${c.sessionsStarted} sessions (${c.sessionsEnded} ended), ${c.userRevokes} user revokes`,
  );
  lines.push(...memoryLines(s));
  lines.push(`5xx: ${s.fiveXX}`);
  lines.push(`invariant violations: ${s.violations}${s.violations === 0 ? '' : ` ${JSON.stringify(s.violationsByKind)}`}`);
  for (const v of s.violationSamples.slice(0, 10)) lines.push(`  ${JSON.stringify(v)}`);
  if (s.workerOutputTail !== undefined) lines.push('', 'wrangler dev output (tail):', s.workerOutputTail);
  lines.push(s.ok ? 'OK' : 'FAILED');
  return lines.join('\n');
}

/**
 * The heap (judged) and workerd's RSS (information only).
 * @param {SoakSummary} s
 * @returns {string[]}
 */
function memoryLines(s) {
  /** @type {string[]} */
  const lines = [];
  const { heap: h, rss: r } = s.memory;
  if (h.measured) {
    // A measured heap has every reading (MemoryMonitor.finish).
    const { baseline, end, growth, growthMiB } = /** @type {Required<HeapSummary>} */ (h);
    lines.push(
      `heap (worker isolate via the V8 inspector, post-GC used): after ${s.memory.warmupSeconds} s warm-up ${baseline.usedMiB} MiB ` +
        `→ end ${end.usedMiB} MiB (${pct(growth)}, ${mib(growthMiB)}; a violation needs both > ${pct(h.limit.growth)} and > +${h.limit.mib} MiB); ` +
        `peak between GCs ${h.peakUsedMiB} MiB; load paused ${h.pausedMs} ms for the baseline`,
    );
    lines.push(
      `  samples (s: used/total MiB, * post-GC): ${h.samples.map((x) => `${x.t}: ${x.usedMiB}/${x.totalMiB}${x.gc ? '*' : ''}`).join(', ')}`,
    );
  } else {
    lines.push(`heap: not measured (${h.reason}); no memory verdict, RSS below for information only`);
  }
  if (r.startMiB !== undefined) {
    lines.push(
      `workerd RSS (information only: mostly wrangler dev's own stack): start ${r.startMiB} MiB, peak ${r.peakMiB} MiB, end ${r.endMiB} MiB` +
        (r.growthAfterWarmup === undefined
          ? ''
          : `; after warm-up ${r.baselineMiB} MiB → floor of the last third ${r.floorMiB} MiB (${pct(r.growthAfterWarmup)}), end ${pct(/** @type {number} */ (r.endGrowth))}`),
    );
    lines.push(`  samples (s: MiB): ${r.samples.map((x) => `${x.t}: ${x.mib}`).join(', ')}`);
  } else {
    lines.push('workerd RSS: not sampled');
  }
  return lines;
}
