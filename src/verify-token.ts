import type { Config, FailMode } from './config/config';
import type { ReaderLocation } from './feed/feed-client';
import { checkRevocation, type RevocationBindings } from './revocation/revocation-check';
import { identityOf, type VerifyResult } from './verify/token';
import { authenticate } from './verify/verifier';

/**
 * The whole check, top to bottom, in the order of docs/reference.md §3: authenticate (parse → header →
 * issuer → key → signature → claims, src/verify/verifier.ts) → revocation
 * (src/revocation/revocation-check.ts) → FAIL_MODE. It sits above both folders so that
 * neither imports the other's orchestration.
 */

export interface VerifyOptions {
  readonly strict?: boolean;
  /** The request's ExecutionContext.waitUntil: bounded mode refreshes its mirror ahead under it. */
  readonly waitUntil?: (promise: Promise<unknown>) => void;
  /** The request's `cf` (its continent): bounded mode reads the nearest feed replica first. */
  readonly location?: ReaderLocation;
  /** Overrides FAIL_MODE: introspection (docs/reference.md §4.3) is always `closed`. */
  readonly failMode?: FailMode;
}

/** Genuine, unexpired and not revoked, right now. */
export async function verifyToken(
  token: string | undefined,
  config: Config,
  bindings: RevocationBindings,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  const auth = await authenticate(token, config);
  if (!auth.ok) return { active: false, reason: auth.reason, identity: auth.identity };
  const mode = options.strict === true ? 'strict' : config.revocationMode;
  const revoked = await checkRevocation(auth.token, mode, config, bindings, { waitUntil: options.waitUntil, location: options.location });
  const failMode = options.failMode ?? config.failMode;
  if (revoked !== undefined && !(revoked === 'unavailable' && failMode === 'open')) {
    return { active: false, reason: revoked, identity: identityOf(auth.token) };
  }
  return { active: true, token: auth.token };
}
