import { Hono } from 'hono';
import { auditPage, revokeAll, revokeTokenById, revokeUser, userState } from '../revocation/revoker';
import { configStatus } from '../config/status';
import { metricsSnapshot } from '../metrics/metrics';
import { adminAuth } from './admin-auth';
import type { AppEnv } from './app-env';
import { readJsonObject } from './body';
import { ssfAdminRoutes } from './ssf-admin';
import { jsonResponse } from './responses';
import {
  AuditQuery, formObject, RevokeAllBody, SubParam, TokenRevokeBody, UserRevokeBody, validate,
} from './schemas';

/** SPEC §4.2 admin routes, all behind ADMIN_API_KEYS. Mounted at /v1/admin. */
export const adminRoutes = new Hono<AppEnv>();
adminRoutes.use('*', adminAuth);

adminRoutes.post('/users/:sub/revoke', async (c) => {
  const sub = validate(SubParam, c.req.param('sub'), 'sub');
  const { reason } = validate(UserRevokeBody, await readJsonObject(c));
  c.var.log.sub = sub;
  return jsonResponse(await revokeUser(c.env, sub, c.var.actor, reason));
});

adminRoutes.get('/users/:sub', async (c) => {
  const sub = validate(SubParam, c.req.param('sub'), 'sub');
  c.var.log.sub = sub;
  return jsonResponse(await userState(c.env, sub));
});

adminRoutes.post('/tokens/revoke', async (c) => {
  const { jti, sub, exp, iss = null, reason } = validate(TokenRevokeBody, await readJsonObject(c));
  Object.assign(c.var.log, { sub, jti });
  const forgetAt = exp + c.var.config.clockToleranceSeconds;
  await revokeTokenById(c.env, { sub, iss, tokenId: jti, exp, forgetAt, actor: c.var.actor, reason });
  return jsonResponse({ revoked: true, sub, jti, iss, exp });
});

adminRoutes.post('/revoke-all', async (c) => {
  const { reason } = validate(RevokeAllBody, await readJsonObject(c));
  return jsonResponse(await revokeAll(c.env, c.var.actor, reason));
});

adminRoutes.get('/audit', async (c) => {
  const query = validate(AuditQuery, formObject(new URL(c.req.url).searchParams));
  if (query.sub !== undefined) c.var.log.sub = query.sub;
  return jsonResponse(await auditPage(c.env, query));
});

/**
 * This isolate's request counts and latency (src/metrics: what Analytics Engine gets, locally),
 * the revocation promise in force and the trusted issuers' key status, as this isolate has them.
 */
adminRoutes.get('/stats', (c) => jsonResponse({ ...metricsSnapshot(), ...configStatus(c.var.config) }));

/** SPEC §7: Shared Signals streams. */
adminRoutes.route('/ssf', ssfAdminRoutes);
