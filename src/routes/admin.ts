import { Hono } from 'hono';
import { AUDIT_PAGE_MAX } from '../revocation/audit-log';
import { auditPage, revokeAll, revokeTokenById, revokeUser, userState } from '../revocation/revoker';
import { adminAuth } from './admin-auth';
import type { AppEnv } from './app-env';
import { badRequest, readJsonObject } from './body';
import {
  cursorParam, limitParam, MAX_ID_CHARS, optionalId, optionalReason, requiredId, requiredNumericDate,
} from './fields';
import { jsonResponse } from './responses';

/** SPEC §4.2 admin routes, all behind ADMIN_API_KEYS. Mounted at /v1/admin. */
export const adminRoutes = new Hono<AppEnv>();
adminRoutes.use('*', adminAuth);

function subParam(sub: string | undefined): string {
  if (sub === undefined || sub === '' || sub.length > MAX_ID_CHARS) throw badRequest('bad "sub" in the path');
  return sub;
}

adminRoutes.post('/users/:sub/revoke', async (c) => {
  const sub = subParam(c.req.param('sub'));
  const reason = optionalReason(await readJsonObject(c));
  c.var.log.sub = sub;
  return jsonResponse(await revokeUser(c.env, sub, c.var.actor, reason));
});

adminRoutes.get('/users/:sub', async (c) => {
  const sub = subParam(c.req.param('sub'));
  c.var.log.sub = sub;
  return jsonResponse(await userState(c.env, sub));
});

adminRoutes.post('/tokens/revoke', async (c) => {
  const body = await readJsonObject(c);
  const jti = requiredId(body, 'jti');
  const sub = requiredId(body, 'sub');
  const exp = requiredNumericDate(body, 'exp');
  const iss = optionalId(body, 'iss') ?? null;
  const reason = optionalReason(body);
  Object.assign(c.var.log, { sub, jti });
  const forgetAt = exp + c.var.config.clockToleranceSeconds;
  await revokeTokenById(c.env, { sub, iss, tokenId: jti, exp, forgetAt, actor: c.var.actor, reason });
  return jsonResponse({ revoked: true, sub, jti, iss, exp });
});

adminRoutes.post('/revoke-all', async (c) => {
  const reason = optionalReason(await readJsonObject(c), true)!;
  return jsonResponse(await revokeAll(c.env, c.var.actor, reason));
});

adminRoutes.get('/audit', async (c) => {
  const sub = c.req.query('sub');
  if (sub !== undefined) c.var.log.sub = subParam(sub);
  const limit = limitParam(c.req.query('limit'), 50, AUDIT_PAGE_MAX);
  return jsonResponse(await auditPage(c.env, sub, limit, cursorParam(c.req.query('cursor'))));
});
