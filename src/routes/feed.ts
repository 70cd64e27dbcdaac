import { Hono } from 'hono';
import { FEED_READ_MAX_ENTRIES, type FeedNotLeased, type FeedRead } from '../feed/feed-change';
import { feedCache, feedReplica, firstReplica, type ReaderLocation } from '../feed/feed-client';
import { ForgedHeadError, type HeadCache } from '../feed/head-mac';
import { awaitClaimedHead, cacheBucketMs, claimBucket, failClaim, FEED_READ_TIMEOUT_MS, matchHead, putHead } from '../feed/mirror';
import type { Config } from '../config/config';
import { logEvent } from '../log/logger';
import { FEED_REPLICA_HINTS, FEED_SNAPSHOT_KV_KEY } from '../revocation/storage-keys';
import { withTimeout } from '../revocation/timeout';
import { feedAuth } from './admin-auth';
import type { AppEnv } from './app-env';
import { jsonResponse, NO_STORE, unavailableResponse } from '../http/responses';
import { FeedQuery, formObject, validate, type ResponseBody } from './schemas';

/**
 * docs/reference.md §9: what bounded mode's mirrors read, for mirrors outside the edge (origins,
 * src/client). Read-only, behind FEED_API_KEYS. A location answers from the feed head its
 * isolates' mirrors cache (src/feed/mirror.ts) and reads the feed only when that head does not
 * serve the `after` asked, joining the isolates' claim: a thousand origin processes cost the feed
 * what one location's isolates do.
 */
export const feedRoutes = new Hono<AppEnv>();
feedRoutes.use('*', feedAuth);

type FeedPage = ResponseBody<'FeedPage'>;

/** How long a read waits for another reader's head: a client gives up on a read after FEED_READ_TIMEOUT_MS, so leave it time to read the feed itself. */
const CLAIM_WAIT_MS = FEED_READ_TIMEOUT_MS / 2;

/** A replica's answer at or past `after`, trying each replica once (from the mirrors' first choice, else a random one). */
async function readFeed(env: Env, config: Config, after: number, location: ReaderLocation | undefined): Promise<FeedPage | undefined> {
  const first = firstReplica(location, config) ?? Math.floor(Math.random() * FEED_REPLICA_HINTS.length);
  for (let attempt = 0; attempt < FEED_REPLICA_HINTS.length; attempt++) {
    const index = (first + attempt) % FEED_REPLICA_HINTS.length;
    try {
      const read = await withTimeout<FeedRead | FeedNotLeased>(
        feedReplica(env.REVOCATION_FEED, index).read(after),
        FEED_READ_TIMEOUT_MS,
        `feed replica ${index}`,
      );
      // A replica without a lease is an unreachable one. The replica's stamp, as it made it: the reader subtracts its own skew margin.
      if (!('notLeased' in read) && read.head >= after)
        return { stamp: read.stamp, head: read.head, floor: read.floor, entries: read.entries };
    } catch {
      // the next replica
    }
  }
  return undefined;
}

/**
 * The location's cached head as the page for `after`: its entries after `after` and its own
 * stamp (never a younger one). 'miss': no head in this bucket (or the next: a fetcher whose
 * clock is ahead); 'unusable': one that starts after `after` or ends before it (this bucket's
 * read is done: none is coming for this reader), or a forged one.
 */
async function pageFromHead(cache: HeadCache, bucket: number, after: number): Promise<FeedPage | 'miss' | 'unusable'> {
  try {
    const found = await matchHead(cache, [bucket, bucket + 1]);
    if (found === undefined) return 'miss';
    const { stamp, from, head, floor, entries } = found.head;
    if (from > after || head < after || typeof floor !== 'number') return 'unusable';
    return { stamp, head, floor, entries: entries.filter((entry) => entry.seq > after).slice(0, FEED_READ_MAX_ENTRIES) };
  } catch (error) {
    if (error instanceof ForgedHeadError) logEvent('feed_head_forged', {});
    return 'unusable'; // an optimisation only
  }
}

/** The page from the location's head, waiting for the claimer's when another reader reads the feed; 'claimed': ours to read. */
async function fromLocation(cache: HeadCache, bucket: number, after: number): Promise<FeedPage | 'claimed' | undefined> {
  try {
    const look = () => pageFromHead(cache, bucket, after);
    const page = await look();
    if (page !== 'miss') return page === 'unusable' ? undefined : page;
    const claim = await claimBucket(cache, bucket);
    if (claim !== 'another') return claim === 'ours' ? 'claimed' : undefined;
    const taken = await awaitClaimedHead(cache, bucket, look, Date.now, CLAIM_WAIT_MS);
    return taken === 'unusable' ? undefined : taken;
  } catch {
    return undefined; // an optimisation only (a forged claim is no claim)
  }
}

feedRoutes.get('/', async (c) => {
  const { after } = validate(FeedQuery, formObject(new URL(c.req.url).searchParams));
  // Authenticated like the mirrors' head (another Worker on the zone could `put` one); no key, no cache.
  const cache = await feedCache(c.var.config);
  // The isolates' bucket (B/2), so a page and the mirrors' head are one entry.
  const bucket = Math.floor(Date.now() / cacheBucketMs(c.var.config.revocationMaxStalenessMs));
  const located = cache === undefined ? undefined : await fromLocation(cache, bucket, after);
  let page = typeof located === 'object' ? located : undefined;
  if (page === undefined) {
    page = await readFeed(c.env, c.var.config, after, c.req.raw.cf as ReaderLocation | undefined);
    // The location's head, for its isolates and the next origins: only a whole read (up to the
    // head) at or past the floor. Otherwise a claim of ours is marked failed: its waiters read.
    const whole = page !== undefined && (page.entries.at(-1)?.seq ?? after) === page.head && after >= page.floor;
    if (cache !== undefined && (whole || located === 'claimed')) {
      const done = whole ? putHead(cache, bucket, { ...page!, from: after }) : failClaim(cache, bucket);
      c.executionCtx.waitUntil(done.catch(() => undefined));
    }
    if (page === undefined) return unavailableResponse('no feed replica answered');
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

/**
 * The binary snapshot cold mirrors load first (src/revocation/feed-snapshot.ts); 204: none written
 * yet. One KV read per process start, not cached here: KV keeps a hot key at the location itself.
 */
feedRoutes.get('/snapshot', async (c) => {
  const snapshot = await c.env.REVOCATIONS.get(FEED_SNAPSHOT_KV_KEY, 'arrayBuffer');
  if (snapshot === null) return new Response(null, { status: 204, headers: NO_STORE });
  return new Response(snapshot, { headers: { 'Content-Type': 'application/octet-stream', ...NO_STORE } });
});
