/**
 * A Hono API that embeds killswitch as middleware: every /api/* request must carry a genuine,
 * unexpired, unrevoked `Authorization: Bearer` token, and handlers read its claims from
 * `c.var.auth`. Refusals are killswitch's own 401/503 answers (SPEC §3.1).
 *
 * Outside this repository, import from the package instead: 'killswitch/middleware'.
 */
import { Hono } from 'hono';
import { killswitch, type KillswitchEnv } from '../../../src/middleware/index';

// killswitch's single writers: the middleware reads them in strict mode and for revocations
// made through this worker; wrangler.toml binds them as USER_STATE and GLOBAL_STATE, and
// bounded mode's feed, which they write to, as REVOCATION_FEED.
export { UserState, GlobalState, RevocationFeed } from '../../../src/index';

const app = new Hono<KillswitchEnv>();

app.get('/', (c) => c.json({ service: 'hono-app', public: true }));

app.use('/api/*', killswitch());

app.get('/api/me', (c) => {
  const { claims } = c.var.auth;
  return c.json({ sub: claims.sub, iss: claims.iss, scope: claims.scope ?? null });
});

// Strict mode for a sensitive route: read the Durable Object, not the KV replica.
app.use('/admin/*', killswitch({ strict: true }));
app.get('/admin/ping', (c) => c.json({ ok: true, sub: c.var.auth.claims.sub }));

export default app;
