#!/usr/bin/env node
// @ts-check
// Prints a token signed by the local demo issuer (dev/demo.env). For local development only:
// the deployed configuration does not trust this issuer.
//   npm run token -- --sub alice [--ttl 300] [--ver 0] [--scope "read write"] [--no-jti]
// With --event, a Security Event Token instead (SPEC §7), as the demo stream "demo" of
// dev/demo.env expects it from its demo identity provider:
//   npm run token -- --event session-revoked --sub alice
import { readFileSync } from 'node:fs';
import { importJWK, SignJWT } from 'jose';
import { commandLine } from './lib/command-line.mjs';

const DEMO_ISSUER = 'https://demo.killswitch.local';
const DEMO_AUDIENCE = 'api';
/** The demo Shared Signals stream of dev/demo.env: its transmitter and the aud it puts in SETs. */
const DEMO_IDP = 'https://idp.demo.killswitch.local';
const DEMO_SSF_AUDIENCE = 'killswitch-demo';
const CAEP = 'https://schemas.openid.net/secevent/caep/event-type/';

const usage =
  'usage: npm run token -- --sub <user> [--ttl <seconds>] [--ver <n>] [--scope <scopes>] [--no-jti] | --sub <user> --event <CAEP event, e.g. session-revoked>';
const { values, fail, integer } = commandLine(usage, {
  sub: { type: 'string' },
  ttl: { type: 'string', default: '300' },
  ver: { type: 'string' },
  scope: { type: 'string' },
  'no-jti': { type: 'boolean', default: false },
  event: { type: 'string' },
});
if (!values.sub) fail('--sub is required');
const sub = /** @type {string} */ (values.sub);

const jwk = JSON.parse(readFileSync(new URL('../dev/demo-issuer.private.jwk.json', import.meta.url), 'utf8'));
const key = await importJWK(jwk, jwk.alg);
const now = Math.floor(Date.now() / 1000);
if (values.event !== undefined) {
  const set = new SignJWT({
    sub_id: { format: 'iss_sub', iss: DEMO_IDP, sub },
    events: { [`${CAEP}${values.event}`]: { event_timestamp: now } },
  })
    .setProtectedHeader({ alg: jwk.alg, kid: jwk.kid, typ: 'secevent+jwt' })
    .setIssuer(DEMO_IDP)
    .setAudience(DEMO_SSF_AUDIENCE)
    .setIssuedAt(now)
    .setJti(crypto.randomUUID());
  console.log(await set.sign(key));
  process.exit(0);
}
/** @type {import('jose').JWTPayload} */
const claims = {};
if (values.ver !== undefined) claims.ver = integer('ver');
if (values.scope !== undefined) claims.scope = values.scope;
const jwt = new SignJWT(claims)
  .setProtectedHeader({ alg: jwk.alg, kid: jwk.kid, typ: 'JWT' })
  .setIssuer(DEMO_ISSUER)
  .setAudience(DEMO_AUDIENCE)
  .setSubject(sub)
  .setIssuedAt(now)
  .setExpirationTime(now + integer('ttl'));
if (!values['no-jti']) jwt.setJti(crypto.randomUUID());
console.log(await jwt.sign(key));
