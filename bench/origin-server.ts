/**
 * bench/origin.mjs's two origins, the same Express app but for one middleware: `jose` verifies
 * the JWT against the issuer's key set (what an origin does without killswitch), or
 * killswitchExpress does that and then checks revocation in its mirror (killswitch/client).
 */
import type { AddressInfo } from 'node:net';
import express, { type RequestHandler } from 'express';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { killswitchExpress } from 'killswitch/client';

export interface OriginOptions {
  readonly killswitchUrl: string;
  readonly feedKey: string;
  readonly issuer: string;
  readonly jwks: JSONWebKeySet;
}

export async function startOrigin(mode: 'jose' | 'killswitch', options: OriginOptions): Promise<number> {
  const verifyOptions = { issuer: options.issuer, audience: 'api', algorithms: ['ES256'], requiredClaims: ['exp', 'sub'] };
  let auth: RequestHandler;
  if (mode === 'jose') {
    const keys = createLocalJWKSet(options.jwks);
    auth = (req, res, next) => {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
      jwtVerify(token, keys, verifyOptions).then(
        ({ payload }) => {
          req.auth = payload;
          next();
        },
        () => res.status(401).json({ error: 'invalid_token' }),
      );
    };
  } else {
    const guard = killswitchExpress({
      ...verifyOptions,
      url: options.killswitchUrl,
      feedKey: options.feedKey,
      jwks: options.jwks,
      versionClaim: 'ver',
    });
    if (!(await guard.guard.ready())) throw new Error('the feed could not be read');
    auth = guard;
  }
  const app = express();
  app.use(auth);
  app.get('/api/me', (req, res) => {
    res.json({ sub: req.auth?.sub });
  });
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}
