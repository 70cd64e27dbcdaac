#!/usr/bin/env node
// @ts-check
// `npm run origin`: examples/express-origin/server.ts against `npm start` (dev/demo.env), on
// 127.0.0.1:3000. The client is TypeScript source and Node 20 cannot run that: esbuild bundles
// the example first (the npm packages stay external). Any variable of the example can be set
// in the environment instead (KILLSWITCH_URL, PORT, ...).
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseEnv } from 'node:util';
import { build } from 'esbuild';
import { DEMO_ENV, DEMO_ISSUER, ROOT } from './lib/wrangler-dev.mjs';

const demo = /** @type {Record<string, string>} */ (parseEnv(readFileSync(DEMO_ENV, 'utf8')));
const demoIssuer = JSON.parse(demo.TRUSTED_ISSUERS ?? '[]').find((/** @type {{ issuer: string }} */ i) => i.issuer === DEMO_ISSUER);
const defaults = {
  KILLSWITCH_URL: 'http://127.0.0.1:8787',
  KILLSWITCH_FEED_KEY: (demo.FEED_API_KEYS ?? '').split(',')[0],
  ISSUER: DEMO_ISSUER,
  AUDIENCE: 'api',
  VERSION_CLAIM: 'ver',
  JWKS: JSON.stringify(demoIssuer.jwks),
};
for (const [name, value] of Object.entries(defaults)) process.env[name] ??= value;

// Inside the repo, so that the example's own imports (express, jose) resolve from node_modules.
mkdirSync(join(ROOT, 'node_modules/.cache'), { recursive: true });
const out = join(mkdtempSync(join(ROOT, 'node_modules/.cache/killswitch-origin-')), 'server.mjs');
await build({
  entryPoints: [join(ROOT, 'examples/express-origin/server.ts')],
  outfile: out,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  alias: { 'killswitch/client': join(ROOT, 'src/client/index.ts') },
  logLevel: 'warning',
});
await import(pathToFileURL(out).href);
