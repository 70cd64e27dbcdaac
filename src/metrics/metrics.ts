/**
 * Structured metrics: one observation per request (HTTP or RPC), with the fields of its log
 * line. Two sinks:
 * - Workers Analytics Engine, when the optional `METRICS` binding exists: one data point per
 *   request, blobs [route, outcome, reason], doubles [durationMs, status], index route.
 *   Without the binding nothing is written.
 * - An in-isolate aggregate, read at GET /v1/admin/stats: counts by route × outcome:reason
 *   and a latency histogram. Bounded: routes and reason codes are finite, and capped anyway.
 *
 * Cheap on the verify hot path: a few map increments, no allocation beyond the data point.
 */
import { REASONS, type Reason } from '../verify/reasons';
import { nowSeconds } from '../clock';

/** What happened to a request, coarsely; `reason` says why. */
export type Outcome = 'accepted' | 'refused' | 'unavailable' | 'ok' | 'client_error' | 'server_error';

export interface Observation {
  /** The route pattern (`/v1/admin/users/:sub`), never the URL; `rpc:verify` for the service binding. */
  readonly route: string;
  readonly status: number;
  /** A reason code (docs/reference.md §3) or an error code; absent when there is none. */
  readonly reason?: string | undefined;
  /** A verification that accepted the token. */
  readonly accepted?: boolean | undefined;
  readonly durationMs: number;
}

/** The optional binding, declared in wrangler.toml as `[[analytics_engine_datasets]]`. */
interface MetricsBindings {
  readonly METRICS?: AnalyticsEngineDataset;
}

/** Caps: the aggregate stays small whatever reaches it. */
export const MAX_ROUTES = 32;
export const MAX_KEYS_PER_ROUTE = 64;
export const OTHER = '(other)';
/** Latency bucket upper bounds in ms (inclusive); the last bucket is everything above. */
export const LATENCY_BOUNDS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000] as const;

const REASON_SET: ReadonlySet<string> = new Set(REASONS);
const CODE = /^[a-z][a-z_]{0,39}$/;

export function outcomeOf({ status, reason, accepted }: Pick<Observation, 'status' | 'reason' | 'accepted'>): Outcome {
  if (accepted === true) return 'accepted';
  if (status === 503) return 'unavailable';
  if (status === 401 && reason !== undefined && REASON_SET.has(reason as Reason)) return 'refused';
  if (status < 400) return 'ok';
  return status < 500 ? 'client_error' : 'server_error';
}

/** A code as is, `none` when absent, `(other)` for anything that is not a short snake_case code. */
function reasonOf(reason: string | undefined): string {
  if (reason === undefined || reason === '') return 'none';
  return CODE.test(reason) ? reason : OTHER;
}

class Histogram {
  readonly counts = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
  count = 0;
  max = 0;

  add(ms: number): void {
    let i = 0;
    while (i < LATENCY_BOUNDS_MS.length && ms > LATENCY_BOUNDS_MS[i]!) i++;
    this.counts[i]!++;
    this.count++;
    if (ms > this.max) this.max = ms;
  }

  /** The upper bound of the bucket holding quantile q (the max for the open bucket); null when empty. */
  quantile(q: number): number | null {
    if (this.count === 0) return null;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(LATENCY_BOUNDS_MS[i] ?? this.max, this.max);
    }
    return this.max;
  }

  summary(): LatencySummary {
    return { count: this.count, p50: this.quantile(0.5), p99: this.quantile(0.99), max: this.max };
  }

  buckets(): Record<string, number> {
    const out: Record<string, number> = {};
    this.counts.forEach((n, i) => {
      out[i < LATENCY_BOUNDS_MS.length ? String(LATENCY_BOUNDS_MS[i]) : '+Inf'] = n;
    });
    return out;
  }
}

export interface LatencySummary {
  readonly count: number;
  /** Upper bound of the bucket holding the median (≤ max); null before any request. */
  readonly p50: number | null;
  readonly p99: number | null;
  readonly max: number;
}

export interface StatsSnapshot {
  /** When this isolate started counting (NumericDate). */
  readonly since: number;
  /** route → "outcome:reason" → count. */
  readonly requests: Record<string, Record<string, number>>;
  readonly latencyMs: LatencySummary & {
    /** Upper bound in ms ("+Inf" for the rest) → count. */
    readonly buckets: Record<string, number>;
    /** The same per route, for percentiles of one route over an interval (the console's). */
    readonly routes: Record<string, LatencySummary & { readonly buckets: Record<string, number> }>;
  };
}

class Aggregate {
  since = nowSeconds();
  readonly requests = new Map<string, Map<string, number>>();
  readonly latency = new Histogram();
  readonly latencyByRoute = new Map<string, Histogram>();

  add(route: string, key: string, ms: number): void {
    const slot = this.requests.has(route) || this.requests.size < MAX_ROUTES ? route : OTHER;
    let counts = this.requests.get(slot);
    if (counts === undefined) this.requests.set(slot, (counts = new Map()));
    const k = counts.has(key) || counts.size < MAX_KEYS_PER_ROUTE ? key : OTHER;
    counts.set(k, (counts.get(k) ?? 0) + 1);
    let histogram = this.latencyByRoute.get(slot);
    if (histogram === undefined) this.latencyByRoute.set(slot, (histogram = new Histogram()));
    histogram.add(ms);
    this.latency.add(ms);
  }

  snapshot(): StatsSnapshot {
    const requests: Record<string, Record<string, number>> = {};
    for (const [route, counts] of this.requests) requests[route] = Object.fromEntries(counts);
    const routes: StatsSnapshot['latencyMs']['routes'] = {};
    for (const [route, histogram] of this.latencyByRoute) routes[route] = { ...histogram.summary(), buckets: histogram.buckets() };
    return {
      since: this.since,
      requests,
      latencyMs: { ...this.latency.summary(), buckets: this.latency.buckets(), routes },
    };
  }
}

let aggregate = new Aggregate();

/** Records one request: into this isolate's aggregate, and to Analytics Engine when bound. Never throws. */
export function observe(env: object, observation: Observation): void {
  try {
    const outcome = outcomeOf(observation);
    const reason = reasonOf(observation.reason);
    const route = observation.route.slice(0, 96);
    const durationMs = Math.max(0, observation.durationMs);
    aggregate.add(route, `${outcome}:${reason}`, durationMs);
    const dataset = (env as MetricsBindings).METRICS;
    if (dataset !== undefined && typeof dataset.writeDataPoint === 'function') {
      dataset.writeDataPoint({ indexes: [route], blobs: [route, outcome, reason], doubles: [durationMs, observation.status] });
    }
  } catch {
    // Metrics must never change an answer.
  }
}

/** What GET /v1/admin/stats answers. */
export function metricsSnapshot(): StatsSnapshot {
  return aggregate.snapshot();
}

/** Starts counting afresh (tests; an operator reading deltas does not need it). */
export function resetMetrics(): void {
  aggregate = new Aggregate();
}
