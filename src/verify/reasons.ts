/**
 * The stable reason codes of docs/reference.md §3. The same strings appear in HTTP bodies, RPC results,
 * logs and metrics; clients may switch on them, so they never change meaning.
 */
export const REASONS = [
  'missing_token',
  'malformed',
  'unsupported_alg',
  'unknown_key',
  'bad_signature',
  'expired',
  'not_yet_valid',
  'issued_in_future',
  'wrong_issuer',
  'wrong_audience',
  'missing_claim',
  'lifetime_too_long',
  'revoked_token',
  'revoked_user',
  'revoked_all',
  'unavailable',
] as const;

export type Reason = (typeof REASONS)[number];

/**
 * Refusals decided before any signature verified: anyone can send such tokens, for free and in
 * bulk, so their log lines are rationed (src/log/refusal-log.ts, docs/reference.md §5).
 */
export const UNAUTHENTICATED_REASONS: ReadonlySet<string> = new Set<Reason>([
  'missing_token',
  'malformed',
  'unsupported_alg',
  'wrong_issuer',
  'unknown_key',
  'bad_signature',
]);
