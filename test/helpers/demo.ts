/**
 * The demo issuer of dev/demo.env, for the e2e tests (Node only: it spawns scripts/token.mjs
 * and reads dev/): its tokens, its private key, the variables `wrangler dev` gets, and the
 * worker itself under `wrangler dev` for the length of a test file.
 */
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv, promisify } from 'node:util';
import { importJWK, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll } from 'vitest';
import { DEMO_ENV, ROOT, startWranglerDev, type WranglerDev, type WranglerDevOptions } from '../../scripts/lib/wrangler-dev.mjs';

export { DEMO_ADMIN_KEY, DEMO_ENV, DEMO_ISSUER, ROOT } from '../../scripts/lib/wrangler-dev.mjs';

/** The demo issuer's private JWK (ES256), what scripts/token.mjs signs with. */
export const DEMO_KEY_FILE = join(ROOT, 'dev/demo-issuer.private.jwk.json');
export type DemoJwk = JWK & { kid: string; alg: string; x: string; d: string };
export const demoJwk = () => JSON.parse(readFileSync(DEMO_KEY_FILE, 'utf8')) as DemoJwk;

/** dev/demo.env's variables, as `wrangler dev --env-file` reads them. */
export const demoVars = () => parseEnv(readFileSync(DEMO_ENV, 'utf8')) as Record<string, string>;

const TOKEN_SCRIPT = 'scripts/token.mjs';

/** A demo token from scripts/token.mjs `args` (e.g. '--sub', 'alice'), without blocking the event loop. */
export const mintDemo = async (...args: string[]) =>
  (await promisify(execFile)(process.execPath, [TOKEN_SCRIPT, ...args], { cwd: ROOT, encoding: 'utf8' })).stdout.trim();

/** The same, synchronously (where the token is needed in an expression). */
export const mintDemoSync = (...args: string[]) =>
  execFileSync(process.execPath, [TOKEN_SCRIPT, ...args], { cwd: ROOT, encoding: 'utf8' }).trim();

/** Signs `claims` with the demo issuer's key directly, for claims scripts/token.mjs cannot produce. */
export async function signDemo(claims: Record<string, unknown>): Promise<string> {
  const jwk = demoJwk();
  return new SignJWT(claims).setProtectedHeader({ alg: jwk.alg, kid: jwk.kid, typ: 'JWT' }).sign(await importJWK(jwk, jwk.alg));
}

/**
 * The worker under `wrangler dev` with dev/demo.env (plus `options`) for this test file:
 * started before its first test, stopped after its last. Read `dev` inside tests and hooks.
 */
export function useDemoWorker(options: WranglerDevOptions = {}): { readonly dev: WranglerDev; readonly url: string } {
  const timeoutMs = options.timeoutMs ?? 60_000; // slow to start on a busy machine
  let worker: WranglerDev | undefined;
  beforeAll(async () => {
    worker = await startWranglerDev({ name: 'killswitch', envFile: DEMO_ENV, ...options, timeoutMs });
  }, timeoutMs + 15_000);
  afterAll(async () => {
    await worker?.stop();
  }, 20_000);
  return {
    get dev() {
      if (worker === undefined) throw new Error('wrangler dev is not running (read it inside a test or hook)');
      return worker;
    },
    get url() {
      return this.dev.url;
    },
  };
}
