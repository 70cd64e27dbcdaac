import type { Config } from '../config/config';
import { logEvent } from '../log/logger';
import type { FeedChange, FeedEntry, FeedNotLeased, FeedRead } from './feed-change';
import { decodeSnapshot, TOKEN_WORDS, USER_WORDS } from './feed-snapshot';
import { FingerprintTable, fingerprintWords } from './fingerprint-table';
import { ForgedHeadError, type HeadCache } from './head-mac';
import { feedCacheUrl, feedClaimUrl } from '../revocation/storage-keys';
import { withTimeout } from '../revocation/timeout';

/**
 * Bounded mode's in-isolate mirror of the active revocation state (docs/reference.md §4.1;
 * docs/consistency.md says why the bound holds). The mirror's age is `clock() − asOf`, where
 * `asOf` is the stamp the feed replica made when it answered the read whose data the mirror
 * holds (read directly or through a location's cached copy), minus the access's stated clock
 * skew margin — never a fetcher's clock, nor a cache entry's age — and never after this clock.
 *
 * Invariant: the tables equal the feed at `seq` (a snapshot plus entries applied in contiguous
 * order), plus changes this isolate handled itself (`applyLocal`). `asOf` moves only when
 * `seq` reached the head of a read sent after it was stamped: the feed holds every
 * acknowledged change (a replica answers only while its lease holds, and the primary acknowledges
 * once every replica holds the change or its lease has expired), so the mirror holds every
 * change acknowledged before `asOf`.
 */

/** Where a mirror reads, built per request from that request's bindings: no I/O object outlives its request. */
export interface FeedAccess {
  readonly replicas: number;
  /** The replica this location reads first (feed-client.ts firstReplica); unknown: the last that answered. */
  readonly first?: number;
  /** The most a feed replica's clock may run ahead of this reader's (FEED_CLOCK_SKEW_MS): subtracted from its stamps. */
  readonly clockSkewMs: number;
  read(replica: number, after: number): Promise<FeedRead | FeedNotLeased>;
  snapshot(): Promise<ArrayBuffer | null>;
  /** This location's cache, authenticated (head-mac.ts); an optimisation only: every miss is correct. */
  cache(): Promise<HeadCache | undefined>;
}

/**
 * A location's cached feed head is keyed by a time bucket of B/BUCKETS_PER_BOUND. A refresh-ahead
 * (due at 0.3–0.6 B) waits for the bucket after its data's, so a location reads the feed once a
 * bucket whether one isolate or a hundred look (sim/sim.test.ts; at B/3 a busy location read
 * 1.5× as often as a lone isolate), and its data is at most a bucket, half a round trip and the
 * skew old when the next read lands: under B at the default 1 s from any replica.
 */
const BUCKETS_PER_BOUND = 2;

export function cacheBucketMs(boundMs: number): number {
  return Math.round(boundMs / BUCKETS_PER_BOUND);
}
/** A check waits this long for a refresh (then it reads strictly, or is unavailable). */
export const MIRROR_REFRESH_TIMEOUT_MS = 2_000;
/** A cold load (KV snapshot of up to MIRROR_MAX_ENTRIES, then the feed) may take this long. */
export const SNAPSHOT_LOAD_TIMEOUT_MS = 15_000;
/** One replica read; past it the next replica is tried. */
export const FEED_READ_TIMEOUT_MS = 700;
/** How often a check waiting on another request's refresh looks at the mirror again. */
const POLL_MS = 5;
/**
 * A refresh-ahead starts at a point drawn in [LOW, HIGH] × the bound after each stamp (the bound
 * itself blocks): isolates that took the same cached head do not all look for the next one at once.
 */
const REFRESH_AHEAD_LOW = 0.3;
const REFRESH_AHEAD_HIGH = 0.6;
/** How often an isolate waiting on another isolate's feed read looks for its head in the location cache. */
const CLAIM_POLL_MS = 20;
/**
 * How long it waits: the claimer's read, and its failover to the next replica after a timeout.
 * Waiting one read's timeout only, every waiting isolate read the feed itself when the claimer's
 * replica hung (sim: a stalled replica took 893 reads in a second from 330 × 100 isolates).
 */
