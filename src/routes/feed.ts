import { Hono } from 'hono';
import { feedCache, feedReplica, nearestReplica, type ReaderLocation } from '../feed/feed-client';
import { CACHE_BUCKET_MS, FEED_READ_TIMEOUT_MS } from '../feed/mirror';
import { FEED_REPLICA_HINTS, FEED_SNAPSHOT_KV_KEY, feedPageCacheUrl } from '../revocation/storage-keys';
import { withTimeout } from '../revocation/timeout';
import { feedAuth } from './admin-auth';
import type { AppEnv } from './app-env';
import { jsonResponse, NO_STORE, unavailableResponse } from '../http/responses';
import { FeedQuery, formObject, validate, type ResponseBody } from './schemas';

/**
 * docs/reference.md §9: what bounded mode's mirrors read, for mirrors outside the edge (origins,
 * src/client). Read-only, behind FEED_API_KEYS. A location answers one `after` once per time
 * bucket from the feed and the rest from its cache, so a thousand origin processes at the same
 * sequence number cost the feed what one location's isolates do.
 */
export const feedRoutes = new Hono<AppEnv>();
feedRoutes.use('*', feedAuth);

type FeedPage = ResponseBody<'FeedPage'>;

/** A replica's answer at or past `after`, trying each replica once (from the nearest, else a random one). */
async function readFeed(env: Env, after: number, location: ReaderLocation | undefined): Promise<FeedPage | undefined> {
  const first = nearestReplica(location) ?? Math.floor(Math.random() * FEED_REPLICA_HINTS.length);
  for (let attempt = 0; attempt < FEED_REPLICA_HINTS.length; attempt++) {
    const index = (first + attempt) % FEED_REPLICA_HINTS.length;
    try {
      const read = await withTimeout(feedReplica(env.REVOCATION_FEED, index).read(after), FEED_READ_TIMEOUT_MS, `feed replica ${index}`);
      // The replica's stamp, as it made it: the reader subtracts its own skew margin.
      if (read.head >= after) return { stamp: read.stamp, head: read.head, floor: read.floor, entries: read.entries };
    } catch {
      // the next replica
    }
  }
  return undefined;
}

feedRoutes.get('/', async (c) => {
  const { after } = validate(FeedQuery, formObject(new URL(c.req.url).searchParams));
  // Authenticated like the mirrors' head (another Worker on the zone could `put` a page); no key, no cache.
  const cache = await feedCache(c.var.config);
  const key = feedPageCacheUrl(after, Math.floor(Date.now() / CACHE_BUCKET_MS));
  const hit = await cache?.match(key).catch(() => undefined);
  let page = hit === undefined ? undefined : ((await hit.json()) as FeedPage);
  if (page === undefined) {
    page = await readFeed(c.env, after, c.req.raw.cf as ReaderLocation | undefined);
    if (page === undefined) return unavailableResponse('no feed replica answered');
    const stored = new Response(JSON.stringify(page), { headers: { 'Cache-Control': 'max-age=1' } });
    c.executionCtx.waitUntil(cache?.put(key, stored).catch(() => undefined) ?? Promise.resolve());
  }
  if (after < page.floor) {
    const body: ResponseBody<'SnapshotRequired'> = {
      error: 'snapshot_required',
      error_description: `entries after ${after} were pruned: start from GET /v1/feed/snapshot`,
      floor: page.floor,
      head: page.head,
    };
    return jsonResponse(body, 410);
  }
  return jsonResponse(page satisfies FeedPage);
});

/** The binary snapshot cold mirrors load first (src/revocation/feed-snapshot.ts); 204: none written yet. */
feedRoutes.get('/snapshot', async (c) => {
  const snapshot = await c.env.REVOCATIONS.get(FEED_SNAPSHOT_KV_KEY, 'arrayBuffer');
  if (snapshot === null) return new Response(null, { status: 204, headers: NO_STORE });
  return new Response(snapshot, { headers: { 'Content-Type': 'application/octet-stream', ...NO_STORE } });
});
