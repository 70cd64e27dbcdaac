/**
 * How the worker and the writers reach the feed (src/feed/revocation-feed.ts), without
 * importing the Durable Object class itself: the verify path loads this module outside the
 * Workers runtime too (the deploy checks import the verifier in Node).
 */
import type { FeedChange } from './feed-change';
import type { OutboxSink } from '../revocation/kv-outbox';
import { cacheBucketMs, type FeedAccess } from './mirror';
import type { Config } from '../config/config';
import { authenticatedCache, feedMacKey } from './head-mac';
import { FEED_ACK_TIMEOUT_MS } from './feed-core';
import type { RevocationFeed } from './revocation-feed';
import { FEED_PRIMARY_NAME, FEED_REPLICA_HINTS, FEED_SNAPSHOT_KV_KEY, feedReplicaName } from '../revocation/storage-keys';
import { withTimeout } from '../revocation/timeout';

/**
 * A writer waits this long for the primary (docs/reference.md §4.1: "within ~4 s", then 503):
 * longer than the primary waits for a lease to expire (FEED_ACK_TIMEOUT_MS), plus a round trip.
 */
export const FEED_APPEND_TIMEOUT_MS = FEED_ACK_TIMEOUT_MS + 1_000;

type FeedNamespace = DurableObjectNamespace<RevocationFeed>;

export function feedPrimary(feed: FeedNamespace) {
  return feed.getByName(FEED_PRIMARY_NAME);
}

export function feedReplica(feed: FeedNamespace, index: number) {
  return feed.getByName(feedReplicaName(index), { locationHint: FEED_REPLICA_HINTS[index] });
}

/** A writer's outbox sink (kv-outbox.ts): lands only once every replica holds the change. */
export function feedSink(feed: () => FeedNamespace): OutboxSink {
  return async (_key, value) => {
    const { replicated } = await withTimeout(
      feedPrimary(feed()).append([JSON.parse(value) as FeedChange]),
      FEED_APPEND_TIMEOUT_MS,
      'feed append',
    );
    if (!replicated) throw new Error('feed append: not on every replica yet');
  };
}

/** This location's Cache API, authenticated with FEED_MAC_KEY (none without a key: nothing unauthenticated is trusted). */
export async function feedCache(config: Pick<Config, 'feedMacKey'>) {
  if (typeof caches === 'undefined' || config.feedMacKey === undefined) return undefined;
  return authenticatedCache(caches.default, await feedMacKey(config.feedMacKey));
}

/** Where a request came from (`request.cf`), as far as choosing a replica goes. */
export interface ReaderLocation {
  readonly continent?: string;
  readonly longitude?: string;
  /** The Cloudflare data centre (an IATA code): every isolate of one location reads the same replica. */
  readonly colo?: string;
}

/** A replica read across an ocean and back, at worst (São Paulo–Singapore is ~300 ms). */
const FAR_ROUND_TRIP_MS = 300;

/**
 * The replica a location reads first. Nearest by continent loads the replicas unevenly (Europe
 * and Africa hold ~40% of Cloudflare's locations, all on weur), so when the bound has room for a
 * refresh-ahead that waits out a cache bucket, then crosses an ocean both ways, with the skew
 * margin twice (subtracted from the stamp, and the skew it covers), locations are spread evenly
 * over every replica by a hash of their data centre; under a tighter bound (or without `colo`),
 * the nearest.
 */
export function firstReplica(
  location: ReaderLocation | undefined,
  config: Pick<Config, 'revocationMaxStalenessMs' | 'feedClockSkewMs'>,
): number | undefined {
  const bound = config.revocationMaxStalenessMs;
  if (location?.colo !== undefined && cacheBucketMs(bound) + FAR_ROUND_TRIP_MS + 2 * config.feedClockSkewMs <= bound) {
    return fnv1a(location.colo) % FEED_REPLICA_HINTS.length;
  }
  return nearestReplica(location);
}

/** FNV-1a, 32 bits: a stable spread of short names. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/**
 * The replica whose location hint serves the reader's continent (FEED_REPLICA_HINTS: wnam, enam,
 * weur, apac); North America split at 100° W. Unknown (RPC, tests): undefined, any replica.
 */
export function nearestReplica(location: ReaderLocation | undefined): number | undefined {
  const hint = (() => {
    switch (location?.continent) {
      case 'NA':
        return Number(location.longitude) < -100 ? 'wnam' : 'enam';
      case 'SA':
        return 'enam';
      case 'EU':
      case 'AF':
        return 'weur';
      case 'AS':
      case 'OC':
      case 'AN':
        return 'apac';
      default:
        return undefined;
    }
  })();
  const index = FEED_REPLICA_HINTS.findIndex((h) => h === hint);
  return index < 0 ? undefined : index;
}

/** The request-scoped access to the real bindings. */
export function feedAccessFor(
  bindings: { REVOCATIONS: KVNamespace; REVOCATION_FEED: Env['REVOCATION_FEED'] },
  config: Pick<Config, 'feedClockSkewMs' | 'feedMacKey' | 'revocationMaxStalenessMs'>,
  location?: ReaderLocation,
): FeedAccess {
  return {
    replicas: FEED_REPLICA_HINTS.length,
    first: firstReplica(location, config),
    clockSkewMs: config.feedClockSkewMs,
    read: (replica, after) => feedReplica(bindings.REVOCATION_FEED, replica).read(after),
    snapshot: () => bindings.REVOCATIONS.get(FEED_SNAPSHOT_KV_KEY, 'arrayBuffer'),
    cache: () => feedCache(config),
  };
}