const CLAIM_WAIT_MS = 2 * FEED_READ_TIMEOUT_MS;
/** What a claimer whose feed read failed leaves in its claim: the waiting isolates read the feed themselves. */
const CLAIM_FAILED = 'failed';
/** A replica that failed is tried after the others for this long. */
const REPLICA_BACKOFF_MS = 10_000;
/** Own changes kept for re-applying after a reload. */
const LOCAL_MAX_CHANGES = 1_000;
/** An over-cap mirror tries a fresh snapshot this often (expired entries may have made room). */
const OVER_CAP_RETRY_MS = 60_000;

/**
 * The memory cap, in live entries (users + tokens; expired ones are dropped before it is
 * tested): docs/consistency.md "Memory". Slots are 20 bytes (user) or 12 (token), a power of
 * two of them at a load factor ≤ 1/2: a million entries (a tenth users) take ~30 MB, and ~60 MB while the larger table is rebuilt or a snapshot buffer
 * is live, next to a verified-token cache of ~15 MB, in an isolate of 128 MB. Past the cap the
 * mirror answers nothing and checks read the writers.
 */
export const MIRROR_MAX_ENTRIES = 1_000_000;

/** A token's fingerprints: its user, its denylist entry, and its any-issuer denylist entry. */
/** The fingerprints a check looks up; the last pair (issuerTokenFingerprintWords) only for a token with a `jti`. */
export type MirrorKeys = readonly [
  userHi: number,
  userLo: number,
  tokenHi: number,
  tokenLo: number,
  anyHi: number,
  anyLo: number,
  issuerTokenHi?: number,
  issuerTokenLo?: number,
];

export interface MirrorState {
  readonly globalRevokedBefore: number;
  readonly userVersion: number;
  readonly userRevokedBefore: number;
  readonly tokenRevoked: boolean;
}

export type MirrorAnswer =
  | { readonly kind: 'fresh'; readonly state: MirrorState }
  | { readonly kind: 'stale'; readonly state: MirrorState; readonly ageMs: number }
  | { readonly kind: 'over_cap'; readonly globalRevokedBefore: number };

export interface MirrorStats {
  seq: number;
  ageMs: number | null;
  users: number;
  tokens: number;
  tableBytes: number;
  overCap: boolean;
  feedReads: number;
  cacheHits: number;
  snapshotLoads: number;
  refreshFailures: number;
  forgedHeads: number;
  notLeased: number;
  strictReads: number;
  confirmations: number;
}

