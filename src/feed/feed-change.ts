/**
 * What bounded mode's feed carries (docs/reference.md §4.1). Every change is an absolute state, merged with
 * max, so a duplicate (a writer retrying an append whose answer was lost) changes nothing.
 * Users and tokens are named by 64-bit fingerprints of their KV keys (storage-keys.ts):
 * no identifier travels, and a collision can only make a mirror refuse more, never less.
 * `until` is a NumericDate after which the entry no longer matters (UNTIL_NEVER: never; the
 * largest uint32, so that max-merging keeps "never").
 */
export type FeedChange =
  | { readonly kind: 'global'; readonly revokedBefore: number }
  | {
      readonly kind: 'user';
      readonly fp: string;
      readonly version: number;
      readonly revokedBefore: number;
      /** changedAt + MAX_TOKEN_LIFETIME_SECONDS + 2 × CLOCK_TOLERANCE_SECONDS: every token minted before the change has expired by then. */
      readonly until: number;
    }
  | {
      readonly kind: 'token';
      readonly fp: string;
      /** The token's exp + CLOCK_TOLERANCE_SECONDS. */
      readonly until: number;
    };

/** A change with its place in the feed: sequence numbers are contiguous from 1. */
export type FeedEntry = FeedChange & { readonly seq: number };

/** What a replica answers to `read(after)`. */
export interface FeedRead {
  /** The last sequence number the replica holds. */
  readonly head: number;
  /** Entries up to `floor` were pruned: a reader behind it must start from a snapshot. */
  readonly floor: number;
  /** The entries after `after`, in order, at most FEED_READ_MAX_ENTRIES. */
  readonly entries: FeedEntry[];
  /**
   * The replica's clock when it answered: it held every change acknowledged before then. A
   * mirror ages its data from this stamp less its stated skew margin (issue 18: never a
   * fetcher's clock). GET /v1/feed passes it through to mirrors outside the edge (src/client).
   */
  readonly stamp: number;
}

/**
 * What a replica answers a read with while it holds no lease and got none when it asked the
 * primary (cut off from it, stalled): a value, not an error (an error thrown across RPC is an
 * uncaught exception workerd logs, one line per read). The mirror tries the next replica.
 */
export interface FeedNotLeased {
  readonly notLeased: true;
}

/** What a replica answers a push with. */
export interface FeedPushAnswer {
  /** The last sequence number it holds. */
  readonly head: number;
  /**
   * How long ago (its clock: a duration, no skew) it last got a read; absent when none since it
   * started. The primary stops its heartbeat once no replica has for FEED_IDLE_MS.
   */
  readonly idleMs?: number;
}

/** A lease in a push: valid until `until` (the primary's clock), for a replica that holds the log through `through`. */
export interface FeedLease {
  readonly until: number;
  readonly through: number;
}

export const FEED_READ_MAX_ENTRIES = 1_000;
export const UNTIL_NEVER = 0xffff_ffff;
