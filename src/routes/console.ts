import type { Context } from 'hono';
import type { AppEnv } from './app-env';
import { errorResponse } from '../http/responses';

/**
 * The admin console's security headers. The page runs only its own files (no inline script or
 * style), talks only to this origin, cannot be framed, and Trusted Types forbid HTML string
 * sinks (innerHTML and the like) outright, so data can only ever reach the page as text.
 */
export const CONSOLE_HEADERS = {
  'Content-Security-Policy': [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "form-action 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
  ].join('; '),
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
} as const;

/**
 * GET /admin and below: the console's static files (public/admin, Workers Static Assets),
 * with CONSOLE_HEADERS. The files hold nothing secret; the admin key is typed into the page
 * and sent only to the admin API, so the console can do no more than that key.
 */
export async function consoleRoute(c: Context<AppEnv>): Promise<Response> {
  const asset = await c.env.ASSETS.fetch(c.req.raw);
  if (asset.status === 404) return errorResponse(404, 'not_found');
  const response = new Response(asset.body, asset);
  for (const [name, value] of Object.entries(CONSOLE_HEADERS)) response.headers.set(name, value);
  return response;
}
