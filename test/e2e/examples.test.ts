/**
 * The integration examples under examples/, end to end:
 *  - nginx and Caddy: examples/nginx/run.sh, examples/caddy/run.sh (Debian's nginx-light with
 *    auth_request, Debian's caddy with forward_auth, in front of an echo backend; killswitch under
 *    wrangler dev). Each sends a valid token with forged X-Auth-* headers and checks the backend
 *    sees only killswitch's (examples/lib/gateway.sh). Tests install nothing: without the gateway
 *    its part skips with one line, and fails instead when KILLSWITCH_REQUIRE_SYSTEM_TESTS=1
 *    (.ci/run installs nginx-light and caddy and sets it);
 *  - rpc-caller: a second worker calling killswitch's `Verifier` entrypoint through a service
 *    binding. Two `wrangler dev` processes joined by a private dev registry (see below);
 *  - hono-app: a Hono worker embedding the middleware, under its own wrangler.toml.
 * Everything starts concurrently in beforeAll, so the file costs about one slow start.
 *
 * Why two processes for RPC and not `wrangler dev -c wrangler.toml -c examples/rpc-caller/…`:
 * with several -c, only the first (primary) worker is served over HTTP, and --env-file /
 * .dev.vars apply to the primary only (wrangler 4.86). Either the caller is not reachable, or
 * killswitch runs without the demo configuration. Separate processes meet through the dev
 * registry (WRANGLER_REGISTRY_PATH), named entrypoints included.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_ADMIN_KEY, DEMO_ENV, DEMO_ISSUER, ROOT, startWranglerDev, type WranglerDev } from '../../scripts/lib/wrangler-dev.mjs';
import { mintDemo } from '../helpers/demo';

interface ScriptRun {
  code: number | null;
  output: string;
}

let registry: string;
let killswitch: WranglerDev | undefined;
let caller: WranglerDev | undefined;
let hono: WranglerDev | undefined;

/** A gateway example's run.sh: whether it is installed, and (once started) its run. */
interface Gateway {
  name: 'nginx' | 'caddy';
  skip: boolean;
  run?: Promise<ScriptRun>;
  pid?: number;
}

function installed(binary: string, fallback: string): boolean {
  return spawnSync('bash', ['-c', `command -v ${binary}`], { stdio: 'ignore' }).status === 0 || existsSync(fallback);
}
/** Without the binary a gateway example skips, unless system tests are required (CI): then it runs, and fails. */
function gateway(name: Gateway['name'], present: boolean, install: string): Gateway {
  const skip = !present && process.env.KILLSWITCH_REQUIRE_SYSTEM_TESTS !== '1';
  if (skip) console.warn(`examples/${name} skipped: ${install} to run this test`);
  return { name, skip };
}
const nginx = gateway('nginx', installed('nginx', '/usr/sbin/nginx'), 'install nginx-light');
const caddy = gateway('caddy', installed('caddy', '/usr/bin/caddy'), "install caddy (Debian's caddy package)");

function runGatewayExample(example: Gateway): void {
  const child = spawn('bash', [join(ROOT, `examples/${example.name}/run.sh`)], {
    cwd: ROOT,
    detached: true, // its own process group, like the wrangler dev it starts
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  example.pid = child.pid;
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  example.run = new Promise((done) =>
    child.once('close', (code) => {
      example.pid = undefined;
      done({ code, output });
    }),
  );
}

const bearer = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });

