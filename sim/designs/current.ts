/**
 * The product's design as src/ holds it at the commit run (results name the commit: before h22-reads
 * merged, the d100ae7 design), wired with its own code: the Mirror
 * (src/feed/mirror.ts), the feed's FeedCore (src/feed/feed-core.ts, what the RevocationFeed
 * Durable Object wraps) on its MemoryFeedStore, the writer's feedSink (src/feed/feed-client.ts). Only the
 * bindings are simulated: the objects' network and queues, the location cache, KV.
 */
import { DEFAULT_FEED_CLOCK_SKEW_MS } from '../../src/config/config';
import type { FeedChange } from '../../src/feed/feed-change';
import { feedPrimary, feedReplica, feedSink, firstReplica } from '../../src/feed/feed-client';
import { FeedCore } from '../../src/feed/feed-core';
import { MemoryFeedStore } from '../../src/feed/memory-feed-store';
import type { HeadCache } from '../../src/feed/head-mac';
import { Mirror, MIRROR_REFRESH_TIMEOUT_MS, type FeedAccess } from '../../src/feed/mirror';
import { FEED_PRIMARY_NAME, FEED_REPLICA_HINTS, feedClaimUrl, feedReplicaIndex, feedReplicaName } from '../../src/revocation/storage-keys';
import { REGION_CF, type Region } from '../network';
import { SimHost } from '../objects';
import type { Design, WorldAccess } from './design';

/** Where the primary lives (created by the first writer; our writers are spread, so say eastern North America). */
const PRIMARY_REGION: Region = 'enam';

type Feed = FeedCore;

export interface CurrentOptions {
  /** The mirror an isolate gets (a test injects a broken one to show the simulation sees it). */
  readonly mirror?: (boundMs: number, clock: () => number) => Mirror;
  /** The feed's lease (FeedCoreDeps.leaseMs; default FEED_LEASE_MS). Infinity: write-all, the design before leases. */
  readonly leaseMs?: number;
  readonly name?: string;
  /** Location caches that keep heads but drop claims: every isolate that misses reads the feed (a test shows reads then grow with isolates). */
  readonly withoutClaims?: boolean;
}

/** The location cache as a design without the per-location claim sees it: claims are never kept. */
function withoutClaims(cache: HeadCache): HeadCache {
  const prefix = feedClaimUrl(0).slice(0, -1); // the claim URLs, any bucket
  const claim = (url: string) => url.startsWith(prefix);
  return {
    match: (url) => (claim(url) ? Promise.resolve(undefined) : cache.match(url)),
    put: (url, response) => (claim(url) ? Promise.resolve() : cache.put(url, response)),
  };
}

/** How often the driver looks at an object's alarm (the heartbeat runs every FEED_LEASE_RENEW_MS). */
const ALARM_TICK_MS = 50;

