import { createMiddleware } from 'hono/factory';
import { HTTPException } from 'hono/http-exception';
import { matchingDigest, sha256 } from '../http/bearer-secret';
import type { AppEnv } from './app-env';
import { bearerToken } from '../http/bearer';
import { jsonResponse } from '../http/responses';

/** Digests of the configured keys, computed once per key list. */
const digestsByKeys = new WeakMap<readonly string[], Promise<ArrayBuffer[]>>();

function configuredDigests(keys: readonly string[]): Promise<ArrayBuffer[]> {
  let digests = digestsByKeys.get(keys);
  if (digests === undefined) digestsByKeys.set(keys, (digests = Promise.all(keys.map(sha256))));
  return digests;
}

/** A short, non-reversible name for the admin key used: what the audit trail records. */
function fingerprint(digest: ArrayBuffer): string {
  const hex = [...new Uint8Array(digest).slice(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `admin:${hex}`;
}

/**
 * Admits a request whose `Authorization: Bearer` is one of ADMIN_API_KEYS. Keys compare as
 * SHA-256 digests with timingSafeEqual, against every configured key without stopping early.
 * Every refusal is the same 401, whether the key is missing or wrong; no keys admit nobody.
 */
export const adminAuth = createMiddleware<AppEnv>(async (c, next) => {
  const presented = bearerToken(c.req.header('Authorization')) ?? '';
  const match = await matchingDigest(presented, await configuredDigests(c.var.config.adminKeys));
  if (match === undefined) {
    throw new HTTPException(401, {
      res: jsonResponse({ error: 'unauthorized' }, 401, { 'WWW-Authenticate': 'Bearer realm="killswitch-admin"' }),
    });
  }
  c.set('actor', fingerprint(match));
  await next();
});
