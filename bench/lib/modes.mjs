// @ts-check
// The revocation modes the bench runs side by side, one killswitch Worker (one isolate, its
// own state) each. A mode marked optional runs only when the measured build accepts it: a
// build that does not know it answers 500 server_misconfigured, and the bench says so.
// Every mode gets the same other settings, so the columns differ by the mode alone.

/**
 * @typedef {object} Mode
 * @property {string} id
 * @property {Record<string, string>} env
 * @property {boolean} optional
 * @property {number | undefined} boundMs the staleness bound first refusal is judged against
 * @property {'kv-denylist' | 'feed-snapshot' | undefined} scaleSeed how the 100k-entry scale run seeds it: KV `token:` keys
 *   (bench/lib/denylist.mjs, read per check in cached mode), the feed's KV snapshot its mirror loads
 *   (bench/lib/feed-snapshot-seed.mjs), or nothing (strict: a per-user Durable Object read, whatever the count)
 */

/** @type {Mode[]} */
export const MODES = [
  { id: 'cached', env: { REVOCATION_MODE: 'cached' }, optional: false, boundMs: undefined, scaleSeed: 'kv-denylist' },
  { id: 'strict', env: { REVOCATION_MODE: 'strict' }, optional: false, boundMs: undefined, scaleSeed: undefined },
  // SPEC v2 §4.1; REVOCATION_MAX_STALENESS_MS left at its default.
  { id: 'bounded', env: { REVOCATION_MODE: 'bounded' }, optional: true, boundMs: 1000, scaleSeed: 'feed-snapshot' },
];

/** Bounded mode requires a maximum token lifetime; the pools' tokens live an hour. */
export const COMMON_ENV = { MAX_TOKEN_LIFETIME_SECONDS: '86400' };
