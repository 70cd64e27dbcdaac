#!/usr/bin/env node
// @ts-check
// `npm run origin`: examples/express-origin/server.ts against `npm start` (dev/demo.env), on
// 127.0.0.1:3000. Any variable of the example can be set in the environment instead
// (KILLSWITCH_URL, KILLSWITCH_FEED_KEY, PORT, ...).
import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { importTs } from './lib/import-ts.mjs';
import { DEMO_ENV, DEMO_ISSUER } from './lib/wrangler-dev.mjs';

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

await importTs('examples/express-origin/server.ts');
