import type { FeedChange } from '../feed/feed-change';
import { feedSink } from '../feed/feed-client';
import { KvOutbox, kvSink } from './kv-outbox';

/**
 * What a writer Durable Object (UserState, GlobalState) owes the edge for every change it
 * commits: the KV replica and bounded mode's feed, each an outbox in the object's SQLite
 * (kv-outbox.ts says why nothing queued there is lost). One place, so the two writers cannot
 * disagree on the tables, the sinks or what "propagated" means.
 */
export class WriteThrough {
  private readonly kv: KvOutbox;
  private readonly feed: KvOutbox;

  constructor(
    private readonly storage: DurableObjectStorage,
    env: () => Env,
  ) {
    this.kv = new KvOutbox(
      storage,
      kvSink(() => env().REVOCATIONS),
    );
    this.feed = new KvOutbox(
      storage,
      feedSink(() => env().REVOCATION_FEED),
      'feed_outbox',
      'feed_append_failed',
    );
  }

  /** Queues one change for both, in the caller's synchronous step (so it is as durable as the commit). */
  enqueue(key: string, kvValue: unknown, change: FeedChange, kvExpiration?: number): void {
    this.kv.enqueue(key, kvValue, kvExpiration);
    this.feed.enqueue(key, change);
  }

  /**
   * Flushes both outboxes, then leaves the object's alarm at the earliest retry or `wakeAt()`
   * (ms since the epoch; read after the flush), or clears the one armed before it. True when
   * the feed has every change (docs/reference.md §4.1: the acknowledgement).
   */
  async flush(wakeAt: () => number | undefined = () => undefined): Promise<boolean> {
    const [, propagated] = await Promise.all([this.kv.flush(), this.feed.flush()]);
    const at = [this.kv.retryAt(), this.feed.retryAt(), wakeAt()].filter((t): t is number => t !== undefined);
    if (at.length > 0) await this.storage.setAlarm(Math.min(...at));
    else await this.storage.deleteAlarm();
    return propagated;
  }
}
