import type { ReaderLocation } from '../feed/feed-client';
import type { Context } from 'hono';
import { identityOf, type AuthenticToken } from '../verify/token';
import { verifyToken } from '../verify-token';
import { isForwardAuthHost } from '../config/forward-auth-hosts';
import type { AppEnv } from './app-env';
import { bearerToken } from '../http/bearer';
import { errorResponse, jsonResponse, refusalResponse, waitUntilOf } from '../http/responses';
import { isAdminKey } from './admin-auth';
import type { ResponseBody } from './schemas';

/**
 * Header values must be visible ASCII, and HTTP trims their outer whitespace: `%`, anything
 * outside printable ASCII, and a leading or trailing space are percent-encoded (UTF-8). As `%`
 * itself is escaped, `decodeURIComponent` gives the claim back exactly, and two claims never
 * share a header (README "X-Auth-* headers"). Claims with lone surrogates are refused at parse.
 */
const NEEDS_ESCAPE = /[^\x20-\x24\x26-\x7e]|^ | $/gu;
function headerValue(value: string): string {
  return value.replace(NEEDS_ESCAPE, encodeURIComponent);
}

function authHeaders({ claims, userId }: AuthenticToken): Record<string, string> {
  const headers: Record<string, string> = {
    'X-Auth-Subject': headerValue(claims.sub),
    // The user id revocations name (the issuer's userClaim). Always sent, even when it equals
    // the sub: a backend keying on it must never see a value the gateway let a client supply.
    'X-Auth-User': headerValue(userId),
    'X-Auth-Issuer': headerValue(claims.iss),
    'X-Auth-Expires': String(claims.exp),
  };
  if (claims.jti !== undefined) headers['X-Auth-Token-Id'] = headerValue(claims.jti);
  if (claims.scope !== undefined) headers['X-Auth-Scope'] = headerValue(claims.scope);
  return headers;
}

/**
 * docs/reference.md §3.1 forward-auth: any method on /v1/verify and below. The token comes only from the
 * Authorization header; `?strict=1` asks the single writers instead of KV.
 */
export async function verifyRoute(c: Context<AppEnv>): Promise<Response> {
  // On a FORWARD_AUTH_HOSTS host the query is the end user's (a gateway forwards their URL): a
  // token holder must not turn every check into Durable Object reads of the one global object.
  const strict = c.req.query('strict') === '1' && !isForwardAuthHost(c.req.raw, c.env) ? true : undefined;
  // Each strict check reads the user's Durable Object: only operators (or a deployment that
  // chose PUBLIC_STRICT) may ask for it, not every token holder.
  if (strict && !c.var.config.publicStrict && !(await isAdminKey(c.req.header('Killswitch-Admin-Key'), c.var.config))) {
    return errorResponse(403, 'strict_not_allowed', '?strict=1 needs PUBLIC_STRICT=true or an admin key in Killswitch-Admin-Key');
  }
  const result = await verifyToken(bearerToken(c.req.header('Authorization')), c.var.config, c.env, {
    strict,
    waitUntil: waitUntilOf(c),
    location: c.req.raw.cf as ReaderLocation | undefined,
  });
  if (!result.active) {
    Object.assign(c.var.log, { reason: result.reason, ...result.identity });
    return refusalResponse(result.reason);
  }
  const { claims } = result.token;
  Object.assign(c.var.log, { ...identityOf(result.token), accepted: true });
  // A claim named "active" cannot override ours. Rest/spread copy own properties, so a claim
  // named "__proto__" is echoed as data (Object.assign would set the prototype instead).
  const { active: _ignored, ...rest } = claims;
  return jsonResponse({ active: true, ...rest } satisfies ResponseBody<'VerifyActive'>, 200, authHeaders(result.token));
}
