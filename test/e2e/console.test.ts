/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The admin console (/admin) in a real browser: Debian's Chromium driven by playwright-core,
 * against the real worker under `wrangler dev` with the demo configuration. Sign in (a wrong
 * key refused, the key never in a URL or cookie), find a user, revoke them and see their token
 * refused at /v1/verify, revoke a pasted token, revoke a pasted Okta token's user (its `uid`, in its
 * issuer's namespace, never its `sub`), the audit trail, the live view, a hostile `sub`
 * shown as text, revoke-all behind its confirmation, sign out; the security headers, keyboard
 * use, labels, a phone-sized screen, and no console error or CSP violation anywhere.
 * Screenshots of each page go to test/e2e/artifacts/console/ (gitignored).
 *
 * Without Chromium the file skips with one line, unless KILLSWITCH_REQUIRE_SYSTEM_TESTS=1
 * (set by .ci/run, which installs it), where that is a failure.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWranglerDev, type WranglerDev } from '../../scripts/lib/wrangler-dev.mjs';
import { DEMO_ADMIN_KEY, DEMO_ENV, DEMO_ISSUER, demoVars, mintDemoSync, ROOT } from '../helpers/demo';
import { OKTA_ISSUER, oktaToken, oktaUser } from '../helpers/okta';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const REQUIRED = process.env.KILLSWITCH_REQUIRE_SYSTEM_TESTS === '1';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && !REQUIRED) console.log('install chromium to run the console browser tests');
if (!haveChromium && REQUIRED) {
  describe('console (Chromium)', () => {
    it('needs Chromium (KILLSWITCH_REQUIRE_SYSTEM_TESTS=1)', () => {
      expect.fail(`no Chromium at ${CHROMIUM}: install the Debian package chromium`);
    });
  });
}

const ARTIFACTS = join(ROOT, 'test/e2e/artifacts/console');
const LAUNCH_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const HOSTILE_SUB = '<img src=x onerror="document.title=\'pwned\'">';
/** Beside the demo issuer: Okta, keyed by `uid`, its users in a namespace of their own. */
const OKTA_NAMESPACE = 'okta';
const TRUSTED_ISSUERS = JSON.stringify([
  ...(JSON.parse(demoVars().TRUSTED_ISSUERS ?? '[]') as unknown[]),
  { ...OKTA_ISSUER, userNamespace: OKTA_NAMESPACE },
]);

let worker: WranglerDev | undefined;
let base: string;
let profile: string;
let context: BrowserContext | undefined;
let page: Page;
/** Console errors, page errors and failed requests of the whole run. */
const problems: string[] = [];
/** Every request the page made: URL, and whether it carried the admin key. */
const requests: { url: string; authorization: string | undefined }[] = [];

const mint = (sub: string) => mintDemoSync('--sub', sub);

const api = (path: string, init: { method?: string; body?: unknown; bearer?: string } = {}) =>
  fetch(`${base}${path}`, {
    method: init.method ?? 'GET',
    // A fresh connection each: between the browser's steps, wrangler dev may close an idle one
    // just as a pooled request reuses it ("other side closed").
    headers: { Authorization: `Bearer ${init.bearer ?? DEMO_ADMIN_KEY}`, 'Content-Type': 'application/json', Connection: 'close' },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });

async function verify(token: string): Promise<{ status: number; reason?: string }> {
  const res = await fetch(`${base}/v1/verify`, { headers: { Authorization: `Bearer ${token}`, Connection: 'close' } });
  const body = (await res.json()) as { reason?: string };
  return { status: res.status, ...(body.reason === undefined ? {} : { reason: body.reason }) };
}

const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

/** The text of an answer panel once it has one. */
async function answerOf(id: string): Promise<string> {
  const panel = page.locator(`#${id}`);
  await expect.poll(() => panel.textContent(), { timeout: 10_000 }).not.toBe('');
  return (await panel.textContent()) ?? '';
}

async function go(section: string): Promise<void> {
  await page.getByRole('link', { name: section, exact: true }).click();
  await expect.poll(() => page.evaluate(() => document.activeElement?.tagName)).toBe('H1');
}

