import type { JWTPayload } from 'jose';
import { Guard, type GuardOptions } from './guard';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- how Express's Request is extended (as express-jwt does)
  namespace Express {
    interface Request {
      /** The verified, unrevoked token's claims (killswitchExpress). */
      auth?: JWTPayload;
    }
  }
}

/** What the middleware needs of Express's request and response (no import of express itself). */
interface Req {
  headers: { authorization?: string };
  auth?: unknown;
}
interface Res {
  status(code: number): Res;
  set(headers: Record<string, string>): Res;
  json(body: unknown): unknown;
}

/**
 * Express middleware (docs/origins.md): a verified, unrevoked token's claims in `req.auth`;
 * otherwise 401 (or 503 `unavailable`) with the reason. `guard` is the Guard it uses (`ready()`, stats).
 */
export function killswitchExpress(options: GuardOptions) {
  const guard = new Guard(options);
  const middleware = (req: Req, res: Res, next: (error?: unknown) => void): void => {
    guard.check(req.headers.authorization).then((answer) => {
      if (answer.ok) {
        req.auth = answer.claims;
        next();
      } else res.status(answer.status).set(answer.headers).json(answer.body);
    }, next);
  };
  return Object.assign(middleware, { guard });
}
