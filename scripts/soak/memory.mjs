// @ts-check
// Memory during the soak. The isolate's JS heap through the V8 inspector: Runtime.getHeapUsage
// every heapIntervalMs (between GCs, for information), and two post-GC readings that are judged —
// the baseline once warm-up is over (the load paused and drained for it, a GC forced) and the end
// (after the load, a GC forced). Both are taken with no request in flight, so they compare like
// with like. workerd's RSS is sampled alongside, for information only.
import { attachToIsolate, isolateHeapAfterGc, isolateHeapUsage } from './inspector.mjs';
import { workerdRssKiB } from './rss.mjs';
import { mib3, now, round } from './stats.mjs';

/** @import { HeapReading, HeapSummary, IsolateInspector, RssSummary } from './types.d.ts' */
/** @import { Load } from './load.mjs' */
/** @import { Verdicts } from './verdicts.mjs' */

/** The isolate's post-GC heap may grow by at most this ratio after warm-up… */
export const HEAP_GROWTH_LIMIT = 0.5;
/** …or by at most this much (MiB): a violation needs both. */
export const HEAP_GROWTH_LIMIT_MIB = 8;

/** @typedef {{ -readonly [K in keyof T]: T[K] }} Mutable @template T */

export class MemoryMonitor {
  /**
   * @param {object} options
   * @param {number | undefined} options.pgid  wrangler's process group (undefined: a worker not ours)
   * @param {string} options.base  the worker's URL (the GC is poked through /healthz)
   * @param {(line: string) => void} options.log
   */
  constructor({ pgid, base, log }) {
    this.pgid = pgid;
    this.base = base;
    this.log = log;
    this.startedAt = now();
    /** @type {{ t: number, mib: number, processes: number }[]} */
    this.rss = [];
    /** @type {Mutable<HeapSummary> & { samples: HeapReading[] }} */
    this.heap = { measured: false, samples: [], limit: { growth: HEAP_GROWTH_LIMIT, mib: HEAP_GROWTH_LIMIT_MIB } };
    /** @type {IsolateInspector | undefined} */
    this.inspector = undefined;
    /** Why the heap is not measured, once known. @type {string | undefined} */
    this.heapProblem = pgid === undefined ? 'an already running worker (baseUrl): no inspector of ours' : undefined;
    this.heapSampling = false;
  }

  sinceStart() {
    return round((now() - this.startedAt) / 1000);
  }

  sampleRss() {
    if (this.pgid === undefined) return;
    const sample = workerdRssKiB(this.pgid);
    if (sample !== undefined) this.rss.push({ t: this.sinceStart(), mib: round(sample.kib / 1024), processes: sample.processes });
  }

  /** Attaches to the isolate through the inspector on `port`; on failure the heap is not measured. @param {number} port */
  async attach(port) {
    try {
      this.inspector = await attachToIsolate(port);
      this.heap.inspectorPort = port;
      this.heap.target = this.inspector.target;
      this.log(`attached to the isolate through the inspector on port ${port}: ${this.inspector.target}`);
    } catch (error) {
      this.heapProblem = `V8 inspector not reachable: ${/** @type {Error} */ (error)?.message ?? error}`;
      this.log(`heap: not measured (${this.heapProblem}); RSS for information only`);
    }
  }

  /**
   * @param {string} what
   * @param {unknown} error
   */
  heapFailed(what, error) {
    this.heapProblem ??= `${what}: ${this.inspector?.closed() ?? /** @type {Error} */ (error)?.message ?? error}`;
  }

  /**
   * @param {{ usedSize: number, totalSize: number }} usage
   * @param {boolean} gc
   * @returns {HeapReading}
   */
  heapReading(usage, gc) {
    return { t: this.sinceStart(), usedMiB: mib3(usage.usedSize), totalMiB: mib3(usage.totalSize), gc };
  }

  /** One Runtime.getHeapUsage between GCs (skipped while the previous one is pending). */
  async sampleHeap() {
    if (this.inspector === undefined || this.heapProblem !== undefined || this.heapSampling) return;
    this.heapSampling = true;
    try {
      this.heap.samples.push(this.heapReading(await isolateHeapUsage(this.inspector), false));
    } catch (error) {
      this.heapFailed('Runtime.getHeapUsage', error);
    } finally {
      this.heapSampling = false;
    }
  }

