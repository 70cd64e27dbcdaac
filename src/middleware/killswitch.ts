import type { ReaderLocation } from '../feed/feed-client';
import { createMiddleware } from 'hono/factory';
import { HTTPException } from 'hono/http-exception';
import { ConfigError } from '../config/config';
import { logEvent } from '../log/logger';
import { configOrError } from '../observe-call';
import type { RevocationBindings } from '../revocation/revocation-check';
import { bearerToken } from '../http/bearer';
import { errorResponse, refusalResponse, waitUntilOf } from '../http/responses';
import type { AuthenticToken } from '../verify/token';
import { verifyToken } from '../verify-token';

export interface KillswitchOptions {
  /** Read revocation state from the Durable Objects instead of KV. Default: REVOCATION_MODE. */
  readonly strict?: boolean | ((request: Request) => boolean);
}

/** What the app sees of an accepted token: deeply frozen (see handedOut). */
export interface KillswitchAuth {
  readonly claims: AuthenticToken['claims'];
  /** The user id revocations name: the issuer's `userClaim` (`sub` by default; Okta: `uid`). */
  readonly user: string;
  /** The `jti`, or `sha256:<digest of header.payload>` for a token without one. */
  readonly tokenId: string;
}

export interface KillswitchEnv {
  Bindings: RevocationBindings;
  /** `user` is `auth.user`, for handlers that need only the id. */
  Variables: { auth: KillswitchAuth; user: string };
}

/**
 * Freezes JSON data (objects and arrays) all the way down. A loop, not recursion: an 8 KiB
 * token can nest arrays thousands deep.
 */
function deepFreeze<T extends object>(root: T): T {
  const pending: unknown[] = [root];
  for (let value = pending.pop(); value !== undefined; value = pending.pop()) {
    if (typeof value !== 'object' || value === null || Object.isFrozen(value)) continue;
    Object.freeze(value);
    pending.push(...Object.values(value));
  }
  return root;
}

/**
 * The verifier's cache serves one AuthenticToken to every request that presents the same
 * token, so the app gets a deeply frozen copy (made once per verified token): a handler
 * cannot change what later requests see. A copy, so killswitch's own copy keeps V8's fast
 * JSON.stringify (frozen arrays take a recursive path that deep nesting overflows).
 */
const handedOut = new WeakMap<AuthenticToken, KillswitchAuth>();

function forTheApp(token: AuthenticToken): KillswitchAuth {
  let auth = handedOut.get(token);
  if (auth === undefined) {
    auth = deepFreeze({ claims: structuredClone(token.claims), user: token.userId, tokenId: token.tokenId });
    handedOut.set(token, auth);
  }
  return auth;
}

/**
 * Hono middleware: refuses the request unless its `Authorization: Bearer` token is genuine,
 * unexpired and not revoked (docs/reference.md §3), and puts the accepted claims, frozen, in `c.var.auth`
 * and the user id in `c.var.user`.
 * Configuration is read from the worker's bindings (docs/reference.md §2), parsed once per isolate.
 * A refusal is an HTTPException whose response is the docs/reference.md §3.1 401 (or 503).
 *
 *   app.use('/api/*', killswitch())
 */
export function killswitch(options: KillswitchOptions = {}) {
  const { strict } = options;
  if (strict !== undefined && typeof strict !== 'boolean' && typeof strict !== 'function') {
    throw new TypeError('killswitch: options.strict must be a boolean or a function');
  }
  return createMiddleware<KillswitchEnv>(async (c, next) => {
    const config = configOrError(c.env);
    if (config instanceof ConfigError) {
      logEvent('config_error', { error: config.message });
      throw new HTTPException(500, { res: errorResponse(500, 'server_misconfigured') });
    }
    const token = bearerToken(c.req.header('Authorization'));
    const result = await verifyToken(token, config, c.env, {
      strict: typeof strict === 'function' ? strict(c.req.raw) : strict,
      waitUntil: waitUntilOf(c),
      location: c.req.raw.cf as ReaderLocation | undefined,
    });
    if (!result.active) {
      // Hono answers an HTTPException with its own status, whatever `res` says: pass the same one.
      const res = refusalResponse(result.reason);
      throw new HTTPException(res.status as 401 | 503, { res });
    }
    const auth = forTheApp(result.token);
    c.set('auth', auth);
    c.set('user', auth.user);
    await next();
  });
}