beforeAll(async () => {
  registry = mkdtempSync(join(tmpdir(), 'killswitch-e2e-registry-'));
  for (const example of [nginx, caddy]) if (!example.skip) runGatewayExample(example);
  const started = await Promise.allSettled([
    startWranglerDev({ name: 'killswitch', envFile: DEMO_ENV, registry, timeoutMs: 75_000 }),
    startWranglerDev({ configs: ['examples/rpc-caller/wrangler.toml'], envFile: null, registry, timeoutMs: 75_000 }),
    startWranglerDev({ configs: ['examples/hono-app/wrangler.toml'], envFile: DEMO_ENV, timeoutMs: 75_000 }),
  ]);
  [killswitch, caller, hono] = started.map((s) => (s.status === 'fulfilled' ? s.value : undefined));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  // The caller's binding connects once killswitch has registered in the dev registry.
  await caller!.waitFor(/killswitch#Verifier\)\s+Worker\s+local \[connected\]/, 30_000);
}, 120_000);

afterAll(async () => {
  for (const { pid } of [nginx, caddy]) if (pid !== undefined) process.kill(-pid, 'SIGTERM'); // run.sh's trap stops what it started
  await Promise.all([killswitch?.stop(), caller?.stop(), hono?.stop(), nginx.run, caddy.run]);
  rmSync(registry, { recursive: true, force: true });
}, 30_000);

/** The backend's X-Auth-* headers printed by run.sh after `label`. */
function backendSaw(run: ScriptRun, label: string): Record<string, string> {
  const seen = new RegExp(`^backend saw${label}: (\\{.*\\})$`, 'm').exec(run.output);
  expect(seen, run.output).not.toBeNull();
  return JSON.parse(seen![1] as string) as Record<string, string>;
}

describe.each([
  ['nginx auth_request', nginx],
  ['Caddy forward_auth', caddy],
])('examples/%s in front of a backend (run.sh)', (_title, example) => {
  let run: ScriptRun;
  beforeAll(async () => {
    if (example.skip) return;
    run = await example.run!;
  }, 150_000);

  it.skipIf(example.skip)('run.sh passes every check (exit 0)', () => {
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/^PASS: all checks$/m);
    expect(run.output).not.toMatch(/^FAIL/m);
  });

  it.skipIf(example.skip)('a valid token with forged X-Auth-* headers → 200, and the backend sees only the verified values', () => {
    expect(run.output).toMatch(/^ok {3}valid token \+ forged X-Auth-\* → status: 200$/m);
    const headers = backendSaw(run, '');
    // The client sent mallory, victim, https://evil.example, admin, forged, 9999999999.
    expect(headers).toEqual({
      'x-auth-subject': 'alice',
      'x-auth-user': 'alice',
      'x-auth-issuer': DEMO_ISSUER,
      'x-auth-scope': 'read write',
      'x-auth-token-id': expect.stringMatching(/^[0-9a-f-]{36}$/),
      'x-auth-expires': expect.stringMatching(/^\d+$/),
    });
    expect(Number(headers['x-auth-expires'])).toBeGreaterThan(Date.now() / 1000);
    expect(Number(headers['x-auth-expires'])).toBeLessThan(Date.now() / 1000 + 3600);
  });

  it.skipIf(example.skip)('a token without scope or jti: the forged X-Auth-Scope and X-Auth-Token-Id do not reach the backend', () => {
    const headers = backendSaw(run, ' \\(no scope, no jti\\)');
    expect(Object.keys(headers).sort()).toEqual(['x-auth-expires', 'x-auth-issuer', 'x-auth-subject', 'x-auth-user']);
    expect([headers['x-auth-subject'], headers['x-auth-user'], headers['x-auth-issuer']]).toEqual(['alice', 'alice', DEMO_ISSUER]);
  });

  it.skipIf(example.skip)('no token → 401; alice revoked → her token 401 revoked_user', () => {
    expect(run.output).toMatch(/^ok {3}no token → status: 401$/m);
    expect(run.output).toMatch(/^ok {3}revoke alice \(admin\) → status: 200$/m);
    expect(run.output).toMatch(/^ok {3}revoked token → status: 401$/m);
    expect(run.output).toMatch(/error_description="revoked_user"/);
  });
});

describe.skipIf(caddy.skip)('examples/caddy: every client-sent X-Auth-* is removed', () => {
  it('a forged X-Auth-Role (a name killswitch never sends) does not reach the backend', async () => {
    const { output } = await caddy.run!;
    expect(output).toMatch(/^ok {3}X-Auth-Role upstream \(a name killswitch never sends\): \(absent\)$/m);
  });
});

