/**
 * What domain code (revocation, verify, tokens, ssf) throws when it cannot give its answer.
 * It knows nothing of HTTP: src/http/errors.ts maps each code to the wire, in one place.
 * - `unavailable`: a writer or the state could not be reached; nothing was acknowledged.
 * - `not_propagated`: the writer stored the change, but the feed every location reads did not
 *   take it in time (bounded mode); it will propagate, and repeating the call is safe.
 */
export type KillswitchErrorCode = 'unavailable' | 'not_propagated';

/** Seconds a caller should wait before repeating a call that found state unreachable. */
export const RETRY_AFTER_SECONDS = 1;

export class KillswitchError extends Error {
  override readonly name = 'KillswitchError';

  constructor(
    readonly code: KillswitchErrorCode,
    /** Safe to show the caller: never a token, a key or a storage error's own words. */
    readonly description?: string,
    readonly retryAfterSeconds = RETRY_AFTER_SECONDS,
  ) {
    super(description ?? code);
  }
}
