/**
 * A Hono origin guarded by killswitch/client (killswitchHono: jose against the issuer's JWKS, then
 * isRevoked from the in-process mirror), served by the runtime's own server: `Bun.serve` under
 * Bun, `Deno.serve` under Deno. test/e2e/origins.test.ts runs it under each and revokes through
 * the admin API. One argument, JSON: { url, feedKey, jwks, issuer, boundMs }. Prints
 * `listening <url>` when it takes traffic.
 */
import { Hono } from 'hono';
import { killswitchHono } from '../../src/client';

interface Config {
  readonly url: string;
  readonly feedKey: string;
  readonly jwks: string;
  readonly issuer: string;
  readonly boundMs: number;
}
type Fetch = (request: Request) => Response | Promise<Response>;
/** What this script needs of the two runtimes (neither's types are installed). */
declare const Bun: { serve(options: { hostname: string; port: number; fetch: Fetch }): { port: number } } | undefined;
declare const Deno:
  | {
      args: string[];
      serve(options: { hostname: string; port: number; onListen(addr: { port: number }): void }, handler: Fetch): unknown;
    }
  | undefined;

const config = JSON.parse(typeof Deno === 'undefined' ? (process.argv[2] ?? '') : (Deno.args[0] ?? '')) as Config;
const auth = killswitchHono({
  url: config.url,
  feedKey: config.feedKey,
  boundMs: config.boundMs,
  issuer: config.issuer,
  audience: 'api',
  algorithms: ['ES256'],
  versionClaim: 'ver',
  jwks: config.jwks,
});
const app = new Hono<{ Variables: { auth: { sub?: string } } }>();
app.use('*', auth);
app.get('/api/me', (c) => c.json({ sub: c.get('auth').sub }));

if (!(await auth.guard.ready())) throw new Error('the feed could not be read');
const listening = (port: number) => console.log(`listening http://127.0.0.1:${port}`);
if (typeof Bun !== 'undefined') listening(Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: app.fetch }).port);
else if (typeof Deno !== 'undefined') Deno.serve({ hostname: '127.0.0.1', port: 0, onListen: ({ port }) => listening(port) }, app.fetch);
else throw new Error('run under Bun or Deno');
