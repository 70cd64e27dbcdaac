import type { MiddlewareHandler } from 'hono';
import type { JWTPayload } from 'jose';
import { Guard, type GuardOptions } from './guard';

/**
 * Hono middleware for a Node origin (@hono/node-server; docs/origins.md): a verified, unrevoked
 * token's claims in `c.get('auth')`; otherwise 401 (or 503) with the reason.
 */
export function killswitchHono(options: GuardOptions) {
  const guard = new Guard(options);
  const middleware: MiddlewareHandler<{ Variables: { auth: JWTPayload } }> = async (c, next) => {
    const answer = await guard.check(c.req.header('Authorization'));
    if (!answer.ok) return c.json(answer.body, answer.status, answer.headers);
    c.set('auth', answer.claims);
    await next();
  };
  return Object.assign(middleware, { guard });
}