export function currentDesign(options: CurrentOptions = {}) {
  return (world: WorldAccess): Design => {
    const { sim } = world;
    const hosts = new Map<string, SimHost<Feed>>();

    /** The REVOCATION_FEED namespace as seen from a caller in `from` (`caller` names it for partitions). */
    const namespace = (from: Region, caller: string) =>
      ({
        getByName: (name: string) => {
          const host = hosts.get(name);
          if (host === undefined) throw new Error(`no feed object ${name}`);
          return new Proxy(
            {},
            {
              get:
                (_target, method: string) =>
                (...args: unknown[]) =>
                  host.call(from, (feed) => (feed as unknown as Record<string, (...a: unknown[]) => unknown>)[method]!(...args), caller),
            },
          );
        },
      }) as unknown as Env['REVOCATION_FEED'];

    const feedObject = (name: string, region: Region, primaryRole: boolean) => {
      const store = new MemoryFeedStore();
      const host: SimHost<Feed> = new SimHost(sim, name, region, world.objectCapacity, () => {
        const feed = namespace(region, name);
        return new FeedCore({
          store,
          clock: Date.now,
          leaseMs: options.leaseMs,
          clockSkewMs: DEFAULT_FEED_CLOCK_SKEW_MS,
          replicas: primaryRole
            ? {
                count: FEED_REPLICA_HINTS.length,
                push: (i, entries, resetTo, prunableThrough, lease) => feedReplica(feed, i).push(entries, resetTo, prunableThrough, lease),
              }
            : undefined,
          primary: primaryRole ? undefined : { lease: () => feedPrimary(feed).renew(feedReplicaIndex(name)) },
          snapshots: primaryRole ? { put: (snapshot) => world.kv.put(snapshot) } : undefined,
        });
      });
      // The store's alarm, fired by the driver (as the runtime fires a DO alarm).
      const tick = () => {
        if (store.alarmAt !== null && store.alarmAt <= Date.now()) {
          store.alarmAt = null;
          void host.instance.alarm().catch(() => undefined);
        }
        sim.after(ALARM_TICK_MS, tick);
      };
      sim.after(ALARM_TICK_MS, tick);
      hosts.set(name, host);
      return host;
    };

    const primary = feedObject(FEED_PRIMARY_NAME, PRIMARY_REGION, true);
    // A running feed: the primary's heartbeat is on from the start (else the first reads ask it for leases).
    void primary.instance.wake();
    const replicas = FEED_REPLICA_HINTS.map((hint, i) => feedObject(feedReplicaName(i), hint as Region, false));
    const makeMirror = options.mirror ?? ((boundMs, clock) => new Mirror(boundMs, clock));

    return {
      name: options.name ?? 'current',
      objects: [primary, ...replicas],
      primary,
      replicas,
      append: (from: Region, change: FeedChange) => feedSink(() => namespace(from, 'writer'))('feed', JSON.stringify(change), undefined),
      isolate: (location: number, clock: () => number) => {
        const region = world.regions[location]!;
        const mirror = makeMirror(world.boundMs, clock);
        const cache = world.caches[location] as unknown as HeadCache;
        const locationCache = options.withoutClaims === true ? withoutClaims(cache) : cache;
        const access: FeedAccess = {
          replicas: replicas.length,
          // The product's choice for this location's request.cf (a data centre per location).
          first: firstReplica(
            { ...REGION_CF[region], colo: `L${location}` },
            { revocationMaxStalenessMs: world.boundMs, feedClockSkewMs: DEFAULT_FEED_CLOCK_SKEW_MS },
          ),
          // The product's default margin; the simulated replicas run on true time, isolates within ±skew.
          clockSkewMs: DEFAULT_FEED_CLOCK_SKEW_MS,
          read: (replica, after) => replicas[replica]!.call(region, (feed) => feed.read(after), 'reader'),
          snapshot: () => world.kv.get(location),
          cache: async () => locationCache,
        };
        return {
          freshen: joinRefreshes(mirror, access),
          answer: (keys, now) => mirror.answer(keys, now),
          applyLocal: (changes) => mirror.applyLocal(changes),
        };
      },
    };
  };
}

/**
 * The check's `freshen`, without the mirror's 5 ms polling: a check past the bound while a refresh
 * is in flight polls the mirror every 5 ms until it lands (up to MIRROR_REFRESH_TIMEOUT_MS), so an
 * overloaded world spent most of its wall time on poll timers. Here such a check awaits the refresh
 * it would poll for (what `waitUntil` was handed), which lands at the same virtual time, then calls
 * the mirror's own `freshen` as the poll loop's exit does. Answers are unchanged (at most the 5 ms
 * polling granularity earlier).
 */
function joinRefreshes(mirror: Mirror, access: FeedAccess): () => Promise<void> {
  let inFlight: Promise<unknown> | undefined;
  const track = (refresh: Promise<unknown>) => {
    inFlight = refresh;
    void refresh.finally(() => {
      if (inFlight === refresh) inFlight = undefined;
    });
  };
  const join = async () => {
    const deadline = Date.now() + MIRROR_REFRESH_TIMEOUT_MS;
    while (inFlight !== undefined && mirror.ageMs() > mirror.boundMs) {
      if (Date.now() >= deadline) return; // the poll loop's timeout: the check reads the writers
      await inFlight;
    }
    await mirror.freshen(access, track);
  };
  // Most checks find nothing in flight: the mirror's own freshen, without one more promise.
  return () => (inFlight !== undefined && mirror.ageMs() > mirror.boundMs ? join() : mirror.freshen(access, track));
}
