/**
 * Types of the soak (scripts/soak.mjs and scripts/soak/*.mjs), for their JSDoc (`@import`):
 * its options and summary, the inspector connection, and the model's records.
 */

export interface SoakOptions {
  /** How long the load runs (default 60). */
  readonly seconds?: number;
  /** Requests in flight at once (default 32). */
  readonly concurrency?: number;
  /** Distinct users (`sub`s) in the token pool (default 40). */
  readonly users?: number;
  /** A cap on requests, whatever the duration (default seconds × 3000). */
  readonly maxRequests?: number;
  /**
   * The isolate's post-GC heap baseline is taken this long after the start (default
   * min(10, seconds / 3)); the RSS figures "after warm-up" start here too.
   */
  readonly warmupSeconds?: number;
  /** Runtime.getHeapUsage through the inspector this often (default 2000). */
  readonly heapIntervalMs?: number;
  /** workerd's RSS this often, for information (default 2000). */
  readonly rssIntervalMs?: number;
  /** Ends the load early (the worker is stopped all the same). */
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
  /** An already running worker instead of a `wrangler dev` of our own (no heap, no RSS then). */
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
    readonly warmupSeconds: number;
    /** The worker isolate's JS heap, read through wrangler dev's V8 inspector: what is judged. */
    readonly heap: HeapSummary;
    /** workerd's RSS: information only (mostly wrangler dev's own stack, not the worker). */
    readonly rss: RssSummary;
  };
}

/** One `Runtime.getHeapUsage` reading (MiB, three decimals). */
export interface HeapReading {
  /** Seconds since the start. */
  readonly t: number;
  readonly usedMiB: number;
  readonly totalMiB: number;
  /** Right after a forced `HeapProfiler.collectGarbage` (the baseline and the end). */
  readonly gc: boolean;
}

export interface HeapSummary {
  /** false: the inspector could not be reached (or the run was too short); `reason` says why. */
  readonly measured: boolean;
  readonly reason?: string;
  readonly inspectorPort?: number;
  /** The inspector target attached to, e.g. "Cloudflare Worker (workers)". */
  readonly target?: string;
  /** Every 2 s between GCs, plus the two post-GC readings. */
  readonly samples: readonly HeapReading[];
  /** Post-GC, once warm-up is over, taken with the load paused (no request in flight). */
  readonly baseline?: HeapReading;
  /** Post-GC, after the load. */
  readonly end?: HeapReading;
  readonly peakUsedMiB?: number;
  /** end.usedMiB / baseline.usedMiB − 1. */
  readonly growth?: number;
  /** end.usedMiB − baseline.usedMiB. */
  readonly growthMiB?: number;
  /** A `heap_growth` violation needs growth > limit.growth and growthMiB > limit.mib. */
  readonly limit: { readonly growth: number; readonly mib: number };
  /** How long the load was paused for the baseline. */
  readonly pausedMs?: number;
}

export interface RssSummary {
  readonly samples: readonly { t: number; mib: number; processes: number }[];
  readonly startMiB?: number;
  readonly peakMiB?: number;
  readonly endMiB?: number;
  /** The first sample after warm-up. */
  readonly baselineMiB?: number;
  /** The lowest sample of the last third of the run (RSS is a sawtooth). */
  readonly floorMiB?: number;
  /** floorMiB / baselineMiB − 1. */
  readonly growthAfterWarmup?: number;
  /** endMiB / baselineMiB − 1. */
  readonly endGrowth?: number;
}

export interface IsolateInspector {
  /** e.g. "Cloudflare Worker (workers)". */
  readonly target: string;
  /** One CDP command; rejects on an error answer, after waitMs (default 10 000) or once closed. */
  send(method: string, params?: Record<string, unknown>, waitMs?: number): Promise<Record<string, unknown>>;
  /** Why the connection closed, or undefined while open. */
  closed(): string | undefined;
  close(): void;
}

/** What the soak reads of the worker's JSON answers (each route sends some of these). */
export interface AnswerBody {
  readonly reason?: string;
  readonly error?: string;
  readonly revokedBefore?: number;
  readonly version?: number;
  readonly access_token?: string;
  readonly refresh_token?: string;
}

/** One timed request's answer; `undefined` instead on a network error (already a violation). */
export interface Answer {
  readonly status: number;
  readonly json: AnswerBody | undefined;
  /** performance time (ms) when it was sent and when its body was read. */
  readonly sentAt: number;
  readonly receivedAt: number;
}

/** One user revoke as the model saw it. */
export interface UserRevoke {
  readonly sentAt: number;
  ackAt?: number;
  revokedBefore?: number;
  version?: number;
}

export interface ModelUser {
  readonly sub: string;
  /** A user revoke in flight: nothing is minted for the user meanwhile. */
  revoking: boolean;
  /** Mints in flight: no user revoke starts meanwhile. */
  minting: number;
  readonly revokes: UserRevoke[];
}

/** What revocation targets (a jti, or the digest of a jti-less token): shared by its tokens. */
export interface TokenIdentity {
  revokeSentAt?: number;
  revokeAckAt?: number;
}

export interface TokenRecord {
  readonly token: string;
  readonly user: ModelUser;
  readonly iat: number;
  readonly exp: number;
  readonly jti: string | undefined;
  /** When the soak had it (signed here, or the answer that carried it received). */
  readonly mintedAt: number;
  /** `demo`: signed by the soak with the demo issuer's key; `access`: from the token service. */
  readonly kind: 'demo' | 'access';
  readonly id: TokenIdentity;
}

/** A token-service session: its current refresh token and the last few rotated ones. */
export interface ModelSession {
  readonly user: ModelUser;
  refresh: string;
  readonly retired: string[];
  readonly createdAt: number;
  /** A refresh, replay or revoke of it in flight. */
  busy: boolean;
  /** The access token of its last refresh (denylisted when the session ends). */
  lastAccess: TokenRecord;
  endedSentAt?: number;
  endedAckAt?: number;
}

/** What a verify sent at some time must answer: acceptance of a 'refuse' is a violation. */
export type Expectation = 'accept' | 'refuse' | 'either';
