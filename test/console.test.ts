/**
 * The admin console's files (public/admin, Workers Static Assets) as the worker serves them:
 * GET only, every answer with the console's security headers, a missing file a JSON 404, and
 * source rules that keep data out of markup. Its behaviour in a browser: test/e2e/console.test.ts.
 */
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { CONSOLE_HEADERS } from '../src/routes/console';
import { BASE } from './helpers/fixtures';

const FILES = [
  'index.html',
  'console.js',
  'console.css',
  'api.js',
  'dom.js',
  'user.js',
  'token.js',
  'audit.js',
  'live.js',
  'charts.js',
  'revoke-all.js',
  'favicon.svg',
];
const get = (path: string, init: RequestInit = {}) => exports.default.fetch(`${BASE}${path}`, { redirect: 'manual', ...init });

function expectConsoleHeaders(res: Response): void {
  for (const [name, value] of Object.entries(CONSOLE_HEADERS)) expect(res.headers.get(name), name).toBe(value);
}

describe('GET /admin', () => {
  it("the CSP allows only the console's own files: no inline script or style, no framing, no HTML sinks", () => {
    const csp = CONSOLE_HEADERS['Content-Security-Policy'].split('; ');
    expect(csp).toEqual(
      expect.arrayContaining([
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'none'",
        "base-uri 'none'",
        "require-trusted-types-for 'script'",
      ]),
    );
    expect(csp.join(';')).not.toMatch(/unsafe|data:|\*/);
    expect(CONSOLE_HEADERS).toMatchObject({ 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' });
  });

  it('/admin/ is the page; /admin redirects to it', async () => {
    const page = await get('/admin/');
    expect(page.status).toBe(200);
    expect(page.headers.get('Content-Type')).toMatch(/^text\/html/);
    expectConsoleHeaders(page);
    expect(await page.text()).toContain('<script type="module" src="console.js"></script>');
    const bare = await get('/admin');
    expect(bare.status).toBe(307);
    expect(bare.headers.get('Location')).toBe('/admin/');
    expectConsoleHeaders(bare);
  }, 20_000); // the first request starts the worker

  it.each(FILES)('/admin/%s is served with the security headers and its type', async (file) => {
    const res = await get(`/admin/${file}`);
    expect(res.status, file).toBe(file === 'index.html' ? 307 : 200); // /admin/index.html → /admin/
    expectConsoleHeaders(res);
    if (file.endsWith('.js')) expect(res.headers.get('Content-Type')).toMatch(/javascript/);
    if (file.endsWith('.css')) expect(res.headers.get('Content-Type')).toMatch(/^text\/css/);
  });

  it('a file that does not exist is the JSON 404 of every unknown route; so is any other method', async () => {
    for (const res of [await get('/admin/nope.js'), await get('/admin/', { method: 'POST', body: 'x' }), await get('/adminx')]) {
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: 'not_found' });
    }
  });

  it('the page has no inline script, style or handler; the scripts write no markup and keep the key in sessionStorage only', async () => {
    const html = await (await get('/admin/')).text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    for (const file of FILES.filter((f) => f.endsWith('.js'))) {
      const source = await (await get(`/admin/${file}`)).text();
      expect(source, file).not.toMatch(
        /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|localStorage|document\.cookie/,
      );
    }
  });
});
