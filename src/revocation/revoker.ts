import type { Config } from '../config/config';
import { KillswitchError } from '../errors';
import { logEvent } from '../log/logger';
import type { AuthenticToken } from '../verify/token';
import { mirrorFor } from '../feed/mirror';
import type { RevocationBindings } from './revocation-check';
import { GLOBAL_OBJECT_NAME, issuerTokenObjectName, userObjectName } from './storage-keys';
import type { AuditAction } from './audit-log';
import type { SessionRef } from './refresh-families';
import type {
  IdempotentOutcome,
  IssuerTokenInput,
  Propagation,
  RevokeIssuedBeforeInput,
  RevokeTokenInput,
  UserSnapshot,
} from './user-state';

/**
 * The write side, as the routes use it: each call returns once the single writer has stored
 * the change durably (docs/reference.md §4.1). A writer that cannot be reached is a KillswitchError
 * (`unavailable`: a 503 on the wire), never a 2xx.
 */
export async function atWriter<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    logEvent('writer_unavailable', { error: error instanceof Error ? error.message : 'unknown' });
    throw new KillswitchError('unavailable');
  }
}

/** What a caller is told when the writer stored a change but the feed did not take it in time. */
export const NOT_PROPAGATED =
  'stored, not yet on the feed every location reads: it will propagate (retried by the writer); retrying this call is safe';

/**
 * A writer's answer, acknowledged (docs/reference.md §4.1): the handling isolate's own mirror takes the
 * change at once; in bounded mode a change the feed does not hold yet is `not_propagated`, since the
 * bound runs from the 2xx. Other modes acknowledge on the writer's commit, as before.
 */
async function acknowledged<T extends Propagation>(config: Config, call: () => Promise<T>): Promise<Omit<T, keyof Propagation>> {
  const { propagated, changes, ...answer } = await atWriter(call);
  if (config.revocationMode !== 'bounded') return answer;
  mirrorFor(config).applyLocal(changes);
  if (!propagated) {
    logEvent('revocation_not_propagated', {});
    throw new KillswitchError('not_propagated', NOT_PROPAGATED);
  }
  return answer;
}

/** Bounded mode: how long after a user revocation its feed entry still matters. */
function entryLifetimeSeconds(config: Config): number | undefined {
  const lifetime = config.maxTokenLifetimeSeconds;
  return lifetime === undefined ? undefined : lifetime + 2 * config.clockToleranceSeconds;
}

export function revokeTokenById(bindings: RevocationBindings, config: Config, input: RevokeTokenInput) {
  return acknowledged(config, () => bindings.USER_STATE.getByName(userObjectName(input.sub, input.namespace)).revokeToken(input));
}

/** Denylists a token named by (`iss`, `jti`) alone (a security event naming no user): every check looks it up. */
export function revokeIssuerToken(bindings: RevocationBindings, config: Config, input: IssuerTokenInput) {
  return acknowledged(config, () =>
    bindings.USER_STATE.getByName(issuerTokenObjectName(input.iss, input.tokenId)).revokeIssuerToken(input),
  );
}

/** Denylists a verified token until it would have expired anyway. */
export function revokeToken(bindings: RevocationBindings, config: Config, token: AuthenticToken, actor: string, reason?: string) {
  const { iss, exp } = token.claims;
  return revokeTokenById(bindings, config, {
    sub: token.userId,
    namespace: token.issuer.userNamespace,
    iss,
    tokenId: token.tokenId,
    exp,
    forgetAt: exp + config.clockToleranceSeconds,
    actor,
    reason,
  });
}

export function revokeUser(
  bindings: RevocationBindings,
  config: Config,
  input: { sub: string; namespace?: string; actor: string; reason?: string; idempotencyKey?: string },
): Promise<UserSnapshot & { idempotent?: IdempotentOutcome }> {
  return acknowledged(config, () =>
    bindings.USER_STATE.getByName(userObjectName(input.sub, input.namespace)).revokeUser({
      ...input,
      entryLifetimeSeconds: entryLifetimeSeconds(config),
    }),
  );
}

/** docs/reference.md §7: a security event's user revocation, acknowledged like an admin one (bounded mode waits for the feed). */
export function revokeIssuedBefore(
  bindings: RevocationBindings,
  config: Config,
  input: Omit<RevokeIssuedBeforeInput, 'entryLifetimeSeconds'>,
): Promise<UserSnapshot & { moved: boolean }> {
  return acknowledged(config, () =>
    bindings.USER_STATE.getByName(userObjectName(input.sub, input.namespace)).revokeIssuedBefore({
      ...input,
      entryLifetimeSeconds: entryLifetimeSeconds(config),
    }),
  );
}

export async function revokeSession(
  bindings: RevocationBindings,
  config: Config,
  input: { sub: string; session: SessionRef; actor: string; reason?: string; clockTolerance: number },
): Promise<boolean> {
  const { ended } = await acknowledged(config, () => bindings.USER_STATE.getByName(userObjectName(input.sub)).revokeSession(input));
  return ended;
}

export function revokeAll(bindings: RevocationBindings, config: Config, actor: string, reason: string): Promise<{ revokedBefore: number }> {
  return acknowledged(config, () => bindings.GLOBAL_STATE.getByName(GLOBAL_OBJECT_NAME).revokeAll({ actor, reason }));
}

/** A user's state and sessions; the global revoked-before says which sessions a revoke-all ended. */
export function userState(bindings: RevocationBindings, sub: string, namespace?: string) {
  return atWriter(async () => {
    const { revokedBefore } = await bindings.GLOBAL_STATE.getByName(GLOBAL_OBJECT_NAME).state();
    return bindings.USER_STATE.getByName(userObjectName(sub, namespace)).state(sub, revokedBefore);
  });
}

export function auditPage(
  bindings: RevocationBindings,
  query: { sub?: string; namespace?: string; limit: number; cursor?: string; action?: AuditAction },
) {
  const { sub, namespace, limit, cursor, action } = query;
  return atWriter(() =>
    sub === undefined
      ? bindings.GLOBAL_STATE.getByName(GLOBAL_OBJECT_NAME).auditPage(limit, cursor, action)
      : bindings.USER_STATE.getByName(userObjectName(sub, namespace)).auditPage(limit, cursor, action),
  );
}
