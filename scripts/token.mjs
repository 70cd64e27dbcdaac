#!/usr/bin/env node
// Prints a token signed by the local demo issuer (dev/demo.env). For local development only:
// the deployed configuration does not trust this issuer.
//   npm run token -- --sub alice [--ttl 300] [--ver 0] [--scope "read write"] [--no-jti]
import { readFileSync } from 'node:fs';
import { importJWK, SignJWT } from 'jose';
import { commandLine } from './lib/command-line.mjs';

const DEMO_ISSUER = 'https://demo.killswitch.local';
const DEMO_AUDIENCE = 'api';

const usage = 'usage: npm run token -- --sub <user> [--ttl <seconds>] [--ver <n>] [--scope <scopes>] [--no-jti]';
const { values, fail, integer } = commandLine(usage, {
  sub: { type: 'string' },
  ttl: { type: 'string', default: '300' },
  ver: { type: 'string' },
  scope: { type: 'string' },
  'no-jti': { type: 'boolean', default: false },
});
if (!values.sub) fail('--sub is required');

const jwk = JSON.parse(readFileSync(new URL('../dev/demo-issuer.private.jwk.json', import.meta.url), 'utf8'));
const key = await importJWK(jwk, jwk.alg);
const now = Math.floor(Date.now() / 1000);
const claims = {};
if (values.ver !== undefined) claims.ver = integer('ver');
if (values.scope !== undefined) claims.scope = values.scope;
const jwt = new SignJWT(claims)
  .setProtectedHeader({ alg: jwk.alg, kid: jwk.kid, typ: 'JWT' })
  .setIssuer(DEMO_ISSUER)
  .setAudience(DEMO_AUDIENCE)
  .setSubject(values.sub)
  .setIssuedAt(now)
  .setExpirationTime(now + integer('ttl'));
if (!values['no-jti']) jwt.setJti(crypto.randomUUID());
console.log(await jwt.sign(key));
