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

export function encodeSnapshot(rows: SnapshotRows): ArrayBuffer {
  const headerBytes = HEADER_WORDS * 8;
  const buffer = new ArrayBuffer(headerBytes + 4 * (rows.users.length * USER_WORDS + rows.tokens.length * TOKEN_WORDS));
  new Float64Array(buffer, 0, HEADER_WORDS).set([
    SNAPSHOT_FORMAT,
    rows.seq,
    rows.writtenAt,
    rows.globalRevokedBefore,
    rows.users.length,
    rows.tokens.length,
  ]);
  const users = new Uint32Array(buffer, headerBytes, rows.users.length * USER_WORDS);
  for (let i = 0, at = 0; i < rows.users.length; i++, at += USER_WORDS) {
    const u = rows.users[i]!;
    [users[at], users[at + 1]] = fingerprintWords(u.fp);
    users[at + 2] = u.version;
    users[at + 3] = u.revokedBefore;
    users[at + 4] = u.until;
  }
  const tokens = new Uint32Array(buffer, headerBytes + users.byteLength, rows.tokens.length * TOKEN_WORDS);
  for (let i = 0, at = 0; i < rows.tokens.length; i++, at += TOKEN_WORDS) {
    const t = rows.tokens[i]!;
    [tokens[at], tokens[at + 1]] = fingerprintWords(t.fp);
    tokens[at + 2] = t.until;
  }
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
