/** Types of scripts/soak.mjs, for test/e2e/soak.test.ts. */

export interface SoakOptions {
  /** How long the load runs (default 60). */
  readonly seconds?: number;
  /** Requests in flight at once (default 32). */
  readonly concurrency?: number;
  /** Distinct users (`sub`s) in the token pool (default 40). */
  readonly users?: number;
  /** A cap on requests, whatever the duration (default seconds × 3000). */
  readonly maxRequests?: number;
  /** Memory growth is judged from the first RSS sample after this (default min(10, seconds / 3)). */
  readonly warmupSeconds?: number;
  readonly rssIntervalMs?: number;
  /** Ends the load early (the worker is stopped all the same). */
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
  /** An already running worker instead of a `wrangler dev` of our own (no RSS sampling then). */
  readonly baseUrl?: string;
}

export interface KindSummary {
  readonly requests: number;
  readonly statuses: Record<string, number>;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface SoakSummary {
  readonly ok: boolean;
  readonly seconds: number;
  readonly concurrency: number;
  readonly requestsPerSecond: number;
  readonly requests: {
    readonly total: number;
    readonly statuses: Record<string, number>;
    readonly p50Ms: number;
    readonly p99Ms: number;
    readonly kinds: Record<string, KindSummary>;
  };
  readonly fiveXX: number;
  readonly violations: number;
  readonly violationsByKind: Record<string, number>;
  readonly violationSamples: readonly Record<string, unknown>[];
  readonly checks: {
    readonly refusedAsExpected: number;
    readonly acceptedAsExpected: number;
    readonly notJudged: number;
    readonly malleatedTwinsChecked: number;
    readonly userRevokes: number;
    readonly tokensMinted: number;
    readonly sessionsStarted: number;
    readonly sessionsEnded: number;
  };
  readonly workerOutputTail?: string;
  readonly memory: {
    readonly samples: readonly { t: number; mib: number; processes: number }[];
    readonly warmupSeconds: number;
    readonly startMiB?: number;
    readonly peakMiB?: number;
    readonly endMiB?: number;
    readonly baselineMiB?: number;
    /** The lowest sample of the last third of the run. */
    readonly floorMiB?: number;
    /** floorMiB / baselineMiB − 1: what is judged (> 0.5 is a violation). */
    readonly growthAfterWarmup?: number;
    /** endMiB / baselineMiB − 1, for information (RSS is a sawtooth). */
    readonly endGrowth?: number;
  };
}

export function runSoak(options?: SoakOptions): Promise<SoakSummary>;
export function formatSummary(summary: SoakSummary): string;
export function workerdRssKiB(pgid: number): { kib: number; processes: number } | undefined;
