/**
 * The real worker under `wrangler dev` with the demo configuration (dev/demo.env), driven over
 * HTTP the way a reverse proxy and an operator would: health, verify, tamper, expiry, and an
 * admin revocation that takes effect on the next request.
 */
import { describe, expect, it } from 'vitest';
import { DEMO_ADMIN_KEY, DEMO_ISSUER, demoVars, mintDemo, signDemo, useDemoWorker } from '../helpers/demo';

const DEMO_VARS = demoVars();
const ADMIN_KEY = DEMO_VARS.ADMIN_API_KEYS as string;
const DEMO_SSF_SECRET = DEMO_VARS.DEMO_SSF_PUSH_SECRET as string;

const worker = useDemoWorker({ timeoutMs: 30_000 });

const verify = (token: string) => fetch(`${worker.url}/v1/verify`, { headers: { Authorization: `Bearer ${token}` } });

async function expectRefused(res: Response, reason: string): Promise<void> {
  expect(res.status).toBe(401);
  expect(res.headers.get('www-authenticate')).toBe(`Bearer error="invalid_token", error_description="${reason}"`);
  expect(await res.json()).toEqual({ active: false, error: 'invalid_token', reason });
}

describe('wrangler dev with dev/demo.env', () => {
  let aliceToken: string;

  it('GET /healthz → 200 {"ok":true}', async () => {
    const res = await fetch(`${worker.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it('a demo token for alice verifies: 200 and the X-Auth-* headers', async () => {
    aliceToken = await mintDemo('--sub', 'alice', '--scope', 'read write');
    const res = await verify(aliceToken);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-auth-subject')).toBe('alice');
    expect(res.headers.get('x-auth-issuer')).toBe(DEMO_ISSUER);
    expect(res.headers.get('x-auth-scope')).toBe('read write');
    expect(res.headers.get('x-auth-token-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toMatchObject({ active: true, sub: 'alice', iss: DEMO_ISSUER, aud: 'api' });
  });

  it('a tampered token (payload changed to bob) → 401 bad_signature', async () => {
    const [header, payload, signature] = (await mintDemo('--sub', 'alice')).split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'bob' })).toString('base64url');
    await expectRefused(await verify(`${header}.${forged}.${signature}`), 'bad_signature');
  });

  it('a token expired beyond the 30 s tolerance → 401 expired', async () => {
    const t = Math.floor(Date.now() / 1000);
    const token = await signDemo({ iss: DEMO_ISSUER, aud: 'api', sub: 'carol', iat: t - 600, exp: t - 60, jti: crypto.randomUUID() });
    await expectRefused(await verify(token), 'expired');
  });

  it('no token → 401 missing_token with a bare Bearer challenge', async () => {
    const res = await fetch(`${worker.url}/v1/verify`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('the admin API refuses a wrong key with 401', async () => {
    const res = await fetch(`${worker.url}/v1/admin/users/alice/revoke`, {
      method: 'POST',
      headers: { Authorization: 'Bearer not-the-demo-admin-key-123', 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(401);
    expect((await verify(aliceToken)).status).toBe(200);
  });

  it('revoking alice with the demo admin key → 200, and her earlier token is now 401 revoked_user', async () => {
    const res = await fetch(`${worker.url}/v1/admin/users/alice/revoke`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ reason: 'e2e' }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { sub: string; version: number; revokedBefore: number };
    expect(body).toMatchObject({ sub: 'alice', version: 1 });
    expect(Number.isInteger(body.revokedBefore)).toBe(true);

    await expectRefused(await verify(aliceToken), 'revoked_user');
    const strict = await fetch(`${worker.url}/v1/verify?strict=1`, {
      headers: { Authorization: `Bearer ${aliceToken}`, 'Killswitch-Admin-Key': DEMO_ADMIN_KEY },
    });
    await expectRefused(strict, 'revoked_user');
  });

  it('the README walk: the demo identity provider pushes session-revoked for erin → her token is refused, a new one works', async () => {
    const token = await mintDemo('--sub', 'erin');
    expect((await verify(token)).status).toBe(200);
    const pushed = await fetch(`${worker.url}/v1/ssf/demo/events`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${DEMO_SSF_SECRET}`, 'Content-Type': 'application/secevent+jwt' },
      body: await mintDemo('--event', 'session-revoked', '--sub', 'erin'),
    });
    expect(pushed.status).toBe(202);
    await expectRefused(await verify(token), 'revoked_user');
    // A token issued within REVOCATION_IAT_MARGIN_SECONDS (default 2) of the revocation is refused too.
    await new Promise((r) => setTimeout(r, 3100));
    expect((await verify(await mintDemo('--sub', 'erin'))).status).toBe(200);
  });
});