  /** A post-GC reading, or undefined (and the heap not measured) if it failed. @param {string} what */
  async heapAfterGc(what) {
    if (this.inspector === undefined || this.heapProblem !== undefined) return undefined;
    const poke = async () => {
      const res = await fetch(`${this.base}/healthz`, { signal: AbortSignal.timeout(5_000) });
      await res.arrayBuffer();
    };
    try {
      const reading = this.heapReading(await isolateHeapAfterGc(this.inspector, poke), true);
      this.heap.samples.push(reading);
      return reading;
    } catch (error) {
      this.heapFailed(`${what} (HeapProfiler.collectGarbage)`, error);
      return undefined;
    }
  }

  /**
   * Pauses the load, waits until no request is in flight, takes the post-GC baseline, resumes.
   * @param {Load} load
   */
  async takeBaseline(load) {
    if (this.inspector === undefined || this.heapProblem !== undefined || !load.running()) return;
    this.heap.pausedMs = await load.pauseWhile(async () => {
      const reading = await this.heapAfterGc('baseline');
      if (reading !== undefined) this.heap.baseline = reading;
    });
  }

  /**
   * After the load: the end reading, the heap judged on the post-GC readings (baseline after
   * warm-up → end; a `heap_growth` violation needs both limits exceeded), and the RSS summary.
   * @param {number} elapsed  seconds the run lasted
   * @param {number} warmupSeconds
   * @param {Verdicts} verdicts
   */
  async finish(elapsed, warmupSeconds, verdicts) {
    this.sampleRss();
    const heap = this.heap;
    const heapEnd = heap.baseline === undefined ? undefined : await this.heapAfterGc('end');
    if (this.heapProblem !== undefined) {
      heap.reason = this.heapProblem;
    } else if (heap.baseline === undefined || heapEnd === undefined) {
      heap.reason = `run too short: no post-GC baseline after ${round(warmupSeconds)} s of warm-up`;
    } else {
      heap.measured = true;
      heap.end = heapEnd;
      heap.peakUsedMiB = Math.max(...heap.samples.map((x) => x.usedMiB));
      heap.growthMiB = mib3((heapEnd.usedMiB - heap.baseline.usedMiB) * 1024 * 1024);
      heap.growth = Math.round((heapEnd.usedMiB / heap.baseline.usedMiB - 1) * 1000) / 1000;
      if (heap.growth > HEAP_GROWTH_LIMIT && heap.growthMiB > HEAP_GROWTH_LIMIT_MIB) {
        verdicts.violate('heap_growth', { baselineMiB: heap.baseline.usedMiB, endMiB: heapEnd.usedMiB, growthMiB: heap.growthMiB });
      }
    }
    if (!heap.measured) this.log(`heap: not measured (${heap.reason}); RSS for information only`);
    return { warmupSeconds: round(warmupSeconds), heap: /** @type {HeapSummary} */ (heap), rss: this.rssSummary(elapsed, warmupSeconds) };
  }

  /**
   * workerd's RSS, for information only: it grows ~30–40 KB per request whatever the route
   * (wrangler dev's own stack, see docs/security.md), so it says little about the worker.
   * V8's heap makes it a sawtooth: the floor of the last third is reported beside the end.
   * @param {number} elapsed
   * @param {number} warmupSeconds
   * @returns {RssSummary}
   */
  rssSummary(elapsed, warmupSeconds) {
    const rss = this.rss;
    const afterWarmup = rss.filter((x) => x.t >= warmupSeconds);
    /** @type {Mutable<RssSummary>} */
    const summary = { samples: rss };
    if (rss.length > 0) {
      summary.startMiB = rss[0].mib;
      summary.peakMiB = Math.max(...rss.map((x) => x.mib));
      summary.endMiB = rss[rss.length - 1].mib;
    }
    if (afterWarmup.length >= 2) {
      const first = afterWarmup[0].mib;
      const last = afterWarmup[afterWarmup.length - 1];
      summary.baselineMiB = first;
      const lastThird = afterWarmup.filter((x) => x.t >= elapsed * (2 / 3));
      summary.floorMiB = Math.min(...(lastThird.length > 0 ? lastThird : [last]).map((x) => x.mib));
      summary.endGrowth = round((last.mib / first - 1) * 100) / 100;
      summary.growthAfterWarmup = round((summary.floorMiB / first - 1) * 100) / 100;
    }
    return summary;
  }

  close() {
    this.inspector?.close();
  }
}
