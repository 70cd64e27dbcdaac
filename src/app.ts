import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { getPath } from 'hono/utils/url';
import { ConfigError } from './config/config';
import { isForwardAuthHost } from './config/forward-auth-hosts';
import { logEvent } from './log/logger';
import { armConfiguredPolling } from './ssf/streams';
import { observeCall, configOrError } from './observe-call';
import { openApiJson } from './openapi/document';
import { adminRoutes } from './routes/admin';
import type { AppEnv } from './routes/app-env';
import { consoleRoute } from './routes/console';
import { feedRoutes } from './routes/feed';
import { oauthRoutes } from './routes/oauth';
import { domainErrorResponse } from './http/errors';
import { errorCodeOf, errorResponse, jsonResponse, withErrorCodeOf } from './http/responses';
import { ssfRoutes } from './routes/ssf';
import { tokenServiceRoutes } from './routes/token-service';
import { verifyRoute } from './routes/verify';

/**
 * Routing starts from the Host: on a FORWARD_AUTH_HOSTS host every request, whatever its path
 * and method, is a /v1/verify check (docs/reference.md §3.1). The path cannot help here: the runtime has
 * already resolved `..` and `%2e%2e` segments, so `/v1/verify/../../healthz` arrives as `/healthz`.
 */
export const app = new Hono<AppEnv>({
  getPath: (request, options) => (isForwardAuthHost(request, options?.env) ? '/v1/verify' : getPath(request)),
});

/** Liveness, for load balancers that ask every second: answered before logging and metrics. */
app.get('/healthz', () => jsonResponse({ ok: true }));

/**
 * One log line per request (docs/reference.md §5): safe fields only, accepted verifications optional. The
 * same fields make the request's metrics (src/metrics), which count accepted ones too.
 */
app.use('*', async (c, next) => {
  const end = observeCall(c.env);
  c.set('log', {});
  await next();
  const log = c.get('log');
  end({
    route: c.req.routePath,
    method: c.req.method,
    status: c.res.status,
    fields: log,
    accepted: log.accepted === true,
    errorCode: errorCodeOf(c.res),
    config: c.get('config'),
  });
});

/** The OpenAPI 3.1 document, built from the request schemas once per isolate, on first ask. */
app.get(
  '/openapi.json',
  () =>
    new Response(openApiJson(), {
      headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'public, max-age=300' },
    }),
);

/** The admin console: static files, which need no configuration (the API it calls does). */
app.get('/admin', consoleRoute);
app.get('/admin/*', consoleRoute);

/** Configuration is parsed once per isolate; a mistake is a 500, never an accepted token. */
app.use('*', async (c, next) => {
  const config = configOrError(c.env);
  if (config instanceof ConfigError) {
    c.get('log').error = config.message;
    return errorResponse(500, 'server_misconfigured');
  }
  c.set('config', config);
  // docs/reference.md §7 poll delivery: SSF_STREAMS poll streams' alarms are armed by an isolate's first request.
  const arming = armConfiguredPolling(config, c.env);
  if (arming !== undefined) {
    c.executionCtx.waitUntil(
      arming.catch((error: unknown) => {
        logEvent('ssf_poll_arm_failed', { error: error instanceof Error ? error.message : 'unknown' });
      }),
    );
  }
  await next();
});

app.all('/v1/verify', verifyRoute);
app.all('/v1/verify/*', verifyRoute);
app.route('/v1', oauthRoutes);
app.route('/v1/admin', adminRoutes);
app.route('/v1/feed', feedRoutes);
app.route('/v1/ssf', ssfRoutes);
app.route('/', tokenServiceRoutes);

app.notFound(() => errorResponse(404, 'not_found'));

app.onError((error, c) => {
  if (error instanceof HTTPException) return withErrorCodeOf(error.res, error.getResponse());
  const domain = domainErrorResponse(error);
  if (domain !== undefined) return domain;
  c.get('log').error = 'internal_error';
  return errorResponse(500, 'internal_error');
});
