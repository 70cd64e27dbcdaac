/**
 * Bounded mode harness: "locations", each a Mirror with its own clock and its own cache
 * (`caches.open('loc-N')`), fed by the REAL feed replicas through delay/drop wrappers (never
 * a fake feed), and a check that runs the real bounded verify step against one of them.
 */
import { env } from 'cloudflare:workers';
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { getConfig } from '../../src/config/config';
import { feedAccessFor, feedPrimary, feedReplica } from '../../src/feed/feed-client';
import type { FeedRead } from '../../src/feed/feed-change';
import { decodeSnapshot, type Snapshot } from '../../src/feed/feed-snapshot';
import { FEED_SNAPSHOT_KV_KEY } from '../../src/revocation/storage-keys';
import { Mirror, type FeedAccess } from '../../src/feed/mirror';
import { authenticatedCache, feedMacKey } from '../../src/feed/head-mac';
import { checkMirror } from '../../src/revocation/revocation-check';
import { authenticate } from '../../src/verify/verifier';
import { call, unreachable, type Switch } from './faults';
import { afterEach, beforeEach, expect, vi } from 'vitest';

/** Bindings of a worker in bounded mode (a new object: its own config, so its own mirror). */
export function boundedEnv(overrides: Record<string, unknown> = {}): Env {
  return {
    ...env,
    REVOCATION_MODE: 'bounded',
    MAX_TOKEN_LIFETIME_SECONDS: '3600',
    REVOCATION_MAX_STALENESS_MS: '500',
    ...overrides,
  } as Env;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** POST /v1/revoke of `token` through the worker with `bindings`. */
export const revokeToken = (bindings: Env, token: string) =>
  call(bindings, '/v1/revoke', { method: 'POST', admin: true, body: new URLSearchParams({ token }) });

/** Silences the product's log lines for a file's tests (its expected refresh failures). */
export function quietLogs(): void {
  beforeEach(() => {
    vi.spyOn(console, 'log').mockImplementation(() => {});
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
}

export interface FeedFaults {
  /** Added before every replica read (a slow round trip). */
  delayMs?: number;
  /** Each replica read fails with this probability, or when it returns true. */
  drop?: number | ((replica: number) => boolean);
  /** The location's cache: its own (default), another location's name, or one whose `match` always misses. */
  cache?: string | 'missing';
}

/** The real feed (replicas, KV snapshot) seen from one location, through fault wrappers. */
export function feedAt(name: string, faults: FeedFaults = {}, bindings: Env = env): FeedAccess & { reads: number[] } {
  const real = feedAccessFor(bindings, getConfig(boundedEnv()));
  const reads: number[] = [];
  return {
    reads,
    replicas: real.replicas,
    clockSkewMs: real.clockSkewMs,
    async read(replica, after) {
      reads.push(replica);
      if (faults.delayMs !== undefined) await sleep(faults.delayMs);
      const { drop } = faults;
      const dropped = typeof drop === 'function' ? drop(replica) : drop !== undefined && Math.random() < drop;
      if (dropped) throw new Error(`injected fault: feed replica ${replica} unreachable`);
      return real.read(replica, after);
    },
    snapshot: () => real.snapshot(),
    async cache() {
      const cache = await caches.open(faults.cache === undefined || faults.cache === 'missing' ? name : faults.cache);
      const key = await feedMacKey(getConfig(boundedEnv()).feedMacKey!);
      if (faults.cache !== 'missing') return authenticatedCache(cache, key);
      return authenticatedCache({ match: async () => undefined, put: (url, response) => cache.put(url, response) }, key);
    },
  };
}

export interface Location {
  readonly mirror: Mirror;
  readonly feed: ReturnType<typeof feedAt>;
  /** Refresh-ahead work handed to waitUntil (it runs on; tests may await it). */
  readonly background: Promise<unknown>[];
}

let locations = 0;
let shared: Env | undefined;
/** One bindings object (so one parsed config and one verified-token cache) for every check that names none. */
const defaultBindings = () => (shared ??= boundedEnv());

/** A location: its own mirror (bound, clock offset) and its own cache. */
export function location(options: FeedFaults & { boundMs?: number; skewMs?: number; maxEntries?: number } = {}): Location {
  const name = `loc-${++locations}`;
  const skew = options.skewMs ?? 0;
  return {
    mirror: new Mirror(options.boundMs ?? 300, () => Date.now() + skew, options.maxEntries),
    feed: feedAt(name, options),
    background: [],
  };
}

/**
 * The bounded verify step at `at`: the token's signature and claims first (as the verifier
 * does), then checkMirror. 'active' or the reason.
 */
export async function checkAt(at: Location, token: string, bindings: Env = defaultBindings()): Promise<string> {
  const config = getConfig(bindings);
  const auth = await authenticate(token, config);
  if (!auth.ok) return auth.reason;
  const reason = await checkMirror(auth.token, config, at.mirror, at.feed, bindings, {
    waitUntil: (promise) => at.background.push(promise),
  });
  return reason ?? 'active';
}

/** Makes the writer behind `stub` unable to reach the feed while `sw.fault` is on (its other bindings stay real). */
export async function cutFeedFrom(stub: DurableObjectStub, sw: Switch): Promise<void> {
  await runInDurableObject(stub, (instance) => {
    const own = (instance as unknown as { env: Env }).env;
    (instance as unknown as { env: Env }).env = { ...own, REVOCATION_FEED: unreachable(env.REVOCATION_FEED, sw) };
  });
}

/**
 * The feed primary's housekeeping now: its alarm is the lease heartbeat (every 500 ms while the feed is read) and writes
 * the snapshot at most once a minute, except at a restarted primary's first alarm. So: restart it,
 * run its alarm, and answer the snapshot once it is at `seq` or later.
 */
export async function snapshotNow(seq: number): Promise<Snapshot> {
  await runInDurableObject(feedPrimary(env.REVOCATION_FEED), (_instance, state) => state.abort('restart')).catch(() => undefined);
  // renew: the heartbeat on (a replica's request for a lease; replica 0 is pushed too).
  await feedPrimary(env.REVOCATION_FEED).renew(0);
  await runDurableObjectAlarm(feedPrimary(env.REVOCATION_FEED));
  // The runtime may have been running that alarm itself: wait for it.
  return vi.waitFor(async () => {
    const snapshot = decodeSnapshot((await env.REVOCATIONS.get(FEED_SNAPSHOT_KV_KEY, 'arrayBuffer')) ?? new ArrayBuffer(0));
    expect(snapshot?.seq).toBeGreaterThanOrEqual(seq);
    return snapshot!;
  });
}

/** What replica `index` answers to `read(after)`: entries (a refusal, `{ notLeased: true }`, fails the test). */
export async function replicaRead(index: number, after: number): Promise<FeedRead> {
  const read = await feedReplica(env.REVOCATION_FEED, index).read(after);
  if ('notLeased' in read) throw new Error(`feed replica ${index} refused a read: no lease`);
  return read;
}
