// Verify-only peers (SPEC-free): each checks signature, exp/nbf/iat and, where the library
// offers it, iss and aud, then answers 200 with the claims, or 401. No revocation, no logging.
import { Hono } from 'hono';
import { jwt } from 'hono/jwt';
import { jwk } from 'hono/jwk';
import tsndr from '@tsndr/cloudflare-worker-jwt';
import { importJWK, jwtVerify } from 'jose';

const IMPORT_PARAMS = {
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
  RS256: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  EdDSA: { name: 'Ed25519' },
  HS256: { name: 'HMAC', hash: 'SHA-256' },
};

let setup; // per isolate: { [alg]: { issuer, audience, cryptoKey, joseKey, honoJwt, honoJwk } }

async function buildSetup(env) {
  const config = JSON.parse(env.PEER_CONFIG);
  const out = {};
  for (const [alg, entry] of Object.entries(config.algs)) {
    const keyData = alg === 'HS256' ? { kty: 'oct', k: entry.secret } : entry.publicJwk;
    const cryptoKey = await crypto.subtle.importKey('jwk', keyData, IMPORT_PARAMS[alg], false, ['verify']);
    const joseKey = await importJWK(keyData, alg);
    const verification = { iss: entry.issuer, aud: entry.audience };
    out[alg] = {
      issuer: entry.issuer,
      audience: entry.audience,
      cryptoKey,
      joseKey,
      honoJwt: jwt({ secret: cryptoKey, alg, verification }),
      honoJwk: alg === 'HS256' ? undefined : jwk({ jwks_uri: `${config.jwksBase}/${alg}/jwks.json`, alg: [alg], verification }),
    };
  }
  return out;
}

const app = new Hono();

app.use('*', async (c, next) => {
  setup ??= buildSetup(c.env);
  c.set('peers', await setup);
  await next();
});

app.get('/healthz', (c) => c.json({ ok: true }));

const peerFor = (c) => {
  const peer = c.get('peers')[c.req.param('alg')];
  if (peer === undefined) return undefined;
  return peer;
};

const bearer = (c) => {
  const header = c.req.header('Authorization') ?? '';
  return /^bearer /i.test(header) ? header.slice(7) : undefined;
};

const ok = (c, payload) => c.json(Object.assign({ active: true }, payload));
const refused = (c) => c.json({ active: false }, 401);

app.all(
  '/hono-jwt/:alg',
  async (c, next) => {
    const peer = peerFor(c);
    if (peer === undefined) return c.notFound();
    return peer.honoJwt(c, next);
  },
  (c) => ok(c, c.get('jwtPayload')),
);

app.all(
  '/hono-jwk/:alg',
  async (c, next) => {
    const peer = peerFor(c);
    if (peer?.honoJwk === undefined) return c.notFound();
    return peer.honoJwk(c, next);
  },
  (c) => ok(c, c.get('jwtPayload')),
);

app.all('/tsndr/:alg', async (c) => {
  const peer = peerFor(c);
  if (peer === undefined || c.req.param('alg') === 'EdDSA') return c.notFound();
  const token = bearer(c);
  if (token === undefined) return refused(c);
  try {
    const result = await tsndr.verify(token, peer.cryptoKey, { algorithm: c.req.param('alg'), throwError: true });
    if (!result) return refused(c);
    return ok(c, result.payload);
  } catch {
    return refused(c);
  }
});

app.all('/jose/:alg', async (c) => {
  const peer = peerFor(c);
  if (peer === undefined) return c.notFound();
  const token = bearer(c);
  if (token === undefined) return refused(c);
  try {
    const { payload } = await jwtVerify(token, peer.joseKey, {
      algorithms: [c.req.param('alg')],
      issuer: peer.issuer,
      audience: peer.audience,
    });
    return ok(c, payload);
  } catch {
    return refused(c);
  }
});

export default app;
