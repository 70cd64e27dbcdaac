#!/usr/bin/env node
// @ts-check
// `npm run probe -- --url https://… --admin-key …`: revoke → first refusal against your own
// deployment, seen from where you run it. See docs/deploy.md ("Measure revocation from your
// regions") for how to run it and read it. The admin key is read from --admin-key or
// KILLSWITCH_ADMIN_KEY and is never printed; neither are the tokens.
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { commandLine } from './lib/command-line.mjs';
import { measureFirstRefusal, summarize } from './lib/first-refusal.mjs';

const usage = `usage: npm run probe -- --url <https://your-worker> [--admin-key <key>] [options]
  --url <url>          the deployed killswitch (its origin)
  --admin-key <key>    an ADMIN_API_KEYS key (or set KILLSWITCH_ADMIN_KEY, which keeps it out of
                       your shell history and the process list)
  --token <jwt>        a test token to revoke (repeat it for more samples; each is revoked for good).
                       Without --token, tokens are minted through POST /v1/sessions (the token
                       service must be on) for a throw-away subject, killswitch-probe-<random>
  --samples <n>        revocations to measure (default 20; with --token, one per token)
  --duration <s>       keep taking samples for this long (e.g. across a deploy), at least --samples
  --interval-ms <ms>   poll cadence after the revocation (default 20)
  --timeout-ms <ms>    give up on a sample this long after the revocation's 2xx (default 10000)
  --confirm-ms <ms>    keep polling after the first refusal, to catch a location that accepts again (default 1000)
  --bound-ms <ms>      the bound to judge against (default 1000: REVOCATION_MAX_STALENESS_MS)
  --strict             poll /v1/verify?strict=1 (the Durable Object) instead
  --json <file>        also write every sample and the summary there`;

const { values, fail, integer } = commandLine(usage, {
  url: { type: 'string' },
  'admin-key': { type: 'string' },
  token: { type: 'string', multiple: true },
  samples: { type: 'string', default: '20' },
  duration: { type: 'string', default: '0' },
  'interval-ms': { type: 'string', default: '20' },
  'timeout-ms': { type: 'string', default: '10000' },
  'confirm-ms': { type: 'string', default: '1000' },
  'bound-ms': { type: 'string', default: '1000' },
  strict: { type: 'boolean', default: false },
  json: { type: 'string' },
});

if (typeof values.url !== 'string') fail('--url is required');
let baseUrl;
try {
  const u = new URL(String(values.url));
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('not http(s)');
  baseUrl = u.origin;
} catch {
  fail('--url must be an http(s) URL');
}
const adminKey = typeof values['admin-key'] === 'string' ? values['admin-key'] : process.env.KILLSWITCH_ADMIN_KEY;
if (!adminKey) fail('--admin-key (or KILLSWITCH_ADMIN_KEY) is required');
const given = /** @type {string[]} */ (values.token ?? []);
const samples = given.length > 0 ? given.length : integer('samples', 1, 10_000);
const durationMs = integer('duration', 0, 86_400) * 1000;
if (given.length > 0 && durationMs > 0) fail('--duration needs minted tokens (leave out --token)');
const options = {
  intervalMs: integer('interval-ms', 1, 10_000),
  timeoutMs: integer('timeout-ms', 100, 600_000),
  confirmMs: integer('confirm-ms', 0, 60_000),
  strict: Boolean(values.strict),
};
const boundMs = integer('bound-ms', 1, 600_000);
const base = /** @type {string} */ (baseUrl);
const key = /** @type {string} */ (adminKey);

