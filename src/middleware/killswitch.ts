import { createMiddleware } from 'hono/factory';
import { HTTPException } from 'hono/http-exception';
import { ConfigError, getConfig } from '../config/config';
import { logEvent } from '../log/logger';
import type { RevocationBindings } from '../revocation/revocation-check';
import { bearerToken } from '../routes/bearer';
import { errorResponse, refusalResponse, waitUntilOf } from '../routes/responses';
import { verifyToken, type AuthenticToken } from '../verify/verifier';

export interface KillswitchOptions {
  /** Read revocation state from the Durable Objects instead of KV. Default: REVOCATION_MODE. */
  readonly strict?: boolean | ((request: Request) => boolean);
}

export interface KillswitchEnv {
  Bindings: RevocationBindings;
  Variables: { auth: AuthenticToken };
}

/**
 * Hono middleware: refuses the request unless its `Authorization: Bearer` token is genuine,
 * unexpired and not revoked (SPEC §3), and puts the accepted claims in `c.var.auth`.
 * Configuration is read from the worker's bindings (SPEC §2), parsed once per isolate.
 * A refusal is an HTTPException whose response is the SPEC §3.1 401 (or 503).
 *
 *   app.use('/api/*', killswitch())
 */
export function killswitch(options: KillswitchOptions = {}) {
  const { strict } = options;
  if (strict !== undefined && typeof strict !== 'boolean' && typeof strict !== 'function') {
    throw new TypeError('killswitch: options.strict must be a boolean or a function');
  }
  return createMiddleware<KillswitchEnv>(async (c, next) => {
    let config;
    try {
      config = getConfig(c.env);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      logEvent('config_error', { error: error.message });
      throw new HTTPException(500, { res: errorResponse(500, 'server_misconfigured') });
    }
    const token = bearerToken(c.req.header('Authorization'));
    const result = await verifyToken(token, config, c.env, {
      strict: typeof strict === 'function' ? strict(c.req.raw) : strict,
      waitUntil: waitUntilOf(c),
    });
    if (!result.active) throw new HTTPException(401, { res: refusalResponse(result.reason) });
    c.set('auth', result.token);
    await next();
  });
}
