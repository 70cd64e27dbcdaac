import type { Config } from '../config/config';
import { logEvent } from '../log/logger';
import type { FeedChange, FeedEntry, FeedRead } from './feed-change';
import { decodeSnapshot, TOKEN_WORDS, USER_WORDS } from './feed-snapshot';
import { FingerprintTable, fingerprintWords } from './fingerprint-table';
import { feedCacheUrl } from '../revocation/storage-keys';
import { withTimeout } from '../revocation/timeout';

/**
 * Bounded mode's in-isolate mirror of the active revocation state (docs/reference.md §4.1;
 * docs/consistency.md says why the bound holds). The mirror's age is `clock() − asOf`, where
 * `asOf` is this isolate's clock read *before* it sent the feed read whose data it holds (or
 * the fetching isolate's, for a location's cached copy), never a cache entry's age.
 *
 * Invariant: the tables equal the feed at `seq` (a snapshot plus entries applied in contiguous
 * order), plus changes this isolate handled itself (`applyLocal`). `asOf` moves only when
 * `seq` reached the head of a read sent after it was stamped: the feed holds every
 * acknowledged change (write all replicas, read one), so the mirror holds every change
 * acknowledged before `asOf`.
 */

/** Where a mirror reads, built per request from that request's bindings: no I/O object outlives its request. */
export interface FeedAccess {
  readonly replicas: number;
  read(replica: number, after: number): Promise<FeedRead>;
  snapshot(): Promise<ArrayBuffer | null>;
  /** This location's cache (an optimisation only: every miss is correct). */
  cache(): Promise<Cache | undefined>;
}

/** A location's cached feed head is keyed by this time bucket (Cache-Control counts whole seconds). */
export const CACHE_BUCKET_MS = 250;
/** A check waits this long for a refresh (then it reads strictly, or is unavailable). */
export const MIRROR_REFRESH_TIMEOUT_MS = 2_000;
/** A cold load (KV snapshot of up to MIRROR_MAX_ENTRIES, then the feed) may take this long. */
export const SNAPSHOT_LOAD_TIMEOUT_MS = 15_000;
/** One replica read; past it the next replica is tried. */
export const FEED_READ_TIMEOUT_MS = 700;
/** How often a check waiting on another request's refresh looks at the mirror again. */
const POLL_MS = 5;
/** Own changes kept for re-applying after a reload. */
const LOCAL_MAX_CHANGES = 1_000;
/** An over-cap mirror tries a fresh snapshot this often (expired entries may have made room). */
const OVER_CAP_RETRY_MS = 60_000;