const subject = `killswitch-probe-${randomUUID().slice(0, 8)}`;
/** A fresh access token from the token service, for the probe's own subject. */
async function mint() {
  const res = await fetch(`${base}/v1/sessions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sub: subject }),
    signal: AbortSignal.timeout(10_000),
  });
  /** @type {{ access_token?: unknown, refresh_token?: unknown, error?: unknown }} operator input, checked below */
  const body = /** @type {any} */ (await res.json().catch(() => ({})));
  if (res.status !== 200 || typeof body.access_token !== 'string') {
    const why =
      res.status === 400 && body.error === 'not_configured'
        ? 'the token service is off there (TOKEN_SIGNING_KEYS): pass test tokens with --token'
        : `${res.status} ${body.error ?? ''}`.trim();
    throw new Error(`POST /v1/sessions answered ${why}`);
  }
  return { token: body.access_token, refreshToken: typeof body.refresh_token === 'string' ? body.refresh_token : undefined };
}

/** Ends the probe's own session family, so that nothing it minted stays usable. */
async function revokeRefresh(/** @type {string} */ refreshToken) {
  await fetch(`${base}/v1/revoke`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: refreshToken }).toString(),
    signal: AbortSignal.timeout(10_000),
  }).catch(() => undefined);
}

console.log(
  `probe: ${base}, ${given.length > 0 ? `${given.length} given token(s)` : `tokens minted for ${subject}`}, polling /v1/verify${options.strict ? '?strict=1' : ''} every ${options.intervalMs} ms`,
);
const started = Date.now();
/** @type {Array<import('./lib/first-refusal.mjs').RefusalSample & { at: string }>} */
const taken = [];
for (let i = 0; i < samples || Date.now() - started < durationMs; i++) {
  const at = new Date().toISOString();
  let sample;
  try {
    const minted = given.length > 0 ? { token: given[i], refreshToken: undefined } : await mint();
    sample = await measureFirstRefusal({ baseUrl: base, adminKey: key, token: minted.token, ...options });
    if (minted.refreshToken !== undefined) await revokeRefresh(minted.refreshToken);
  } catch (error) {
    console.error(`sample ${i + 1}: ${error instanceof Error ? error.message : String(error)}`);
    if (i === 0) process.exit(1); // nothing works: wrong URL, key or configuration
    continue;
  }
  taken.push({ at, ...sample });
  const where = sample.refusalLocation ?? sample.locations.join(',');
  console.log(
    sample.error === undefined
      ? `sample ${i + 1}: refused ${sample.refusedAfterAckMs} ms after the 2xx (revoke call ${sample.revokeCallMs} ms) at ${where}, ${sample.refusalReason}${sample.acceptedAfterRefusal ? `, accepted ${sample.acceptedAfterRefusal}× after a refusal` : ''}${sample.verify503 + sample.revoke503 ? `, ${sample.verify503 + sample.revoke503}× 503` : ''}`
      : `sample ${i + 1}: ${sample.error}`,
  );
}

const summary = summarize(taken);
const f = (/** @type {number | undefined} */ x) => (x === undefined ? '—' : `${x} ms`);
const r = summary.refusedAfterAckMs;
const within = summary.failed === 0 && r.p99 !== undefined && r.p99 <= boundMs;
const clean = summary.revoke503 + summary.verify503 + summary.verifyErrors === 0;
console.log(`
first refusal after the revocation's 2xx: p50 ${f(r.p50)}, p99 ${f(r.p99)}, max ${f(r.max)} (${summary.measured}/${summary.samples} samples)
revoke call (sent → 2xx):                 p50 ${f(summary.revokeCallMs.p50)}, p99 ${f(summary.revokeCallMs.p99)}, max ${f(summary.revokeCallMs.max)}
503 answers:                               ${summary.revoke503} to POST /v1/revoke, ${summary.verify503} to GET /v1/verify (of ${summary.polls} polls)
other answers to GET /v1/verify:           ${summary.verifyErrors} (no answer in 5 s, or neither 200, 401 nor 503)
accepted again after a refusal:            ${summary.acceptedAfterRefusal}
refused at (cf-ray location):              ${
  Object.entries(summary.refusalLocations)
    .map(([loc, n]) => `${loc} ×${n}`)
    .join(', ') || '—'
}
${summary.errors.length ? `failed samples: ${summary.failed} (${summary.errors.join('; ')})\n` : ''}verdict: p99 ${within ? '≤' : 'NOT ≤'} ${boundMs} ms${clean ? ', no 503s or other failed answers' : ', WITH 503s or other failed answers'} from this location`);
if (typeof values.json === 'string') {
  writeFileSync(
    values.json,
    `${JSON.stringify({ url: base, strict: options.strict, boundMs, startedAt: new Date(started).toISOString(), summary, samples: taken }, null, 2)}\n`,
  );
  console.log(`samples: ${values.json}`);
}
process.exit(summary.failed === 0 ? 0 : 1);
