/**
 * Deploy readiness: `npm run deploy:dry-run` (cli/dry-run.mjs → `wrangler deploy --dry-run --outdir`)
 * bundles the worker offline, reports its size, and what it would deploy never trusts the
 * local demo issuer: not in wrangler.toml's [vars], not in the configuration the dry-run
 * reports, not in the bundle, and no dev secret travels with it.
 * (test/e2e/deploy-config.test.ts checks the same configuration through killswitch's parser.)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unstable_readConfig } from 'wrangler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_ADMIN_KEY, DEMO_ISSUER, demoJwk, ROOT } from '../helpers/demo';
import { routeWarnings } from '../../cli/deploy-checks.mjs';

interface BuildReport {
  outdir: string;
  files: { name: string; bytes: number; gzipBytes: number }[];
  bytes: number;
  gzipBytes: number;
  wrangler: { totalUploadKiB: number; gzipKiB: number } | null;
  bindings: { name: string; resource: string }[];
  assetFiles: number;
  vars: Record<string, string>;
  warnings: string[];
}

let outdir: string;
let build: { status: number | null; stdout: string; stderr: string; ms: number };
let report: BuildReport;

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'killswitch-dry-run-'));
  const started = Date.now();
  const run = spawnSync(process.execPath, ['cli/dry-run.mjs', '--outdir', outdir, '--json'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', WRANGLER_LOG_PATH: outdir },
  });
  build = { status: run.status, stdout: run.stdout, stderr: run.stderr, ms: Date.now() - started };
  if (run.status === 0) report = JSON.parse(run.stdout) as BuildReport;
}, 60_000);

afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

const demoSecrets = () => {
  const jwk = demoJwk();
  return [DEMO_ISSUER, 'demo.killswitch.local', DEMO_ADMIN_KEY, jwk.x, jwk.d, jwk.kid];
};

describe('npm run deploy:dry-run (wrangler deploy --dry-run --outdir)', () => {
  it('succeeds offline and writes the bundle', () => {
    expect(build.status, `${build.stdout}\n${build.stderr}`).toBe(0);
    expect(readdirSync(outdir)).toContain('index.js');
    expect(report.files.map((f) => f.name)).toContain('index.js');
  });

  it('reports the bundle size, raw and gzip, well under the 3 MiB (gzip) Workers limit', () => {
    const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
    console.log(`[deploy] bundle ${kib(report.bytes)}, gzip ${kib(report.gzipBytes)} (dry-run in ${build.ms} ms)`);
    expect(report.bytes).toBeGreaterThan(10_000);
    expect(report.gzipBytes).toBeLessThan(report.bytes);
    expect(report.gzipBytes).toBeLessThan(3 * 1024 * 1024);
    // Our count matches wrangler's own "Total Upload" line (to rounding and gzip level).
    expect(report.wrangler).not.toBeNull();
    expect(Math.abs(report.wrangler!.totalUploadKiB * 1024 - report.bytes)).toBeLessThan(1024);
    expect(Math.abs(report.wrangler!.gzipKiB * 1024 - report.gzipBytes)).toBeLessThan(0.05 * report.gzipBytes);
  });

  it('the bundle exports the worker, the Verifier entrypoint and both Durable Object classes', () => {
    const bundle = readFileSync(join(outdir, 'index.js'), 'utf8');
    const exported = /export\s*\{([^}]*)\}\s*;?\s*(\/\/# sourceMappingURL=.*)?\s*$/.exec(bundle)?.[1] ?? '';
    for (const name of ['UserState', 'GlobalState', 'Verifier']) expect(exported).toMatch(new RegExp(`\\b${name}\\b`));
    expect(exported).toMatch(/as default\b/);
  });

  it("deploys the bindings of wrangler.toml: KV REVOCATIONS, the two Durable Objects, the console's assets", () => {
    const byName = Object.fromEntries(report.bindings.map((b) => [b.name, b.resource]));
    expect(byName).toMatchObject({
      REVOCATIONS: 'KV Namespace',
      USER_STATE: 'Durable Object',
      GLOBAL_STATE: 'Durable Object',
      ASSETS: 'Assets',
    });
    // wrangler's count of what it read from public/ covers at least every console file.
    expect(report.assetFiles).toBeGreaterThanOrEqual(readdirSync(join(ROOT, 'public/admin')).length);
  });
});

describe('the deploy requirement of bounded mode (a route on a zone: the Cache API does nothing on workers.dev)', () => {
  it('the dry-run warns, on stderr and in --json, that wrangler.toml has no route', () => {
    expect(report.warnings).toEqual([expect.stringContaining('wrangler.toml has no route')]);
    expect(build.stderr).toContain('warning: wrangler.toml has no route');
  });

  it('a route, routes or [[routes]] silences it; a commented-out one does not', () => {
    expect(routeWarnings('name = "k"\nroute = { pattern = "auth.example.com/*", zone_name = "example.com" }\n')).toEqual([]);
    expect(routeWarnings('routes = [{ pattern = "auth.example.com", custom_domain = true }]\n')).toEqual([]);
    expect(routeWarnings('[[routes]]\npattern = "auth.example.com/*"\n')).toEqual([]);
    expect(routeWarnings('# route = "auth.example.com/*"\n')).toHaveLength(1);
  });
});

describe('what the dry-run would deploy never trusts the demo issuer', () => {
  it('wrangler.toml [vars] TRUSTED_ISSUERS (as wrangler reads it) does not name it', () => {
    const config = unstable_readConfig({ config: join(ROOT, 'wrangler.toml') }, { hideWarnings: true });
    const issuers = JSON.parse(String(config.vars.TRUSTED_ISSUERS)) as { issuer: string }[];
    expect(issuers.map((i) => i.issuer)).not.toContain(DEMO_ISSUER);
  });

  it("the dry-run's reported configuration: TRUSTED_ISSUERS is the toml's, and no demo value appears in its output", () => {
    const config = unstable_readConfig({ config: join(ROOT, 'wrangler.toml') }, { hideWarnings: true });
    expect(report.vars.TRUSTED_ISSUERS).toBeDefined();
    if (!report.vars.TRUSTED_ISSUERS!.includes('…') && !report.vars.TRUSTED_ISSUERS!.includes('...')) {
      expect(report.vars.TRUSTED_ISSUERS).toBe(String(config.vars.TRUSTED_ISSUERS));
    }
    expect(Object.keys(report.vars)).not.toContain('ADMIN_API_KEYS'); // secrets are not config
    expect(Object.keys(report.vars)).not.toContain('TOKEN_SIGNING_KEYS');
    for (const needle of demoSecrets()) expect(build.stdout + build.stderr, needle).not.toContain(needle);
  });

  it('the bundle carries no demo issuer, demo key or demo admin key, and no dev env file sits beside it', () => {
    const files = readdirSync(outdir, { recursive: true }).map(String);
    expect(files.filter((f) => /(^|\/)(\.dev\.vars|\.env|demo\.env)$/.test(f))).toEqual([]);
    for (const file of files.filter((f) => /\.(m?js|map)$/.test(f))) {
      const text = readFileSync(join(outdir, file), 'utf8');
      for (const needle of demoSecrets()) expect(text.includes(needle), `${file} contains ${needle}`).toBe(false);
    }
  });
});
