// @ts-check
// The soak's clock, rounding and per-kind request statistics (count, statuses, p50/p99).

/** Milliseconds on the performance clock (monotonic, comparable across the run). */
export const now = () => performance.timeOrigin + performance.now();

/** @param {number} x  One decimal. */
export const round = (x) => Math.round(x * 10) / 10;

/** Bytes to MiB, three decimals (the isolate's heap is a few MiB). @param {number} bytes */
export const mib3 = (bytes) => Math.round((bytes / 1048576) * 1000) / 1000;

/**
 * @param {number[]} sorted  ascending
 * @param {number} p  0–100
 */
function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** @typedef {{ count: number, statuses: Record<string, number>, latencies: number[] }} KindStats */

export class Stats {
  constructor() {
    /** @type {Map<string, KindStats>} */
    this.byKind = new Map();
  }

  /**
   * @param {string} kind  e.g. `verify-strict`
   * @param {number | 'error'} status
   * @param {number} ms
   */
  record(kind, status, ms) {
    let k = this.byKind.get(kind);
    if (k === undefined) this.byKind.set(kind, (k = { count: 0, statuses: {}, latencies: [] }));
    k.count++;
    k.statuses[status] = (k.statuses[status] ?? 0) + 1;
    k.latencies.push(ms);
  }

  /** @returns {import('./types.d.ts').SoakSummary['requests']} */
  summary() {
    /** @type {Record<string, import('./types.d.ts').KindSummary>} */
    const kinds = {};
    /** @type {number[]} */
    const all = [];
    /** @type {Record<string, number>} */
    const statuses = {};
    let total = 0;
    for (const [kind, k] of [...this.byKind].sort(([a], [b]) => a.localeCompare(b))) {
      const sorted = k.latencies.slice().sort((a, b) => a - b);
      all.push(...k.latencies);
      total += k.count;
      for (const [s, n] of Object.entries(k.statuses)) statuses[s] = (statuses[s] ?? 0) + n;
      kinds[kind] = {
        requests: k.count,
        statuses: k.statuses,
        p50Ms: round(percentile(sorted, 50)),
        p99Ms: round(percentile(sorted, 99)),
      };
    }
    all.sort((a, b) => a - b);
    return { total, statuses, p50Ms: round(percentile(all, 50)), p99Ms: round(percentile(all, 99)), kinds };
  }
}
