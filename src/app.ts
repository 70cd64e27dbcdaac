import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ConfigError, getConfig } from './config/config';
import { logRequest } from './log/logger';
import { adminRoutes } from './routes/admin';
import type { AppEnv } from './routes/app-env';
import { oauthRoutes } from './routes/oauth';
import { errorResponse, jsonResponse } from './routes/responses';
import { tokenServiceRoutes } from './routes/token-service';
import { verifyRoute } from './routes/verify';

export const app = new Hono<AppEnv>();

/** One log line per request (SPEC §5): safe fields only, accepted verifications optional. */
app.use('*', async (c, next) => {
  const started = Date.now();
  c.set('log', {});
  await next();
  const log = c.get('log');
  const logAccepted = c.get('config')?.logAccepted ?? true;
  if (log.accepted === true && !logAccepted) return;
  logRequest({
    route: c.req.routePath,
    method: c.req.method,
    status: c.res.status,
    ...log,
    durationMs: Date.now() - started,
  });
});

app.get('/healthz', (c) => jsonResponse({ ok: true }));

/** Configuration is parsed once per isolate; a mistake is a 500, never an accepted token. */
app.use('*', async (c, next) => {
  c.set('config', getConfig(c.env));
  await next();
});

app.all('/v1/verify', verifyRoute);
app.all('/v1/verify/*', verifyRoute);
app.route('/v1', oauthRoutes);
app.route('/v1/admin', adminRoutes);
app.route('/', tokenServiceRoutes);

app.notFound(() => errorResponse(404, 'not_found'));

app.onError((error, c) => {
  if (error instanceof HTTPException) return error.getResponse();
  if (error instanceof ConfigError) {
    c.get('log').error = error.message;
    return errorResponse(500, 'server_misconfigured');
  }
  c.get('log').error = 'internal_error';
  return errorResponse(500, 'internal_error');
});
