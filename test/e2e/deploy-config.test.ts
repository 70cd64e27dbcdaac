/**
 * The production configuration — wrangler.toml as `wrangler deploy` reads it — must not trust
 * the local demo issuer of dev/demo.env, and a demo token (`npm run token`) must be refused
 * by it. Runs in Node: wrangler reads the config, and killswitch's own parseConfig and
 * authenticate (which need only jose and WebCrypto) judge the token.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { experimental_readRawConfig, unstable_readConfig } from 'wrangler';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEMO_ISSUER, demoJwk, demoVars, mintDemo, ROOT } from '../helpers/demo';

const WRANGLER_TOML = join(ROOT, 'wrangler.toml');

/** The slice of src/ this test uses. Imported by URL: src is typed for workerd, not Node. */
interface Killswitch {
  parseConfig(env: Record<string, unknown>): unknown;
  authenticate(token: string, config: unknown): Promise<{ ok: true } | { ok: false; reason: string }>;
  ConfigError: new (...args: never[]) => Error;
}
let ks: Killswitch;
let demoToken: string;

beforeAll(async () => {
  const [config, verifier] = await Promise.all([
    import(/* @vite-ignore */ pathToFileURL(join(ROOT, 'src/config/config.ts')).href),
    import(/* @vite-ignore */ pathToFileURL(join(ROOT, 'src/verify/verifier.ts')).href),
  ]);
  ks = { ...config, ...verifier } as Killswitch;
  demoToken = await mintDemo('--sub', 'alice');
});

/** [vars] of wrangler.toml as `wrangler deploy` (no --env) sees them. */
const productionVars = () => unstable_readConfig({ config: WRANGLER_TOML }, { hideWarnings: true }).vars as Record<string, unknown>;

const issuersOf = (vars: Record<string, unknown>): { issuer?: unknown }[] => {
  const raw = vars.TRUSTED_ISSUERS;
  const parsed: unknown = typeof raw === 'string' ? JSON.parse(raw) : raw;
  expect(Array.isArray(parsed)).toBe(true);
  return parsed as { issuer?: unknown }[];
};

describe('wrangler.toml (what wrangler deploy ships)', () => {
  it('reads as a valid wrangler config with the expected worker', () => {
    const config = unstable_readConfig({ config: WRANGLER_TOML }, { hideWarnings: true });
    expect(config.name).toBe('killswitch');
    expect(config.main).toMatch(/src[\\/]index\.ts$/);
  });

  it('TRUSTED_ISSUERS, top level and in every [env.*], does not name the demo issuer', () => {
    const { rawConfig } = experimental_readRawConfig({ config: WRANGLER_TOML });
    const envs = Object.entries((rawConfig.env ?? {}) as Record<string, { vars?: Record<string, unknown> }>);
    const allVars: [string, Record<string, unknown>][] = [
      ['top level', productionVars()],
      ...envs.map(([name, e]): [string, Record<string, unknown>] => [`env.${name}`, e.vars ?? {}]),
    ];
    for (const [where, vars] of allVars) {
      if (vars.TRUSTED_ISSUERS === undefined) continue;
      const issuers = issuersOf(vars).map((i) => i.issuer);
      expect(issuers, where).not.toContain(DEMO_ISSUER);
    }
    expect(issuersOf(productionVars()).map((i) => i.issuer)).not.toContain(DEMO_ISSUER);
  });

  it('does not mention the demo issuer, its key or dev/demo.env anywhere in its settings', () => {
    const settings = readFileSync(WRANGLER_TOML, 'utf8')
      .split('\n')
      .filter((line) => !line.trimStart().startsWith('#')) // comments may explain the setup
      .join('\n');
    const { x, kid } = demoJwk();
    for (const needle of [DEMO_ISSUER, 'demo.killswitch', 'demo.env', 'demo-issuer', x, kid]) {
      expect(settings, needle).not.toContain(needle);
    }
  });

  it('dev/demo.env does hold the demo issuer (so the checks above test something)', () => {
    expect(issuersOf(demoVars()).map((i) => i.issuer)).toContain(DEMO_ISSUER);
    expect(demoVars().ADMIN_API_KEYS).toBeTruthy();
    expect(productionVars().ADMIN_API_KEYS).toBeUndefined(); // the demo admin key is not shipped either
  });
});

describe('a demo token (npm run token -- --sub alice)', () => {
  it('is a compact JWS from the demo issuer', () => {
    expect(demoToken).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const payload = JSON.parse(Buffer.from(demoToken.split('.')[1] as string, 'base64url').toString()) as Record<string, unknown>;
    expect(payload).toMatchObject({ iss: DEMO_ISSUER, sub: 'alice', aud: 'api' });
  });

  it('is accepted by the dev configuration, wrangler.toml + dev/demo.env (control)', async () => {
    const config = ks.parseConfig({ ...productionVars(), ...demoVars() });
    expect(await ks.authenticate(demoToken, config)).toMatchObject({ ok: true });
  });

  it('is never accepted by the production configuration as shipped (misconfigured until issuers are set)', async () => {
    let accepted = false;
    try {
      accepted = (await ks.authenticate(demoToken, ks.parseConfig(productionVars()))).ok;
    } catch (error) {
      expect(error).toBeInstanceOf(ks.ConfigError);
      expect((error as Error).message).toMatch(/^TRUSTED_ISSUERS/);
    }
    expect(accepted).toBe(false);
  });

  it('is refused as wrong_issuer once an operator configures their own issuer', async () => {
    const { d: _private, ...publicJwk } = demoJwk(); // even reusing the same key pair
    const operatorIssuers = JSON.stringify([
      { issuer: 'https://auth.example.com', audiences: ['api'], algorithms: ['ES256'], jwks: { keys: [publicJwk] } },
    ]);
    const config = ks.parseConfig({ ...productionVars(), TRUSTED_ISSUERS: operatorIssuers });
    expect(await ks.authenticate(demoToken, config)).toEqual({ ok: false, reason: 'wrong_issuer' });
  });

  it('no .dev.vars / .env in the repository root re-introduces the demo issuer', () => {
    for (const file of ['.dev.vars', '.env']) {
      const path = join(ROOT, file);
      if (existsSync(path)) expect(readFileSync(path, 'utf8'), file).not.toContain(DEMO_ISSUER);
    }
  });
});
