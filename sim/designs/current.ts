/**
 * The design as of d100ae7 (before issue 18), wired with its own code: the Mirror
 * (src/revocation/mirror.ts), the RevocationFeed Durable Object (src/revocation/revocation-feed.ts)
 * on an in-memory SQL storage, the writer's feedSink (src/revocation/feed-client.ts). Only the
 * bindings are simulated: the objects' network and queues, the location cache, KV.
 */
import type { FeedChange } from '../../src/revocation/feed-change';
import { feedSink } from '../../src/revocation/feed-client';
import { Mirror, type FeedAccess } from '../../src/revocation/mirror';
import { RevocationFeed } from '../../src/revocation/revocation-feed';
import { FEED_PRIMARY_NAME, FEED_REPLICA_HINTS, feedReplicaName } from '../../src/revocation/storage-keys';
import type { Region } from '../network';
import { SimHost } from '../objects';
import { SimSql } from '../sql';
import type { Design, WorldAccess } from './design';

/** Where the primary lives (created by the first writer; our writers are spread, so say eastern North America). */
const PRIMARY_REGION: Region = 'enam';

type Feed = RevocationFeed;

export interface CurrentOptions {
  /** The mirror an isolate gets (a test injects a broken one to show the simulation sees it). */
  readonly mirror?: (boundMs: number, clock: () => number) => Mirror;
}

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

    const feedObject = (name: string, region: Region) => {
      const sql = new SimSql();
      let alarm: { at: number; cancelled: boolean } | undefined;
      const host: SimHost<Feed> = new SimHost(sim, name, region, world.objectCapacity, () => {
        const storage = {
          sql,
          getAlarm: async () => alarm?.at ?? null,
          setAlarm: async (at: number) => {
            if (alarm !== undefined) alarm.cancelled = true;
            const mine = { at, cancelled: false };
            alarm = mine;
            sim.at(at - Date.now() + sim.now, () => {
              if (mine.cancelled) return;
              alarm = undefined;
              void host.instance.alarm().catch(() => undefined);
            });
          },
        };
        const env = {
          REVOCATION_FEED: namespace(region, name),
          REVOCATIONS: { put: (_key: string, value: ArrayBuffer) => world.kv.put(value) },
        };
        return new RevocationFeed({ storage } as unknown as DurableObjectState, env as unknown as Env);
      });
      hosts.set(name, host);
      return host;
    };

    const primary = feedObject(FEED_PRIMARY_NAME, PRIMARY_REGION);
    const replicas = FEED_REPLICA_HINTS.map((hint, i) => feedObject(feedReplicaName(i), hint as Region));
    const makeMirror = options.mirror ?? ((boundMs, clock) => new Mirror(boundMs, clock));

    return {
      name: 'current',
      objects: [primary, ...replicas],
      primary,
      replicas,
      append: (from: Region, change: FeedChange) => feedSink(() => namespace(from, 'writer'))('feed', JSON.stringify(change), undefined),
      isolate: (location: number, clock: () => number) => {
        const region = world.regions[location]!;
        const mirror = makeMirror(world.boundMs, clock);
        const access: FeedAccess = {
          replicas: replicas.length,
          read: (replica, after) => replicas[replica]!.call(region, (feed) => feed.read(after), 'reader'),
          snapshot: () => world.kv.get(location),
          cache: async () => world.caches[location] as unknown as Cache,
        };
        return {
          freshen: () => mirror.freshen(access, () => undefined),
          answer: (keys, now) => mirror.answer(keys, now),
          applyLocal: (changes) => mirror.applyLocal(changes),
        };
      },
    };
  };
}
