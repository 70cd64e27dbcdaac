// @ts-check
// Bounded mode's 100,000 active entries: the feed's own KV snapshot (`feed-snapshot`, the
// binary format of src/feed/feed-snapshot.ts, documented in docs/storage.md), written
// into a local persistence directory that `wrangler dev --persist-to <dir>` then reads. A cold
// bounded isolate loads its mirror from it at its first check, as in production.
//
// Why not the write path (POST /v1/revoke): under wrangler dev on two cores it takes 5–100
// revocations/s (every one is a user Durable Object commit plus a feed append pushed to four
// replicas), i.e. 15 minutes to 5 hours for 100k. Writing the snapshot takes seconds, so it is
// done in every run (nothing cached).
//
// The snapshot is at sequence 0: the run's feed Durable Objects are empty (head 0), and a
// mirror refuses a snapshot newer than the feed its replicas hold (it would wait for them).
// The entries are fingerprints of real KV keys (storage-keys.ts: the first 8 bytes of the
// SHA-256 in `user:`/`token:` keys) of users and tokens no bench token carries.
import { createHash, randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { DENYLIST_ISSUER, openSeedKv, tokenKvKey } from './denylist.mjs';

/** Same as src/revocation/storage-keys.ts FEED_SNAPSHOT_KV_KEY. */
export const FEED_SNAPSHOT_KV_KEY = 'feed-snapshot';
/** src/feed/feed-snapshot.ts: format 1, six float64 header words, 5 uint32 a user, 3 a token. */
const SNAPSHOT_FORMAT = 1;
const HEADER_WORDS = 6;
const USER_WORDS = 5;
const TOKEN_WORDS = 3;

/**
 * The fingerprint words of a `user:`/`token:` KV key (storage-keys.ts fingerprintOf).
 * @param {string} kvKey
 * @returns {[number, number]}
 */
function fingerprintWords(kvKey) {
  const bytes = Buffer.from(kvKey.slice(kvKey.indexOf(':') + 1), 'base64url');
  return [bytes.readUInt32BE(0), bytes.readUInt32BE(4)];
}

/**
 * A snapshot of `users` revoked users and `tokens` denylisted tokens, live until `until`.
 * @param {{ users: number, tokens: number, until: number, now: number }} o
 * @returns {Buffer}
 */
export function encodeFeedSnapshot({ users, tokens, until, now }) {
  const headerBytes = HEADER_WORDS * 8;
  const buffer = new ArrayBuffer(headerBytes + 4 * (users * USER_WORDS + tokens * TOKEN_WORDS));
  new Float64Array(buffer, 0, HEADER_WORDS).set([SNAPSHOT_FORMAT, 0, now * 1000, 0, users, tokens]);
  const u = new Uint32Array(buffer, headerBytes, users * USER_WORDS);
  for (let i = 0, at = 0; i < users; i++, at += USER_WORDS) {
    const userKey = `user:${createHash('sha256')
      .update(JSON.stringify([`seeded-user-${i}`]))
      .digest('base64url')}`;
    [u[at], u[at + 1]] = fingerprintWords(userKey);
    u[at + 2] = 1; // version
    u[at + 3] = now - 60; // revokedBefore
    u[at + 4] = until;
  }
  const t = new Uint32Array(buffer, headerBytes + u.byteLength, tokens * TOKEN_WORDS);
  for (let i = 0, at = 0; i < tokens; i++, at += TOKEN_WORDS) {
    [t[at], t[at + 1]] = fingerprintWords(tokenKvKey(`denied-user-${i % 5000}`, DENYLIST_ISSUER, randomUUID()));
    t[at + 2] = until;
  }
  return Buffer.from(buffer);
}

/**
 * Writes the snapshot into `<dir>/state` (wipes `dir` first). A tenth of the entries are users,
 * as in the mirror's memory budget (src/feed/mirror.ts).
 * @param {string} dir
 * @param {number} count
 * @returns {Promise<{ dir: string, count: number, users: number, tokens: number, bytes: number, ms: number }>}
 */
export async function seedFeedSnapshot(dir, count) {
  const started = Date.now();
  rmSync(dir, { recursive: true, force: true });
  const now = Math.floor(started / 1000);
  const users = Math.round(count / 10);
  const tokens = count - users;
  const snapshot = encodeFeedSnapshot({ users, tokens, until: now + 365 * 86400, now });
  const kv = await openSeedKv(`${dir}/state`);
  try {
    await kv.put([{ key: FEED_SNAPSHOT_KV_KEY, value: snapshot.toString('base64'), binary: true }]);
  } finally {
    await kv.dispose();
  }
  return { dir: `${dir}/state`, count, users, tokens, bytes: snapshot.byteLength, ms: Date.now() - started };
}
