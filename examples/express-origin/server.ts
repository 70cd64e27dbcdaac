/**
 * An Express origin that checks revocation itself, from its own copy of killswitch's feed
 * (docs/origins.md). Every request's JWT is verified with jose against the issuer's JWKS, then
 * checked against the in-process mirror: no call to killswitch per request.
 */
import express from 'express';
import { killswitchExpress } from 'killswitch/client';

const env = (name: string, fallback?: string): string => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
};
const jwks = env('JWKS'); // the issuer's JWKS URL (or, for the local demo, the key set as JSON)

const auth = killswitchExpress({
  url: env('KILLSWITCH_URL'), // the killswitch worker
  feedKey: env('KILLSWITCH_FEED_KEY'), // this service's key, one of the worker's FEED_API_KEYS
  boundMs: Number(env('REVOCATION_MAX_STALENESS_MS', '1000')), // the worker's bound
  failMode: 'closed', // past the bound and the feed out of reach: 503, never a silent accept
  issuer: env('ISSUER'),
  audience: env('AUDIENCE'),
  algorithms: ['ES256', 'RS256'],
  versionClaim: process.env.VERSION_CLAIM, // the issuer's versionClaim, if it has one
  jwks: jwks.startsWith('{') ? JSON.parse(jwks) : jwks,
});

const app = express();
app.use('/api', auth); // 401 {"error":"invalid_token","reason":…} or 503 {"reason":"unavailable"}
app.get('/api/me', (req, res) => {
  res.json({ sub: req.auth?.sub });
});

await auth.guard.ready(); // load the snapshot and the log before taking traffic
const port = Number(env('PORT', '3000'));
app.listen(port, '127.0.0.1', () => console.log(`express origin on http://127.0.0.1:${port}`));