/**
 * The memory cap, in entries (users + tokens): docs/consistency.md "Memory". Slots are 20 bytes
 * (user) or 12 (token), a power of two of them at a load factor ≤ 1/2: a million entries (a
 * tenth users) take ~30 MB, and ~60 MB while the larger table is rebuilt or a snapshot buffer
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
  | { readonly kind: 'over_cap' };

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
  strictReads: number;
  confirmations: number;
}

interface CachedHead {
  readonly asOf: number;
  readonly from: number;
  readonly head: number;
  readonly entries: FeedEntry[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
  private preferred: number;
  /** Changes applied by applyLocal, applied again after a reload (the feed may not have them yet). */
  private local: FeedChange[] = [];
  /** strictReads: checks the writers answered (mirror stale or over the cap); confirmations: fingerprint hits checked with the writer. */
  readonly counters = { feedReads: 0, cacheHits: 0, snapshotLoads: 0, refreshFailures: 0, strictReads: 0, confirmations: 0 };

  constructor(
    readonly boundMs: number,
    /** The clock ages are measured with (injected per location in tests). */
    private readonly clock: () => number = Date.now,
    readonly maxEntries = MIRROR_MAX_ENTRIES,
  ) {
    this.preferred = Math.floor(Math.random() * 1024);
  }

  private nowSeconds(): number {
    return Math.floor(this.clock() / 1000);
  }

  ageMs(): number {
    return this.clock() - this.asOf;
  }

  private refreshing(): boolean {
    return this.clock() < this.refreshUntil;
  }

  /**
   * Makes the mirror fresh enough for a check: nothing under half the bound; a refresh under
   * `waitUntil` between half and the whole bound (so under steady load no check waits); past
   * the bound, a refresh the check waits for (at most MIRROR_REFRESH_TIMEOUT_MS; a cold
   * snapshot load that takes longer finishes under waitUntil, for the next checks). A refresh
   * another request started is never awaited (its promise belongs to that request, which the
   * runtime may cancel): its result lands in the mirror, so this request polls the mirror with
   * its own timer.
   */
  async freshen(access: FeedAccess, waitUntil?: (promise: Promise<unknown>) => void): Promise<void> {
    const age = this.ageMs();
    if (age <= this.boundMs / 2) return;
    if (age <= this.boundMs) {
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
    let asOf = this.clock(); // before anything is read
    if (this.overCapSince !== 0 && this.clock() - this.overCapSince >= OVER_CAP_RETRY_MS) this.reset();
    if (this.seq < 0) await this.loadSnapshot(access);
    if (await this.fromCache(access, asOf)) return;
    const from = this.seq;
    const read: FeedEntry[] = [];
    let reloaded = false;
    for (;;) {
      const answer = await this.readReplica(access, this.seq);
      if (answer.stamp !== undefined && answer.stamp < asOf) asOf = answer.stamp;
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
    this.stamp(asOf);
    if (!reloaded) await this.toCache(access, { asOf, from, head: this.seq, entries: read });
  }

  private stamp(asOf: number): void {
    if (asOf > this.asOf) this.asOf = asOf;
  }

  private reset(): void {
    this.seq = -1;
    this.asOf = -Infinity;
    this.globalRevokedBefore = 0;
    this.users = new FingerprintTable(3, 2);
    this.tokens = new FingerprintTable(1, 0);
    this.overCapSince = 0;
  }

  /** Reads one replica, the next ones on failure (and sticks to the one that answered). */
  private async readReplica(access: FeedAccess, after: number): Promise<FeedRead> {
    let failure: unknown;
    for (let attempt = 0; attempt < access.replicas; attempt++) {
      const index = (this.preferred + attempt) % access.replicas;
      try {
        this.counters.feedReads++;
        const read = await withTimeout(access.read(index, after), FEED_READ_TIMEOUT_MS, `feed replica ${index}`);
        // A replica behind this mirror has not caught up since a restart or a failed push.
        if (read.head < after) throw new Error(`feed replica ${index} is behind this mirror`);
        this.preferred = index;
        return read;
      } catch (error) {
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
    if (snapshot !== undefined) {
      const users = snapshot.users.length / USER_WORDS;
      const tokens = snapshot.tokens.length / TOKEN_WORDS;
      if (users + tokens > this.maxEntries) {
        this.overCapSince = this.clock();
        this.seq = seq;
        return;
      }
      this.users = new FingerprintTable(3, 2, users);
      this.users.load(snapshot.users, USER_WORDS, users);
      this.tokens = new FingerprintTable(1, 0, tokens);
      this.tokens.load(snapshot.tokens, TOKEN_WORDS, tokens);
      this.globalRevokedBefore = snapshot.globalRevokedBefore;
    }
    this.seq = seq;
    const now = this.nowSeconds();
    for (const change of this.local) this.apply(change, now);
  }

  /** A location's copy of the head, when it continues this mirror and is newer than what it has. */
  private async fromCache(access: FeedAccess, asOf: number): Promise<boolean> {
    try {
      const cache = await access.cache();
      if (cache === undefined) return false;
      // This bucket, else the one before (the fetcher may have been just across the boundary).
      const bucket = Math.floor(asOf / CACHE_BUCKET_MS);
      const hit = (await cache.match(feedCacheUrl(bucket))) ?? (await cache.match(feedCacheUrl(bucket - 1)));
      if (hit === undefined) return false;
      const head = (await hit.json()) as CachedHead;
      if (head.from > this.seq || head.asOf <= this.asOf || this.clock() - head.asOf > this.boundMs) return false;
      this.applyEntries(head.entries);
      if (this.seq < head.head) return false;
      this.counters.cacheHits++;
      // The fetching isolate's stamp; never later than our own clock (skew is documented).
      this.stamp(Math.min(head.asOf, this.clock()));
      return true;
    } catch {
      return false; // an optimisation only
    }
  }

  private async toCache(access: FeedAccess, head: CachedHead): Promise<void> {
    try {
      const cache = await access.cache();
      await cache?.put(
        feedCacheUrl(Math.floor(head.asOf / CACHE_BUCKET_MS)),
        new Response(JSON.stringify(head), {
          headers: { 'Content-Type': 'application/json', 'Cache-Control': 'max-age=2' },
        }),
      );
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
    if (this.overCapSince !== 0) return { kind: 'over_cap' };
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
