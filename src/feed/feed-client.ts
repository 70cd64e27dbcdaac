/**
 * How the worker and the writers reach the feed (src/feed/revocation-feed.ts), without
 * importing the Durable Object class itself: the verify path loads this module outside the
 * Workers runtime too (the deploy checks import the verifier in Node).
 */
import type { FeedChange } from './feed-change';
import type { OutboxSink } from '../revocation/kv-outbox';
import type { FeedAccess } from './mirror';
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
  config: Pick<Config, 'feedClockSkewMs' | 'feedMacKey'>,
  location?: ReaderLocation,
): FeedAccess {
  return {
    replicas: FEED_REPLICA_HINTS.length,
    nearest: nearestReplica(location),
    clockSkewMs: config.feedClockSkewMs,
    read: (replica, after) => feedReplica(bindings.REVOCATION_FEED, replica).read(after),
    snapshot: () => bindings.REVOCATIONS.get(FEED_SNAPSHOT_KV_KEY, 'arrayBuffer'),
    cache: () => feedCache(config),
  };
}
