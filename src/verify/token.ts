/**
 * What the verifier hands out, as types only: a leaf module, so the verifier, its cache and
 * the revocation check can all name a token without importing one another.
 */
import type { IssuerConfig } from '../config/config';
import type { Claims } from './compact-jws';
import type { Reason } from './reasons';

/** A token whose signature and claims passed; revocation not yet checked. */
export interface AuthenticToken {
  readonly claims: Claims & { readonly sub: string; readonly exp: number; readonly iss: string };
  readonly issuer: IssuerConfig;
  /** The `jti`, or `sha256:<digest of header.payload>` for a token without one (never the signature: ECDSA signatures are malleable). */
  readonly tokenId: string;
  /**
   * The user revocation state is keyed by: the value of the issuer's userClaim (`sub` unless
   * configured). Every revocation read and write of this token goes through it, never `claims.sub`.
   */
  readonly userId: string;
}

/**
 * Who a refused token names, for the log line (docs/reference.md §5): set only once its signature
 * verified, so an attacker's made-up `sub` never reaches a log as if it were someone's.
 */
export interface RefusedIdentity {
  readonly sub?: string;
  readonly jti?: string;
  /** The user id, only where it is not the `sub` (an issuer with another userClaim). */
  readonly user?: string;
}

/** What a log line names of a verified token: `sub` and `jti`, and `user` where the user id is another claim. */
export function identityOf({ claims: { sub, jti }, userId }: AuthenticToken): RefusedIdentity {
  return userId === sub ? { sub, jti } : { sub, jti, user: userId };
}

/** Signature and claims: the verifier's answer (src/verify/verifier.ts). */
export type Authentication =
  | { readonly ok: true; readonly token: AuthenticToken }
  | { readonly ok: false; readonly reason: Reason; readonly identity?: RefusedIdentity };

/** The whole check's answer (src/verify-token.ts): genuine, unexpired and not revoked. */
export type VerifyResult =
  | { readonly active: true; readonly token: AuthenticToken }
  | { readonly active: false; readonly reason: Reason; readonly identity?: RefusedIdentity };
