import { DurableObject } from 'cloudflare:workers';
import type { FeedChange, FeedEntry, FeedLease, FeedRead } from './feed-change';
import { FeedCore } from './feed-core';
import { getConfig } from '../config/config';
import { SqlFeedStore } from './sql-feed-store';
import { FEED_PRIMARY_NAME, FEED_REPLICA_HINTS, FEED_SNAPSHOT_KV_KEY, feedReplicaName } from '../revocation/storage-keys';

/**
 * Bounded mode's feed as a Durable Object: a thin wrapper of FeedCore (feed-core.ts), which
 * holds the logic. One class, two roles by name: the primary (`feed`) and the replicas
 * (`feed-replica:<i>`, one per location hint). How the worker reaches them: feed-client.ts.
 */
export class RevocationFeed extends DurableObject<Env> {
  private readonly core: FeedCore;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.core = new FeedCore({
      store: new SqlFeedStore(ctx.storage),
      clock: Date.now,
      clockSkewMs: getConfig(env).feedClockSkewMs,
      replicas: {
        count: FEED_REPLICA_HINTS.length,
        // this.env, read per call: tests swap bindings on a live object to inject faults.
        push: (i, entries, resetTo, prunableThrough, lease) =>
          this.env.REVOCATION_FEED.getByName(feedReplicaName(i), { locationHint: FEED_REPLICA_HINTS[i] }).push(
            entries,
            resetTo,
            prunableThrough,
            lease,
          ),
      },
      primary: { wake: () => this.env.REVOCATION_FEED.getByName(FEED_PRIMARY_NAME).wake() },
      snapshots: { put: (snapshot) => this.env.REVOCATIONS.put(FEED_SNAPSHOT_KV_KEY, snapshot) },
    });
  }

  append(changes: FeedChange[]): Promise<{ seq: number; replicated: boolean }> {
    return this.core.append(changes);
  }

  override alarm(): Promise<void> {
    return this.core.alarm();
  }

  /** Primary: a replica holding no lease asks for the heartbeat to run. */
  wake(): Promise<void> {
    return this.core.wake();
  }

  push(entries: FeedEntry[], resetTo: number | undefined, prunableThrough: number, lease?: FeedLease): { head: number } {
    return this.core.push(entries, resetTo, prunableThrough, lease);
  }

  read(after: number): FeedRead {
    return this.core.read(after);
  }
}