describe.runIf(haveChromium)('console (Chromium)', () => {
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    profile = mkdtempSync(join(tmpdir(), 'killswitch-chromium-'));
    const [started, browser] = await Promise.all([
      startWranglerDev({ name: 'killswitch', envFile: DEMO_ENV, vars: [`TRUSTED_ISSUERS:${TRUSTED_ISSUERS}`], timeoutMs: 45_000 }),
      chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        args: LAUNCH_FLAGS,
        headless: true,
        viewport: { width: 1280, height: 900 },
      }),
    ]);
    worker = started;
    base = worker.url;
    context = browser;
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`));
    page.on('request', (request) => requests.push({ url: request.url(), authorization: request.headers().authorization }));
  }, 90_000);

  afterAll(async () => {
    await context?.close();
    await worker?.stop();
    if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
  }, 30_000);

  it('/admin/ and its files carry the security headers; /admin redirects to /admin/', async () => {
    const res = await fetch(`${base}/admin/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    for (const directive of [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "frame-ancestors 'none'",
      "require-trusted-types-for 'script'",
    ]) {
      expect(csp).toContain(directive);
    }
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i); // no inline script
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i); // no inline style or handler
    for (const file of ['console.js', 'console.css']) {
      const asset = await fetch(`${base}/admin/${file}`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('content-security-policy')).toBe(csp);
      expect(asset.headers.get('x-content-type-options')).toBe('nosniff');
    }
    const bare = await fetch(`${base}/admin`, { redirect: 'manual' });
    expect([307, 308]).toContain(bare.status);
    expect(bare.headers.get('location')).toBe('/admin/');
  });

  it("a wrong key shows the API's 401 plainly and keeps nothing; keyboard: heading focused, then key, then button", async () => {
    await page.goto(`${base}/admin/`);
    await expect.poll(() => page.title()).toBe('Sign in · killswitch admin');
    await shot('sign-in');
    expect(await page.locator('#nav').isHidden()).toBe(true);
    expect(await page.evaluate(() => document.querySelector('a, button, input')?.textContent)).toBe('Skip to content');

    expect(await page.evaluate(() => document.activeElement?.id)).toBe('sign-in-title');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('admin-key');
    await page.keyboard.type('not-the-demo-admin-key-123');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Sign in');
    await page.keyboard.press('Enter');

    const text = await answerOf('sign-in-answer');
    expect(text).toContain('HTTP 401 Unauthorized');
    expect(text).toContain('"error": "unauthorized"');
    expect(text).toContain('refused the admin key');
    expect(await page.locator('#sign-in-answer').getAttribute('role')).toBe('alert');
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    expect(await page.locator('#nav').isHidden()).toBe(true);
    await shot('sign-in-refused');
    // Chromium reports the refused call itself; that one is expected.
    const refused = problems.findIndex((p) => /status of 401/.test(p));
    expect(refused, problems.join('\n')).toBeGreaterThanOrEqual(0);
    problems.splice(refused, 1);
  });

  it('signs in with the key: kept in sessionStorage only, sent only as a Bearer header, never in a URL or cookie', async () => {
    await page.fill('#admin-key', DEMO_ADMIN_KEY);
    await page.click('#sign-in-form button');
    await page.locator('#user').waitFor({ state: 'visible' });
    expect(await page.evaluate(() => sessionStorage.getItem('killswitch.adminKey'))).toBe(DEMO_ADMIN_KEY);
    expect(await page.inputValue('#admin-key')).toBe('');
    expect(await context!.cookies()).toEqual([]);
    expect(page.url()).not.toContain(DEMO_ADMIN_KEY);
    for (const request of requests) expect(decodeURIComponent(request.url)).not.toContain(DEMO_ADMIN_KEY);
    const adminCalls = requests.filter((r) => new URL(r.url).pathname.startsWith('/v1/'));
    expect(adminCalls.length).toBeGreaterThan(0);
    for (const call of adminCalls) expect(call.authorization).toMatch(/^Bearer /);
    expect(worker!.output()).not.toContain(DEMO_ADMIN_KEY);
  });

  it('every form control has a label', async () => {
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll('input, select, textarea')]
        .filter((el) => (el as HTMLInputElement).labels?.length === 0 && !el.getAttribute('aria-label'))
        .map((el) => el.id),
    );
    expect(unlabelled).toEqual([]);
  });

  it('the sections open from the keyboard, and each puts the focus on its heading', async () => {
    for (const [href, heading] of [
      ['#audit', 'audit-title'],
      ['#live', 'live-title'],
      ['#user', 'user-title'],
    ] as const) {
      await page.focus(`nav a[href="${href}"]`);
      await page.keyboard.press('Enter');
      await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe(heading);
      expect(await page.locator(`nav a[href="${href}"]`).getAttribute('aria-current')).toBe('page');
      expect(await page.locator(href).isVisible()).toBe(true);
    }
    expect(await page.locator('#live').isHidden()).toBe(true);
  });

  it('finds a user: version, revoked-before, denylisted tokens and sessions', async () => {
    const session = await api('/v1/sessions', { method: 'POST', body: { sub: 'carol-console', scope: 'read' } });
    expect(session.status).toBe(200);
    const exp = Math.floor(Date.now() / 1000) + 3600;
    expect(
      (
        await api('/v1/admin/tokens/revoke', {
          method: 'POST',
          body: { jti: 'lost-laptop-1', sub: 'carol-console', exp, reason: 'laptop lost' },
        })
      ).status,
    ).toBe(200);

    await page.fill('#user-sub', 'carol-console');
    await page.keyboard.press('Enter');
    expect(await answerOf('user-answer')).toContain('HTTP 200 OK');
    const state = page.locator('#user-state');
    await expect.poll(() => state.textContent()).toContain('lost-laptop-1');
    const text = (await state.textContent()) ?? '';
    expect(text).toContain('never revoked');
    expect(text).toContain('laptop lost');
    expect(text).toMatch(/Sessions \(token service\).*active.*read/s);
    expect(await page.locator('#user-revoke').isVisible()).toBe(true);
    await shot('user');
  });

  it('revokes the user (a reason is required): their token is refused at /v1/verify, their session shown revoked', async () => {
    const token = mint('carol-console');
    expect(await verify(token)).toEqual({ status: 200 });
    await new Promise((r) => setTimeout(r, 1100)); // revoked-before is whole seconds: mint in an earlier second

    await page.click('#user-revoke button');
    expect(await page.locator('#user-revoke-reason').evaluate((el) => (el as HTMLInputElement).validity.valueMissing)).toBe(true);
    expect(((await (await api('/v1/admin/users/carol-console')).json()) as { version: number }).version).toBe(0);

    await page.fill('#user-revoke-reason', 'account takeover, ticket 4711');
    await page.click('#user-revoke button');
    const text = await answerOf('user-revoke-answer');
    expect(text).toContain('HTTP 200 OK');
    expect(text).toMatch(/Every token of carol-console issued at or before .* is refused/);
    expect(text).toContain('everywhere within 60 s');
    expect(await verify(token)).toEqual({ status: 401, reason: 'revoked_user' });
    await expect.poll(() => page.locator('#user-state').textContent()).toMatch(/Version1/);
    expect(await page.locator('#user-state .state-revoked').count()).toBe(1);
    await shot('user-revoked');
  });

  it('revokes a pasted token: shown decoded, active at introspection, then refused', async () => {
    await go('Token');
    const token = mint('dave-console');
    await page.fill('#token-text', token);
    await page.click('#token-inspect button');
    expect(await answerOf('token-answer')).toContain('Active');
    const decoded = (await page.locator('#token-decoded').textContent()) ?? '';
    expect(decoded).toContain('dave-console');
    expect(decoded).toContain(DEMO_ISSUER);
    await page.locator('#token-revoke').waitFor({ state: 'visible' });
    await shot('token');

    await page.click('#token-revoke-button');
    const text = await answerOf('token-revoke-answer');
    expect(text).toContain('Revoked: this token is refused until it expires');
    expect(await verify(token)).toEqual({ status: 401, reason: 'revoked_token' });
    expect(await page.locator('#token-answer').textContent()).toContain('Not active');
    await shot('token-revoked');

    await page.fill('#token-text', 'not.a-token');
    await page.click('#token-inspect button');
    await expect.poll(() => page.locator('#token-answer').textContent()).toContain('not a JWT');
  });

  it('revokes a token by id', async () => {
    const exp = Math.floor(Date.now() / 1000) + 600;
    await page.fill('#by-id-jti', 'by-id-1');
    await page.fill('#by-id-sub', 'dave-console');
    await page.fill('#by-id-exp', String(exp));
    await page.fill('#by-id-reason', 'found in a log');
    await page.click('#token-by-id button');
    expect(await answerOf('token-by-id-answer')).toContain('Token by-id-1 of dave-console is refused for every issuer');
  });

  it("revokes a pasted Okta token's user: its uid in its namespace (never its sub), so the token is refused", async () => {
    const user = oktaUser();
    const token = await oktaToken(user);
    // The same strings as ids of the shared namespace: tokens a revocation keyed on the sub, or
    // in the wrong namespace, would refuse; this one must leave them alone.
    const sameLogin = mint(user.login);
    const sameUid = mint(user.uid);
    for (const t of [token, sameLogin, sameUid]) expect(await verify(t)).toEqual({ status: 200 });

    await page.fill('#token-text', token);
    await page.click('#token-inspect button');
    // The panel still shows the last test's "not a JWT" until introspection answers.
    await expect.poll(() => page.locator('#token-answer').textContent()).toContain('Active');
    expect(await page.locator('#token-decoded').textContent()).toContain(user.login);
    await page.locator('#token-user-revoke').waitFor({ state: 'visible' });
    expect(await page.locator('#token-user').textContent()).toBe(`${user.uid} (namespace ${OKTA_NAMESPACE})`);

    await page.click('#token-user-revoke button');
    expect(await page.locator('#token-user-reason').evaluate((el) => (el as HTMLInputElement).validity.valueMissing)).toBe(true);
    await page.fill('#token-user-reason', 'phished, ticket 4712');
    await page.click('#token-user-revoke button');
    const text = await answerOf('token-user-revoke-answer');
    expect(text).toContain('HTTP 200 OK');
    expect(text).toContain(`Every token of ${user.uid} (namespace ${OKTA_NAMESPACE}) issued at or before`);
    expect(text).toContain('This token is one of them.');
    expect(await verify(token)).toEqual({ status: 401, reason: 'revoked_user' });
    expect(await verify(sameLogin)).toEqual({ status: 200 });
    expect(await verify(sameUid)).toEqual({ status: 200 });
    expect(await page.locator('#token-user-revoke').isHidden()).toBe(true);
    await shot('token-user-revoked');

    // The user view names the user by id and namespace.
    await go('User');
    await page.fill('#user-sub', user.uid);
    await page.fill('#user-namespace', OKTA_NAMESPACE);
    await page.click('#user-find button');
    const state = page.locator('#user-state');
    await expect.poll(() => state.textContent()).toContain(`User id${user.uid}`);
    expect(await state.textContent()).toContain(`Namespace${OKTA_NAMESPACE}`);
    expect(await state.textContent()).toContain('Version1');
    expect(await page.locator('#user-revoke-sub').textContent()).toBe(`${user.uid} (namespace ${OKTA_NAMESPACE})`);
    await page.fill('#user-namespace', '');
    await page.click('#user-find button');
    await expect.poll(() => state.textContent()).toContain('Namespaceshared');
    expect(await state.textContent()).toContain('Version0');
  });

  it('the audit trail: filtered by user and action, newest first, paged', async () => {
    const exp = Math.floor(Date.now() / 1000) + 600;
    for (let i = 1; i <= 12; i++) {
      expect((await api('/v1/admin/tokens/revoke', { method: 'POST', body: { jti: `bulk-${i}`, sub: 'dave-console', exp } })).status).toBe(
        200,
      );
    }
    await go('Audit');
    await page.fill('#audit-sub', 'dave-console');
    await page.selectOption('#audit-action', 'revoke_token');
    await page.selectOption('#audit-limit', '10');
    await page.click('#audit-filter button');
    expect(await answerOf('audit-answer')).toContain('Page 1: 10 event(s) of the trail of dave-console (revoke_token only)');
    const rows = page.locator('#audit-events tbody tr');
    expect(await rows.count()).toBe(10);
    expect(await rows.first().textContent()).toContain('bulk-12');
    await shot('audit');

    await page.click('#audit-older');
    await expect.poll(() => page.locator('#audit-answer').textContent()).toContain('Page 2: 4 event(s)');
    const older = (await page.locator('#audit-events').textContent()) ?? '';
    expect(older).toContain('by-id-1'); // the console's own revocations are in the trail
    expect(older).toContain('found in a log');
    expect(older).toContain('rfc7009'); // the pasted token
    expect(await page.locator('#audit-older').isDisabled()).toBe(true);
    await page.click('#audit-newer');
    await expect.poll(() => page.locator('#audit-answer').textContent()).toContain('Page 1: 10 event(s)');

    await page.fill('#audit-sub', 'carol-console');
    await page.selectOption('#audit-action', 'revoke_user');
    await page.click('#audit-filter button');
    await expect.poll(() => page.locator('#audit-events').textContent()).toContain('account takeover, ticket 4711');
  });

  it('a hostile sub and reason are shown as text, never run', async () => {
    const path = `/v1/admin/users/${encodeURIComponent(HOSTILE_SUB)}/revoke`;
    expect((await api(path, { method: 'POST', body: { reason: '<script>document.title="pwned"</script>' } })).status).toBe(200);
    await go('User');
    await page.fill('#user-sub', HOSTILE_SUB);
    await page.click('#user-find button');
    await expect.poll(() => page.locator('#user-state').textContent()).toContain(HOSTILE_SUB);
    await go('Audit');
    await page.fill('#audit-sub', HOSTILE_SUB);
    await page.selectOption('#audit-action', '');
    await page.click('#audit-filter button');
    await expect.poll(() => page.locator('#audit-events').textContent()).toContain('<script>document.title="pwned"</script>');
    expect(await page.locator('main img, main script').count()).toBe(0);
    expect(await page.title()).not.toBe('pwned');
    await shot('audit-hostile');
  });

  it('the live view: outcomes × reasons and latency from /v1/admin/stats, refreshed; the mode; issuers and keys', async () => {
    await go('Live');
    const revoked = mint('carol-console-late');
    for (const token of [revoked, mint('erin-console'), 'garbage', mint('erin-console')]) await verify(token);
    const reasons = page.locator('#live-reasons');
    // The second sample makes the window: wait for it (one poll every 5 s).
    await expect.poll(() => reasons.textContent(), { timeout: 25_000, interval: 500 }).toMatch(/over the last \d+ s.*refusedmalformed/);
    for (const token of [mint('erin-console'), 'garbage-2']) await verify(token);
    await expect.poll(async () => page.locator('#live-outcomes rect').count(), { timeout: 25_000, interval: 500 }).toBeGreaterThan(0);
    const text = (await reasons.textContent()) ?? '';
    expect(text).toMatch(/accepted/);
    expect(text).toMatch(/refusedmalformed/);
    expect(await page.locator('#live-latency path').count()).toBeGreaterThan(0);
    expect(await page.locator('#live-outcomes svg').getAttribute('aria-label')).toMatch(/Latest interval: .*accepted/);
    const revocation = (await page.locator('#live-revocation').textContent()) ?? '';
    expect(revocation).toContain('cached (REVOCATION_MODE)');
    expect(revocation).toContain('within 60 s');
    const issuers = (await page.locator('#live-issuers').textContent()) ?? '';
    expect(issuers).toContain(DEMO_ISSUER);
    expect(issuers).toContain('demo-es256-1');
    expect(issuers).toContain('demo-session-1');
    expect(issuers).toContain('(token service)');
    await shot('live');
  }, 90_000); // two polls, 5 s apart, on a busy machine

  it('fits a phone-sized screen without sideways scrolling', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await go('User');
    await page.fill('#user-sub', 'carol-console');
    await page.click('#user-find button');
    await expect.poll(() => page.locator('#user-state').textContent()).toContain('lost-laptop-1');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await shot('phone-user');
    await go('Live');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  // Last: it refuses every token the worker has seen.
  it('revoke-all waits for the typed word, then refuses every older token', async () => {
    const token = mint('frank-console');
    expect(await verify(token)).toEqual({ status: 200 });
    await new Promise((r) => setTimeout(r, 1100));
    await go('Revoke all');
    const button = page.locator('#revoke-all-button');
    expect(await button.isDisabled()).toBe(true);
    await page.fill('#revoke-all-reason', 'signing key leaked');
    await page.fill('#revoke-all-confirm', 'everythin');
    expect(await button.isDisabled()).toBe(true);
    await page.fill('#revoke-all-confirm', 'Everything');
    expect(await button.isDisabled()).toBe(true);
    expect(await verify(token)).toEqual({ status: 200 });
    await page.fill('#revoke-all-confirm', 'everything');
    expect(await button.isDisabled()).toBe(false);
    await shot('revoke-all');
    await button.click();
    const text = await answerOf('revoke-all-answer');
    expect(text).toContain('HTTP 200 OK');
    expect(text).toContain('Every token of every user issued at or before');
    expect(await verify(token)).toEqual({ status: 401, reason: 'revoked_all' });
    expect(await button.isDisabled()).toBe(true);
  });

  it('signs out: the key is gone from the tab, and the pages are empty', async () => {
    await page.click('#sign-out');
    await page.locator('#sign-in').waitFor({ state: 'visible' });
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    expect(await page.locator('#nav').isHidden()).toBe(true);
    expect(await page.locator('#user-state').textContent()).toBe('');
    expect(await page.locator('#token-text').inputValue()).toBe('');
    expect(await answerOf('sign-in-answer')).toContain('Signed out');
    await page.reload();
    expect(await page.locator('#sign-in').isVisible()).toBe(true);
  });

  it('logged no console error, CSP violation or failed request', () => {
    expect(problems, problems.join('\n')).toEqual([]);
  });
});
