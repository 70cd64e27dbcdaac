import type { ActiveSet } from './feed-store';
import { fingerprintWords } from './fingerprint-table';

/**
 * The feed's active set as one binary KV value (FEED_SNAPSHOT_KV_KEY), for cold mirrors:
 * 20 bytes a user and 12 a token, so a million entries stay well under KV's 25 MiB value.
 *   header  Float64 × 6: format, seq, writtenAt (ms), global revokedBefore, users, tokens
 *   users   Uint32 × 5 each: fingerprint hi, lo, version, revokedBefore, until
 *   tokens  Uint32 × 3 each: fingerprint hi, lo, until
 */
export const SNAPSHOT_FORMAT = 1;
const HEADER_WORDS = 6;
export const USER_WORDS = 5;
export const TOKEN_WORDS = 3;

export interface SnapshotRows {
  readonly seq: number;
  readonly writtenAt: number;
  readonly globalRevokedBefore: number;
  readonly users: readonly { fp: string; version: number; revokedBefore: number; until: number }[];
  readonly tokens: readonly { fp: string; until: number }[];
}

export interface Snapshot {
  readonly seq: number;
  readonly writtenAt: number;
  readonly globalRevokedBefore: number;
  /** USER_WORDS per user. */
  readonly users: Uint32Array;
  /** TOKEN_WORDS per token. */
  readonly tokens: Uint32Array;
}

/** Rows as arrays (tests, tools): the same ActiveSet the feed's store streams. */
export function activeSetOf(rows: Omit<SnapshotRows, 'seq' | 'writtenAt'>): ActiveSet {
  return {
    globalRevokedBefore: rows.globalRevokedBefore,
    userCount: rows.users.length,
    tokenCount: rows.tokens.length,
    forEachUser: (row) => rows.users.forEach((u) => row(u.fp, u.version, u.revokedBefore, u.until)),
    forEachToken: (row) => rows.tokens.forEach((t) => row(t.fp, t.until)),
  };
}

export function encodeSnapshot(rows: SnapshotRows): ArrayBuffer {
  return encodeActiveSet(rows.seq, rows.writtenAt, activeSetOf(rows));
}

/** The snapshot of `set`, written row by row into one buffer (no array of rows is ever built). */
export function encodeActiveSet(seq: number, writtenAt: number, set: ActiveSet): ArrayBuffer {
  const headerBytes = HEADER_WORDS * 8;
  const buffer = new ArrayBuffer(headerBytes + 4 * (set.userCount * USER_WORDS + set.tokenCount * TOKEN_WORDS));
  new Float64Array(buffer, 0, HEADER_WORDS).set([SNAPSHOT_FORMAT, seq, writtenAt, set.globalRevokedBefore, set.userCount, set.tokenCount]);
  const users = new Uint32Array(buffer, headerBytes, set.userCount * USER_WORDS);
  let at = 0;
  set.forEachUser((fp, version, revokedBefore, until) => {
    if (at >= users.length) throw new Error('snapshot: more users than counted');
    [users[at], users[at + 1]] = fingerprintWords(fp);
    users[at + 2] = version;
    users[at + 3] = revokedBefore;
    users[at + 4] = until;
    at += USER_WORDS;
  });
  const tokens = new Uint32Array(buffer, headerBytes + users.byteLength, set.tokenCount * TOKEN_WORDS);
  at = 0;
  set.forEachToken((fp, until) => {
    if (at >= tokens.length) throw new Error('snapshot: more tokens than counted');
    [tokens[at], tokens[at + 1]] = fingerprintWords(fp);
    tokens[at + 2] = until;
    at += TOKEN_WORDS;
  });
  return buffer;
}

/** The snapshot in `buffer`, or undefined when it is not one this code wrote. */
export function decodeSnapshot(buffer: ArrayBuffer): Snapshot | undefined {
  const headerBytes = HEADER_WORDS * 8;
  if (buffer.byteLength < headerBytes) return undefined;
  const [format, seq, writtenAt, globalRevokedBefore, userCount, tokenCount] = new Float64Array(buffer, 0, HEADER_WORDS);
  if (format !== SNAPSHOT_FORMAT) return undefined;
  const userWords = userCount! * USER_WORDS;
  const tokenWords = tokenCount! * TOKEN_WORDS;
  if (buffer.byteLength !== headerBytes + 4 * (userWords + tokenWords)) return undefined;
  return {
    seq: seq!,
    writtenAt: writtenAt!,
    globalRevokedBefore: globalRevokedBefore!,
    users: new Uint32Array(buffer, headerBytes, userWords),
    tokens: new Uint32Array(buffer, headerBytes + userWords * 4, tokenWords),
  };
}
