/**
 * The one adapter between the feed's wire shape (GET /v1/feed, /v1/feed/snapshot: docs/reference.md
 * §9) and the product's mirror (src/feed/mirror.ts, FeedAccess). Everything else in the
 * client is the mirror's own code.
 */
import type { FeedEntry } from '../feed/feed-change';
import type { FeedAccess } from '../feed/mirror';

export interface FeedHttpOptions {
  /** The killswitch worker's origin, e.g. `https://auth.example.com`. */
  readonly url: string;
  /** One of the worker's FEED_API_KEYS; a function is asked on every read (rotation without a restart). */
  readonly feedKey: string | (() => string);
  /**
   * Subtracted from the feed's stamp: the most a feed replica's clock may run ahead of this
   * process's (docs/origins.md "The bound").
   */
  readonly skewMarginMs: number;
  readonly fetch: typeof fetch;
}

interface WirePage {
  readonly stamp: number;
  readonly head: number;
  readonly floor: number;
  readonly entries: FeedEntry[];
}

export function feedOverHttp(options: FeedHttpOptions): FeedAccess {
  const base = options.url.replace(/\/+$/, '');
  const get = (path: string) => {
    const key = typeof options.feedKey === 'function' ? options.feedKey() : options.feedKey;
    return options.fetch(`${base}${path}`, { headers: { Authorization: `Bearer ${key}` } });
  };
  const failed = async (res: Response, what: string) => {
    await res.body?.cancel();
    return new Error(`${what}: HTTP ${res.status}`);
  };
  return {
    replicas: 1, // the edge picks the replica
    clockSkewMs: options.skewMarginMs,
    async read(_replica, after) {
      const res = await get(`/v1/feed?after=${after}`);
      if (res.status === 410) {
        // Behind the floor: an empty read at the floor makes the mirror start from the snapshot.
        const { floor, head } = (await res.json()) as { floor: number; head: number };
        return { floor, head, entries: [], stamp: Infinity }; // no claim: the read after the reload stamps
      }
      if (res.status !== 200) throw await failed(res, 'feed read');
      const page = (await res.json()) as WirePage;
      return { head: page.head, floor: page.floor, entries: page.entries, stamp: page.stamp };
    },
    async snapshot() {
      const res = await get('/v1/feed/snapshot');
      if (res.status === 204) return null;
      if (res.status !== 200) throw await failed(res, 'feed snapshot');
      return res.arrayBuffer();
    },
    cache: async () => undefined,
  };
}
