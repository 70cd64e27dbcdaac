import { createMiddleware } from 'hono/factory';
import { HTTPException } from 'hono/http-exception';
import type { Config } from '../config/config';
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

/** A short, non-reversible name for the key used: what the audit trail records. */
function fingerprint(kind: string, digest: ArrayBuffer): string {
  const hex = [...new Uint8Array(digest).slice(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${kind}:${hex}`;
}

/**
 * Admits a request whose `Authorization: Bearer` is one of `keysOf(config)`. Keys compare as
 * SHA-256 digests with timingSafeEqual, against every configured key without stopping early.
 * Every refusal is the same 401, whether the key is missing or wrong; no keys admit nobody.
 */
function bearerKeyAuth(keysOf: (config: Config) => readonly string[], kind: 'admin' | 'feed') {
  return createMiddleware<AppEnv>(async (c, next) => {
    const presented = bearerToken(c.req.header('Authorization')) ?? '';
    const match = await matchingDigest(presented, await configuredDigests(keysOf(c.var.config)));
    if (match === undefined) {
      throw new HTTPException(401, {
        res: jsonResponse({ error: 'unauthorized' }, 401, { 'WWW-Authenticate': `Bearer realm="killswitch-${kind}"` }),
      });
    }
    c.set('actor', fingerprint(kind, match));
    await next();
  });
}

/** Whether `presented` is one of ADMIN_API_KEYS (the same comparison as adminAuth). */
export async function isAdminKey(presented: string | undefined, config: Config): Promise<boolean> {
  return presented !== undefined && (await matchingDigest(presented, await configuredDigests(config.adminKeys))) !== undefined;
}

/** docs/reference.md §4.2: one of ADMIN_API_KEYS. */
export const adminAuth = bearerKeyAuth((config) => config.adminKeys, 'admin');

/** docs/reference.md §9: one of FEED_API_KEYS (an admin key is as wrong as any other). */
export const feedAuth = bearerKeyAuth((config) => config.feedKeys, 'feed');
