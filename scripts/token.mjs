#!/usr/bin/env node
// Prints a token signed by the local demo issuer (dev/demo.env). For local development only:
// the deployed configuration does not trust this issuer.
//   npm run token -- --sub alice [--ttl 300] [--ver 0] [--scope "read write"] [--no-jti]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { importJWK, SignJWT } from 'jose';

const DEMO_ISSUER = 'https://demo.killswitch.local';
const DEMO_AUDIENCE = 'api';

const usage = 'usage: npm run token -- --sub <user> [--ttl <seconds>] [--ver <n>] [--scope <scopes>] [--no-jti]';
let values;
try {
  ({ values } = parseArgs({
    options: {
      sub: { type: 'string' },
      ttl: { type: 'string', default: '300' },
      ver: { type: 'string' },
      scope: { type: 'string' },
      'no-jti': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
} catch (error) {
  console.error(`${error.message}\n${usage}`);
  process.exit(2);
}
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const integer = (name, text) => {
  if (!/^\d+$/.test(text)) {
    console.error(`--${name} must be a non-negative integer\n${usage}`);
    process.exit(2);
  }
  return Number(text);
};
if (!values.sub) {
  console.error(`--sub is required\n${usage}`);
  process.exit(2);
}

const jwk = JSON.parse(readFileSync(new URL('../dev/demo-issuer.private.jwk.json', import.meta.url), 'utf8'));
const key = await importJWK(jwk, jwk.alg);
const now = Math.floor(Date.now() / 1000);
const claims = {};
if (values.ver !== undefined) claims.ver = integer('ver', values.ver);
if (values.scope !== undefined) claims.scope = values.scope;
const jwt = new SignJWT(claims)
  .setProtectedHeader({ alg: jwk.alg, kid: jwk.kid, typ: 'JWT' })
  .setIssuer(DEMO_ISSUER)
  .setAudience(DEMO_AUDIENCE)
  .setSubject(values.sub)
  .setIssuedAt(now)
  .setExpirationTime(now + integer('ttl', values.ttl));
if (!values['no-jti']) jwt.setJti(crypto.randomUUID());
console.log(await jwt.sign(key));