describe('examples/rpc-caller: env.AUTH.verify(token) over a service binding', () => {
  const callVerify = async (path: string, token?: string) => {
    const res = await fetch(`${caller!.url}${path}`, token === undefined ? {} : bearer(token));
    const text = await res.text();
    try {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each example answers its own JSON shape; tests read fields ad hoc
      return { status: res.status, body: JSON.parse(text) as Record<string, any> };
    } catch {
      throw new Error(
        `${path}: ${res.status} ${text.slice(0, 2000)}\n--- caller:\n${caller!.output().slice(-3000)}\n--- killswitch:\n${killswitch!.output().slice(-3000)}`,
      );
    }
  };

  it('a valid token → {active:true, claims, user}', async () => {
    const token = await mintDemo('--sub', 'alice', '--scope', 'read');
    const { status, body } = await callVerify('/verify', token);
    expect(status).toBe(200);
    expect(body).toEqual({
      active: true,
      claims: expect.objectContaining({ sub: 'alice', iss: DEMO_ISSUER, aud: 'api', scope: 'read' }),
      user: 'alice',
    });
    const hello = await fetch(`${caller!.url}/hello`, bearer(token));
    expect(await hello.text()).toBe('hello alice\n');
  });

  it('a bad or missing token → {active:false, reason}', async () => {
    expect(await callVerify('/verify', 'not.a.jwt')).toEqual({ status: 401, body: { active: false, reason: 'malformed' } });
    expect(await callVerify('/verify')).toEqual({ status: 401, body: { active: false, reason: 'missing_token' } });
    const token = await mintDemo('--sub', 'alice');
    const [h, p, s] = token.split('.') as [string, string, string];
    const forged = `${h}.${p}.${s.startsWith('A') ? 'B' : 'A'}${s.slice(1)}`;
    expect((await callVerify('/verify', forged)).body).toEqual({ active: false, reason: 'bad_signature' });
  });

  it("a revocation through killswitch's admin API is seen over RPC (cached and strict)", async () => {
    const token = await mintDemo('--sub', 'bob');
    expect((await callVerify('/verify', token)).body.active).toBe(true);
    const res = await fetch(`${killswitch!.url}/v1/admin/users/bob/revoke`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${DEMO_ADMIN_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ reason: 'rpc example' }),
    });
    expect(res.status).toBe(200);
    expect((await callVerify('/verify', token)).body).toEqual({ active: false, reason: 'revoked_user' });
    expect((await callVerify('/verify?strict=1', token)).body).toEqual({ active: false, reason: 'revoked_user' });
  });
});

describe('examples/hono-app: killswitch() as Hono middleware', () => {
  it('public routes need no token', async () => {
    const res = await fetch(`${hono!.url}/`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ service: 'hono-app', public: true });
  });

  it("/api/* without a token → 401 missing_token (killswitch's own answer)", async () => {
    const res = await fetch(`${hono!.url}/api/me`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(await res.json()).toMatchObject({ active: false, reason: 'missing_token' });
  });

  it('/api/* with a valid token → the handler sees c.var.auth.claims', async () => {
    const token = await mintDemo('--sub', 'alice', '--scope', 'read write');
    const res = await fetch(`${hono!.url}/api/me`, bearer(token));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ sub: 'alice', iss: DEMO_ISSUER, scope: 'read write' });
    const strict = await fetch(`${hono!.url}/admin/ping`, bearer(token));
    expect(strict.status).toBe(200);
    expect(await strict.json()).toEqual({ ok: true, sub: 'alice' });
  });

  it('/api/* with a tampered token → 401 bad_signature with the WWW-Authenticate challenge', async () => {
    const token = await mintDemo('--sub', 'alice');
    const [h, p, s] = token.split('.') as [string, string, string];
    const res = await fetch(`${hono!.url}/api/me`, bearer(`${h}.${p}.${s.startsWith('A') ? 'B' : 'A'}${s.slice(1)}`));
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token", error_description="bad_signature"');
  });
});
