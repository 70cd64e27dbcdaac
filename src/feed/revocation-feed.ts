import { DurableObject } from 'cloudflare:workers';
import type { FeedChange, FeedEntry, FeedLease, FeedNotLeased, FeedPushAnswer, FeedRead } from './feed-change';
import { FeedCore } from './feed-core';
import { getConfig } from '../config/config';
import { SqlFeedStore } from './sql-feed-store';
import { FEED_PRIMARY_NAME, FEED_REPLICA_HINTS, FEED_SNAPSHOT_KV_KEY, feedReplicaIndex, feedReplicaName } from '../revocation/storage-keys';

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
      // A replica asks for its own lease: its index is in its name (getByName).
      primary: { lease: () => this.env.REVOCATION_FEED.getByName(FEED_PRIMARY_NAME).renew(feedReplicaIndex(ctx.id.name)) },
      snapshots: { put: (snapshot) => this.env.REVOCATIONS.put(FEED_SNAPSHOT_KV_KEY, snapshot) },
    });
  }

  append(changes: FeedChange[]): Promise<{ seq: number; replicated: boolean }> {
    return this.core.append(changes);
  }

  override alarm(): Promise<void> {
    return this.core.alarm();
  }

  /** Primary: replica `replica` holds no lease and got a read; answers once it was pushed one. */
  renew(replica: number): Promise<void> {
    return this.core.renew(replica);
  }

  push(entries: FeedEntry[], resetTo: number | undefined, prunableThrough: number, lease?: FeedLease): FeedPushAnswer {
    return this.core.push(entries, resetTo, prunableThrough, lease);
  }

  read(after: number): Promise<FeedRead | FeedNotLeased> {
    return this.core.read(after);
  }
}
