import { HTTPException } from 'hono/http-exception';
import type { Config } from '../config/config';
import { logEvent } from '../log/logger';
import { errorResponse } from '../routes/responses';
import type { AuthenticToken } from '../verify/verifier';
import type { RevocationBindings } from './revocation-check';
import { GLOBAL_OBJECT_NAME, userObjectName } from './storage-keys';
import type { AuditAction } from './audit-log';
import type { SessionRef } from './refresh-families';
import type { RevokeTokenInput, UserSnapshot } from './user-state';

/**
 * The write side, as the routes use it: each call returns once the single writer has stored
 * the change durably (SPEC §4.1). A writer that cannot be reached is a 503, never a 2xx.
 */
export async function atWriter<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    logEvent('writer_unavailable', { error: error instanceof Error ? error.message : 'unknown' });
    throw new HTTPException(503, { res: errorResponse(503, 'temporarily_unavailable') });
  }
}

export function revokeTokenById(bindings: RevocationBindings, input: RevokeTokenInput): Promise<{ revokedAt: number }> {
  return atWriter(() => bindings.USER_STATE.getByName(userObjectName(input.sub)).revokeToken(input));
}

/** Denylists a verified token until it would have expired anyway. */
export function revokeToken(
  bindings: RevocationBindings,
  config: Config,
  token: AuthenticToken,
  actor: string,
  reason?: string,
): Promise<{ revokedAt: number }> {
  const { sub, iss, exp } = token.claims;
  return revokeTokenById(bindings, {
    sub, iss, tokenId: token.tokenId, exp, forgetAt: exp + config.clockToleranceSeconds, actor, reason,
  });
}

export function revokeUser(bindings: RevocationBindings, sub: string, actor: string, reason?: string): Promise<UserSnapshot> {
  return atWriter(() => bindings.USER_STATE.getByName(userObjectName(sub)).revokeUser({ sub, actor, reason }));
}

export function revokeSession(
  bindings: RevocationBindings,
  input: { sub: string; session: SessionRef; actor: string; reason?: string; clockTolerance: number },
): Promise<boolean> {
  return atWriter(() => bindings.USER_STATE.getByName(userObjectName(input.sub)).revokeSession(input));
}

export function revokeAll(bindings: RevocationBindings, actor: string, reason: string): Promise<{ revokedBefore: number }> {
  return atWriter(() => bindings.GLOBAL_STATE.getByName(GLOBAL_OBJECT_NAME).revokeAll({ actor, reason }));
}

/** A user's state and sessions; the global revoked-before says which sessions a revoke-all ended. */
export function userState(bindings: RevocationBindings, sub: string) {
  return atWriter(async () => {
    const { revokedBefore } = await bindings.GLOBAL_STATE.getByName(GLOBAL_OBJECT_NAME).state();
    return bindings.USER_STATE.getByName(userObjectName(sub)).state(sub, revokedBefore);
  });
}

export function auditPage(
  bindings: RevocationBindings, query: { sub?: string; limit: number; cursor?: string; action?: AuditAction },
) {
  const { sub, limit, cursor, action } = query;
  return atWriter(() =>
    sub === undefined
      ? bindings.GLOBAL_STATE.getByName(GLOBAL_OBJECT_NAME).auditPage(limit, cursor, action)
      : bindings.USER_STATE.getByName(userObjectName(sub)).auditPage(limit, cursor, action),
  );
}
