import { Hono, type Context } from 'hono';
import { auditPage, revokeAll, revokeTokenById, revokeUser, userState } from '../revocation/revoker';
import { configStatus } from '../config/status';
import { metricsSnapshot } from '../metrics/metrics';
import { existingMirror } from '../feed/mirror';
import { adminAuth } from './admin-auth';
import type { AppEnv } from './app-env';
import { badRequest, readJsonObject } from '../http/body';
import { ssfAdminRoutes } from './ssf-admin';
import { errorResponse, jsonResponse } from '../http/responses';
import {
  AuditQuery,
  formObject,
  NamespaceQuery,
  RevokeAllBody,
  SubParam,
  TokenRevokeBody,
  UserLookupBody,
  UserRevokeBody,
  UserRevokeBySubBody,
  validate,
  type ResponseBody,
} from './schemas';
import { nowSeconds } from '../clock';

/** docs/reference.md §4.2 admin routes, all behind ADMIN_API_KEYS. Mounted at /v1/admin. */
export const adminRoutes = new Hono<AppEnv>();
adminRoutes.use('*', adminAuth);

/**
 * `?namespace=` (docs/reference.md §4.1): the user namespace a user id is in; absent, the shared
 * one. A name no issuer configures is a 400, never an empty namespace that looks like a clean user.
 */
function namespaceOf(c: Context<AppEnv>): string | undefined {
  const { namespace } = validate(NamespaceQuery, { namespace: c.req.query('namespace') });
  if (namespace !== undefined && !c.var.config.userNamespaces.has(namespace)) {
    throw badRequest('"namespace" must be the userNamespace of a trusted issuer; omit it for the shared namespace');
  }
  return namespace;
}

/** How an answer names its user: `user` beside `sub`, and the namespace unless it is the shared one. */
function named<T extends { sub: string }>(answer: T, namespace: string | undefined) {
  return { ...answer, user: answer.sub, ...(namespace === undefined ? {} : { namespace }) };
}

/** `Idempotency-Key`: a retried user revocation (say after a 503) answers the first call's result instead of bumping again. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * A user revocation, whichever form named the user; `Idempotency-Key` makes a retry safe. The key
 * is bound to the admin identity (the key's fingerprint, never the key), the user and the body.
 */
async function revokeUserRoute(c: Context<AppEnv>, sub: string, reason: string | undefined) {
  const idempotencyKey = c.req.header('Idempotency-Key');
  if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
    return errorResponse(400, 'invalid_request', 'Idempotency-Key: 1 to 255 visible ASCII characters');
  }
  const namespace = namespaceOf(c);
  c.var.log.sub = sub;
  const { idempotent, ...answer } = await revokeUser(c.env, c.var.config, { sub, namespace, actor: c.var.actor, reason, idempotencyKey });
  if (idempotent === 'conflict') {
    return errorResponse(422, 'idempotency_key_reused', 'this Idempotency-Key was used with another body for this user; use a new key');
  }
  const headers: Record<string, string> = idempotent === 'replayed' ? { 'Idempotent-Replayed': 'true' } : {};
  return jsonResponse(named(answer, namespace) satisfies ResponseBody<'UserSnapshot'>, 200, headers);
}

async function userStateRoute(c: Context<AppEnv>, sub: string) {
  const namespace = namespaceOf(c);
  c.var.log.sub = sub;
  return jsonResponse(named(await userState(c.env, sub, namespace), namespace) satisfies ResponseBody<'UserState'>);
}

/**
 * The user in the body: any `sub` a token can carry, which a path cannot always (runtimes
 * normalize `.`/`..` segments away, even percent-encoded ones, and URLs have length limits).
 */
adminRoutes.post('/users/revoke', async (c) => {
  const { sub, reason } = validate(UserRevokeBySubBody, await readJsonObject(c));
  return revokeUserRoute(c, sub, reason);
});

adminRoutes.post('/users/lookup', async (c) => {
  const { sub } = validate(UserLookupBody, await readJsonObject(c));
  return userStateRoute(c, sub);
});

adminRoutes.post('/users/:sub/revoke', async (c) => {
  const sub = validate(SubParam, c.req.param('sub'), 'sub');
  const { reason } = validate(UserRevokeBody, await readJsonObject(c));
  return revokeUserRoute(c, sub, reason);
});

adminRoutes.get('/users/:sub', async (c) => {
  const sub = validate(SubParam, c.req.param('sub'), 'sub');
  return userStateRoute(c, sub);
});

/**
 * A token already past `exp` + the clock tolerance is refused as `expired` everywhere: there is
 * nothing to store, and the answer says so rather than claim a revocation.
 */
adminRoutes.post('/tokens/revoke', async (c) => {
  const { jti, sub, exp, iss = null, reason } = validate(TokenRevokeBody, await readJsonObject(c));
  const namespace = namespaceOf(c);
  Object.assign(c.var.log, { sub, jti });
  const forgetAt = exp + c.var.config.clockToleranceSeconds;
  if (forgetAt <= nowSeconds())
    return jsonResponse(
      named({ revoked: false, reason: 'expired', sub, jti, iss, exp } as const, namespace) satisfies ResponseBody<'TokenRevoked'>,
    );
  await revokeTokenById(c.env, c.var.config, { sub, namespace, iss, tokenId: jti, exp, forgetAt, actor: c.var.actor, reason });
  return jsonResponse(named({ revoked: true, sub, jti, iss, exp } as const, namespace) satisfies ResponseBody<'TokenRevoked'>);
});

adminRoutes.post('/revoke-all', async (c) => {
  const { reason } = validate(RevokeAllBody, await readJsonObject(c));
  return jsonResponse((await revokeAll(c.env, c.var.config, c.var.actor, reason)) satisfies ResponseBody<'RevokeAllResult'>);
});

adminRoutes.get('/audit', async (c) => {
  const query = validate(AuditQuery, formObject(new URL(c.req.url).searchParams));
  if (query.sub !== undefined) c.var.log.sub = query.sub;
  return jsonResponse((await auditPage(c.env, { ...query, namespace: namespaceOf(c) })) satisfies ResponseBody<'AuditPage'>);
});

/**
 * This isolate's request counts and latency (src/metrics): what Analytics Engine gets, locally;
 * the revocation promise in force and the trusted issuers' key status, as this isolate has them;
 * in bounded mode also its mirror (seq, age, entries, feed reads, cache hits, strict reads).
 */
adminRoutes.get('/stats', (c) => {
  const mirror = existingMirror(c.var.config);
  const stats = { ...metricsSnapshot(), ...configStatus(c.var.config) };
  return jsonResponse((mirror === undefined ? stats : { ...stats, mirror: mirror.stats() }) satisfies ResponseBody<'Stats'>);
});

/** docs/reference.md §7: Shared Signals streams. */
adminRoutes.route('/ssf', ssfAdminRoutes);