/** A location's copy of the feed head (feedCacheUrl): every entry after `from` up to `head`, as one fetcher read them. */
export interface CachedHead {
  /** The feed replica's stamp (its clock when it answered; the earliest of the fetch's reads), as it made it. */
  readonly stamp: number;
  readonly from: number;
  readonly head: number;
  /** The feed's floor at that read: GET /v1/feed passes it on. */
  readonly floor: number;
  readonly entries: readonly FeedEntry[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The location's head cached under the first of `buckets` that has one (ForgedHeadError: a forged one). */
export async function matchHead(cache: HeadCache, buckets: readonly number[]): Promise<{ bucket: number; head: CachedHead } | undefined> {
  for (const bucket of buckets) {
    const hit = await cache.match(feedCacheUrl(bucket));
    if (hit !== undefined) return { bucket, head: (await hit.json()) as CachedHead };
  }
  return undefined;
}

/** Under the bucket the fetch looked up (and claimed): where the location's waiting readers look. */
export async function putHead(cache: HeadCache, bucket: number, head: CachedHead): Promise<void> {
  await cache.put(
    feedCacheUrl(bucket),
    new Response(JSON.stringify(head), { headers: { 'Content-Type': 'application/json', 'Cache-Control': 'max-age=2' } }),
  );
}

const claimOf = async (cache: HeadCache, bucket: number) => (await cache.match(feedClaimUrl(bucket)))?.text();

/**
 * Concurrent misses at one location collapse: the first reader (an isolate's mirror, or GET
 * /v1/feed for origins) to miss a time bucket puts a claim (authenticated, with a nonce it reads
 * back: the Cache API has no compare-and-set, so two readers within one cache operation of each
 * other may both read the feed) and reads the feed: 'ours'. 'another': wait for that reader's
 * head (awaitClaimedHead). 'none': the claimer failed, read the feed.
 */
export async function claimBucket(cache: HeadCache, bucket: number): Promise<'ours' | 'another' | 'none'> {
  const claim = await claimOf(cache, bucket);
  if (claim === CLAIM_FAILED) return 'none';
  if (claim === undefined) {
    const nonce = Math.random().toString(36).slice(2);
    await cache.put(feedClaimUrl(bucket), new Response(nonce, { headers: { 'Cache-Control': 'max-age=1' } }));
    const claimed = await claimOf(cache, bucket);
    // Ours, or a cache that keeps nothing (workers.dev): read the feed.
    if (claimed === undefined || claimed === nonce) return 'ours';
  }
  return 'another';
}

/**
 * Polls the location cache for the claimer's head, for at most `waitMs` (the mirrors: CLAIM_WAIT_MS;
 * GET /v1/feed less, its client's read timeout): `look`'s first answer other than 'miss';
 * undefined when the claimer failed or took too long (then read the feed).
 */
export async function awaitClaimedHead<T>(
  cache: HeadCache,
  bucket: number,
  look: () => Promise<T | 'miss'>,
  clock: () => number,
  waitMs: number,
): Promise<T | undefined> {
  const deadline = clock() + waitMs;
  while (clock() < deadline) {
    await sleep(CLAIM_POLL_MS);
    const found = await look();
    if (found !== 'miss') return found;
    const claim = await claimOf(cache, bucket);
    if (claim === undefined || claim === CLAIM_FAILED) return undefined; // its read failed: read the feed
  }
  return undefined;
}

/** A failed fetch marks its claim, so the readers waiting on it read the feed themselves at once. */
export async function failClaim(cache: HeadCache, bucket: number): Promise<void> {
  await cache.put(feedClaimUrl(bucket), new Response(CLAIM_FAILED, { headers: { 'Cache-Control': 'max-age=1' } }));
}

export class Mirror {
  private seq = -1; // nothing loaded yet
  private asOf = -Infinity;
  private globalRevokedBefore = 0;
  /** Columns: version, revokedBefore, until. */
  private users = new FingerprintTable(3, 2);
  /** Column: until. */
  private tokens = new FingerprintTable(1, 0);
  /** The clock() time until which a refresh counts as in flight (our own waiting, not the mirror's age). */
  private refreshUntil = 0;
  private overCapSince = 0;
  private readonly bucketMs: number;
  /** The age past which a check starts a refresh-ahead (jittered, drawn at each stamp). */
  private refreshAheadMs: number;
  /** The location-cache time bucket of the data the mirror holds (taken from or put there): a refresh-ahead waits for a later one. */
  private headBucket = -Infinity;
  /** The last time bucket this mirror claimed (its own claim is never waited on). */
  private claimedBucket = -Infinity;
  /** The NumericDate of the last sweep of expired entries for the cap. */
  private sweptAt = 0;
  /** The replica that answered last (tried first when the access names no first one). */
  private preferred: number;
  /** Per replica: the clock() time until which it is tried after the others (it failed). */
  private readonly avoidUntil: number[] = [];
  /** Changes applied by applyLocal, applied again after a reload (the feed may not have them yet). */
  private local: FeedChange[] = [];
  /** strictReads: checks the writers answered (mirror stale or over the cap); confirmations: fingerprint hits checked with the writer. */
  readonly counters = {
    feedReads: 0,
    cacheHits: 0,
    snapshotLoads: 0,
    refreshFailures: 0,
    forgedHeads: 0,
    notLeased: 0,
    strictReads: 0,
    confirmations: 0,
  };

  constructor(
    readonly boundMs: number,
    /** The clock ages are measured with (injected per location in tests). */
    private readonly clock: () => number = Date.now,
    readonly maxEntries = MIRROR_MAX_ENTRIES,
  ) {
    this.preferred = Math.floor(Math.random() * 1024);
    this.bucketMs = cacheBucketMs(boundMs);
    this.refreshAheadMs = this.drawRefreshAhead();
  }

  private drawRefreshAhead(): number {
    return this.boundMs * (REFRESH_AHEAD_LOW + (REFRESH_AHEAD_HIGH - REFRESH_AHEAD_LOW) * Math.random());
  }

  private bucket(): number {
    return Math.floor(this.clock() / this.bucketMs);
  }

  private nowSeconds(): number {
    return Math.floor(this.clock() / 1000);
  }

  ageMs(): number {
    return this.clock() - this.asOf;
  }

  /**
   * Whether freshen() has nothing to do: under the refresh-ahead point, or ahead of the bound in
   * the cache bucket of the data held (nothing newer can be in this one's cache entry). A caller
   * may skip freshen() then (src/client's hot path), and only then: the point is jittered.
   */
  current(): boolean {
    const age = this.ageMs();
    return age <= this.boundMs && (age <= this.refreshAheadMs || this.bucket() <= this.headBucket);
  }

  private refreshing(): boolean {
    return this.clock() < this.refreshUntil;
  }

  /**
   * Makes the mirror fresh enough for a check: nothing under the refresh-ahead point (drawn in
   * 0.3–0.6 × the bound, and in a later cache time bucket than the data's); a refresh under
   * `waitUntil` from there to the whole bound (so under steady load no check waits); past the
   * bound, a refresh the check waits for (at most MIRROR_REFRESH_TIMEOUT_MS; a cold
   * snapshot load that takes longer finishes under waitUntil, for the next checks). A refresh
   * another request started is never awaited (its promise belongs to that request, which the
   * runtime may cancel): its result lands in the mirror, so this request polls the mirror with
   * its own timer.
   */
  async freshen(access: FeedAccess, waitUntil?: (promise: Promise<unknown>) => void): Promise<void> {
    if (this.current()) return;
    if (this.ageMs() <= this.boundMs) {
      if (!this.refreshing() && waitUntil !== undefined) waitUntil(this.refresh(access));
      return;
    }
    const deadline = this.clock() + MIRROR_REFRESH_TIMEOUT_MS;
    while (this.refreshing() && this.ageMs() > this.boundMs && this.clock() < deadline) await sleep(POLL_MS);
    if (this.ageMs() <= this.boundMs || this.refreshing()) return;
    const refresh = this.refresh(access);
    waitUntil?.(refresh);
    await withTimeout(refresh, Math.max(0, deadline - this.clock()), 'mirror refresh').catch(() => undefined);
  }

  /** One refresh; false (and logged) when it failed. Never rejects; each of its reads has a timeout. */
  async refresh(access: FeedAccess): Promise<boolean> {
    const until = this.clock() + (this.seq < 0 ? SNAPSHOT_LOAD_TIMEOUT_MS : MIRROR_REFRESH_TIMEOUT_MS);
    this.refreshUntil = until;
    try {
      await this.refreshNow(access);
      return true;
    } catch (error) {
      await this.failClaim(access);
      this.counters.refreshFailures++;
      logEvent('mirror_refresh_failed', {
        error: error instanceof Error ? error.message : 'unknown',
        ageMs: Number.isFinite(this.ageMs()) ? Math.round(this.ageMs()) : undefined,
      });
      return false;
    } finally {
      if (this.refreshUntil === until) this.refreshUntil = 0;
    }
  }

  private async refreshNow(access: FeedAccess): Promise<void> {
    if (this.overCapSince !== 0 && this.clock() - this.overCapSince >= OVER_CAP_RETRY_MS) this.reset();
    if (this.seq < 0) await this.loadSnapshot(access);
    const bucket = this.bucket();
    const cached = await this.fromCache(access, bucket);
    if (cached === 'hit' || (cached === 'miss' && (await this.headOfAnotherFetcher(access, bucket)))) return;
    const from = this.seq;
    const read: FeedEntry[] = [];
    let reloaded = false;
    // The earliest replica stamp of this refresh: the mirror reaches the head of every read.
    let stamp = Infinity;
    // The lowest floor of its reads: at most `from` (a higher one reloads), so the head never says `from` was pruned.
    let floor = Infinity;
    for (;;) {
      const answer = await this.readReplica(access, this.seq);
      stamp = Math.min(stamp, answer.stamp);
      floor = Math.min(floor, answer.floor);
      if (this.seq < answer.floor) {
        // What this mirror lacks was pruned: start again from the snapshot, once.
        if (reloaded) throw new Error("the feed snapshot is older than the feed's retention");
        this.reset();
        await this.loadSnapshot(access);
        reloaded = true;
        continue;
      }
      this.applyEntries(answer.entries);
      read.push(...answer.entries);
      if (this.seq >= answer.head) break;
      if (answer.entries.length === 0) throw new Error('the feed replica skipped entries');
    }
    this.stamp(stamp, access);
    if (!reloaded) await this.toCache(access, bucket, { stamp, from, head: this.seq, floor, entries: read });
  }

  /** The feed's stamp less the skew margin, never later than this clock (a replica's clock far ahead ages nothing backwards). */
  private stamp(feedStamp: number, access: FeedAccess): void {
    const asOf = Math.min(feedStamp - access.clockSkewMs, this.clock());
    if (asOf > this.asOf) this.asOf = asOf;
    this.refreshAheadMs = this.drawRefreshAhead();
  }

  private reset(): void {
    this.seq = -1;
    this.asOf = -Infinity;
    this.globalRevokedBefore = 0;
    this.users = new FingerprintTable(3, 2);
    this.tokens = new FingerprintTable(1, 0);
    this.overCapSince = 0;
  }

  /**
   * The order replicas are tried in: the location's first (else the last that answered), then the others
   * in random order — a failure spreads over the rest, never onto one fixed neighbour — and
   * replicas that failed lately last.
   */
  private replicaOrder(access: FeedAccess): number[] {
    const first = (access.first ?? this.preferred) % access.replicas;
    const others = Array.from({ length: access.replicas }, (_, i) => i).filter((i) => i !== first);
    for (let i = others.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [others[i], others[j]] = [others[j]!, others[i]!];
    }
    const now = this.clock();
    const avoided = (i: number) => (this.avoidUntil[i] ?? 0) > now;
    const order = [first, ...others];
    return [...order.filter((i) => !avoided(i)), ...order.filter(avoided)];
  }

  /** Reads one replica, the next ones on failure. */
  private async readReplica(access: FeedAccess, after: number): Promise<FeedRead> {
    let failure: unknown;
    for (const index of this.replicaOrder(access)) {
      try {
        this.counters.feedReads++;
        const read = await withTimeout(access.read(index, after), FEED_READ_TIMEOUT_MS, `feed replica ${index}`);
        // A replica without a lease (cut off from the primary, stalled) is an unreachable one.
        if ('notLeased' in read) {
          this.counters.notLeased++;
          throw new Error(`feed replica ${index} holds no lease`);
        }
        // A replica behind this mirror has not caught up since a restart or a failed push.
        if (read.head < after) throw new Error(`feed replica ${index} is behind this mirror`);
        this.preferred = index;
        return read;
      } catch (error) {
        this.avoidUntil[index] = this.clock() + REPLICA_BACKOFF_MS;
        failure = error;
      }
    }
    throw failure;
  }

  private async loadSnapshot(access: FeedAccess): Promise<void> {
    this.counters.snapshotLoads++;
    const buffer = await withTimeout(access.snapshot(), SNAPSHOT_LOAD_TIMEOUT_MS, 'feed snapshot');
    const snapshot = buffer === null ? undefined : decodeSnapshot(buffer);
    if (buffer !== null && snapshot === undefined) throw new Error('the feed snapshot is unreadable');
    const seq = snapshot?.seq ?? 0;
    if (this.seq >= seq) return; // a concurrent refresh got further
    this.reset();
    const now = this.nowSeconds();
    if (snapshot !== undefined) {
      // The cap and the tables count the rows still live: a snapshot is up to a minute old.
      const userRows = snapshot.users.length / USER_WORDS;
      const tokenRows = snapshot.tokens.length / TOKEN_WORDS;
      const users = FingerprintTable.liveRows(snapshot.users, USER_WORDS, userRows, 2, now);
      const tokens = FingerprintTable.liveRows(snapshot.tokens, TOKEN_WORDS, tokenRows, 0, now);
      if (users + tokens > this.maxEntries) {
        this.overCapSince = this.clock();
        this.seq = seq;
        return;
      }
      this.users = new FingerprintTable(3, 2, users);
      this.users.load(snapshot.users, USER_WORDS, userRows, now);
      this.tokens = new FingerprintTable(1, 0, tokens);
      this.tokens.load(snapshot.tokens, TOKEN_WORDS, tokenRows, now);
      this.globalRevokedBefore = snapshot.globalRevokedBefore;
    }
    this.seq = seq;
    for (const change of this.local) this.apply(change, now);
  }

  /**
   * A location's copy of the head (authenticated), taken when it continues this mirror and is
   * newer than what it has: 'hit'; 'miss' when there is nothing newer; 'unusable' when there is
   * something it cannot take (a gap, a forgery).
   */
  private async fromCache(access: FeedAccess, bucket: number): Promise<'hit' | 'miss' | 'unusable'> {
    try {
      const cache = await access.cache();
      if (cache === undefined) return 'miss';
      // This bucket, else the next (a fetcher whose clock is ahead of this one's), else the one before.
      const found = await matchHead(cache, [bucket, bucket + 1, bucket - 1]);
      if (found === undefined) return 'miss';
      const { head } = found;
      const asOf = head.stamp - access.clockSkewMs;
      if (asOf <= this.asOf || this.clock() - asOf > this.boundMs) return 'miss'; // nothing newer here
      if (head.from > this.seq) return 'unusable'; // newer, but it does not continue this mirror
      this.applyEntries(head.entries);
      if (this.seq < head.head) return 'unusable';
      this.counters.cacheHits++;
      this.stamp(head.stamp, access);
      this.headBucket = found.bucket;
      return 'hit';
    } catch (error) {
      if (error instanceof ForgedHeadError) {
        this.counters.forgedHeads++;
        logEvent('feed_head_forged', {});
      }
      return 'unusable'; // an optimisation only
    }
  }

  /** Joins the location's claim on `bucket` (claimBucket, for at most CLAIM_WAIT_MS): true when another reader's head was taken. */
  private async headOfAnotherFetcher(access: FeedAccess, bucket: number): Promise<boolean> {
    if (bucket === this.claimedBucket) return false; // ours already: read the feed again
    try {
      const cache = await access.cache();
      if (cache === undefined) return false;
      const claim = await claimBucket(cache, bucket);
      if (claim === 'ours') this.claimedBucket = bucket;
      if (claim !== 'another') return false;
      const taken = await awaitClaimedHead(cache, bucket, () => this.fromCache(access, bucket), this.clock, CLAIM_WAIT_MS);
      return taken === 'hit';
    } catch {
      // an optimisation only (a forged claim is no claim)
    }
    return false;
  }

  /** A failed refresh marks its claim (failClaim). */
  private async failClaim(access: FeedAccess): Promise<void> {
    if (this.claimedBucket < this.bucket() - 1) return;
    try {
      const cache = await access.cache();
      if (cache !== undefined) await failClaim(cache, this.claimedBucket);
    } catch {
      // an optimisation only
    }
  }

  /** Under the bucket this refresh looked up (and claimed): where this location's waiting isolates look. */
  private async toCache(access: FeedAccess, bucket: number, head: CachedHead): Promise<void> {
    this.headBucket = bucket;
    try {
      const cache = await access.cache();
      if (cache !== undefined) await putHead(cache, bucket, head);
    } catch {
      // an optimisation only
    }
  }

  /** Applies entries in contiguous order; one already applied is skipped, a gap is an error (the mirror stays as it was). */
  private applyEntries(entries: readonly FeedEntry[]): void {
    const now = this.nowSeconds();
    for (const entry of entries) {
      if (entry.seq <= this.seq) continue;
      if (entry.seq !== this.seq + 1) throw new Error(`feed gap: ${this.seq} then ${entry.seq}`);
      this.apply(entry, now);
      this.seq = entry.seq;
    }
  }

  /**
   * Changes this isolate's own revocation call stored (docs/reference.md §4.1): applied at once, `seq`
   * unchanged, and kept (the last LOCAL_MAX_CHANGES, while they matter) to apply again after a
   * reload from a snapshot that may predate them.
   */
  applyLocal(changes: readonly FeedChange[]): void {
    const now = this.nowSeconds();
    for (const change of changes) this.apply(change, now);
    this.local = [...this.local, ...changes].filter((change) => change.kind === 'global' || change.until > now).slice(-LOCAL_MAX_CHANGES);
  }

  private apply(change: FeedChange, now: number): void {
    if (change.kind === 'global') {
      this.globalRevokedBefore = Math.max(this.globalRevokedBefore, change.revokedBefore);
      return;
    }
    if (this.overCapSince !== 0) return; // answers nothing until a snapshot fits again: no growth meanwhile
    const [hi, lo] = fingerprintWords(change.fp);
    if (change.kind === 'user') this.users.mergeMax(hi, lo, [change.version, change.revokedBefore, change.until], now);
    else this.tokens.mergeMax(hi, lo, [change.until], now);
    if (this.users.size + this.tokens.size > this.maxEntries && now > this.sweptAt) {
      // The sizes count expired entries a rebuild has not dropped yet: drop them before testing
      // the cap (at most once a second, when more can have expired), so only live entries count.
      this.sweptAt = now;
      this.users.rebuild(now);
      this.tokens.rebuild(now);
    }
    if (this.users.size + this.tokens.size > this.maxEntries) {
      logEvent('mirror_over_cap', { entries: this.users.size + this.tokens.size, cap: this.maxEntries });
      this.overCapSince = this.clock();
      this.users = new FingerprintTable(3, 2); // answers nothing now: give the memory back
      this.tokens = new FingerprintTable(1, 0);
    }
  }

  /**
   * The check's answer, synchronously: the freshness test and the lookup see one state (no
   * await may come between them). Past the bound the stale state is still given, for
   * FAIL_MODE=open only.
   */
  answer(keys: MirrorKeys, now: number): MirrorAnswer {
    if (this.overCapSince !== 0) return { kind: 'over_cap', globalRevokedBefore: this.globalRevokedBefore };
    const ageMs = this.ageMs();
    const [userHi, userLo, tokenHi, tokenLo, anyHi, anyLo, issHi, issLo] = keys;
    const user = this.users.find(userHi, userLo);
    const userLive = user >= 0 && this.users.value(user, 2) > now;
    const tokenLive = (slot: number) => slot >= 0 && this.tokens.value(slot, 0) > now;
    const state: MirrorState = {
      globalRevokedBefore: this.globalRevokedBefore,
      userVersion: userLive ? this.users.value(user, 0) : 0,
      userRevokedBefore: userLive ? this.users.value(user, 1) : 0,
      tokenRevoked:
        tokenLive(this.tokens.find(tokenHi, tokenLo)) ||
        tokenLive(this.tokens.find(anyHi, anyLo)) ||
        (issHi !== undefined && issLo !== undefined && tokenLive(this.tokens.find(issHi, issLo))),
    };
    return ageMs <= this.boundMs ? { kind: 'fresh', state } : { kind: 'stale', state, ageMs };
  }

  stats(): MirrorStats {
    const age = this.ageMs();
    return {
      seq: this.seq,
      ageMs: Number.isFinite(age) ? Math.round(age) : null,
      users: this.users.size,
      tokens: this.tokens.size,
      tableBytes: this.users.bytes + this.tokens.bytes,
      overCap: this.overCapSince !== 0,
      ...this.counters,
    };
  }
}

/** One mirror per configuration (so per isolate in production; per test binding set in tests). */
const mirrors = new WeakMap<Config, Mirror>();

export function mirrorFor(config: Config): Mirror {
  let mirror = mirrors.get(config);
  if (mirror === undefined) mirrors.set(config, (mirror = new Mirror(config.revocationMaxStalenessMs)));
  return mirror;
}

/** This configuration's mirror, if bounded mode made one. */
export function existingMirror(config: Config): Mirror | undefined {
  return mirrors.get(config);
}
