/**
 * Route fuzzing (issue 7, item 1): fast-check drives every route through the worker's fetch
 * handler (`app.fetch`, real KV and Durable Objects) with random and hostile tokens, headers,
 * JSON and form bodies. Invariants, per request: no 5xx and no rejected promise; a JSON body
 * (or RFC 7009's empty 200); the exact status the contract gives for that input; no 200 from
 * /v1/verify, /v1/logout or /v1/introspect for a token no test key signed; every log line one
 * small JSON object without the credential; and the target user's state (version, audit, KV)
 * untouched by a refused request.
 *
 * Seed-fixed, about 2,000 cases in `npm test`. Nightly: `FUZZ_RUNS=50000 npm run fuzz` (the
 * script passes it on as VITE_FUZZ_RUNS, which vite exposes to workerd as import.meta.env;
 * VITE_FUZZ_SEED picks another seed). The total is shared between the properties below.
 */
import { createExecutionContext, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import fc from 'fast-check';
import { base64url } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { app } from '../src/app';
import { GLOBAL_OBJECT_NAME, userKvKey, userObjectName } from '../src/revocation/storage-keys';
import { MAX_ID_CHARS } from '../src/routes/schemas';
import { REASONS } from '../src/verify/reasons';
import { ADMIN_KEY, ADMIN_KEY_ROTATED, BASE, KEYS, SSF, SSF_OKTA_SECRET } from './helpers/fixtures';
import { ssfEnv } from './helpers/ssf';
import { b64, defaultClaims, mint, signRaw, type SigningKey } from './helpers/tokens';

const viteEnv = (import.meta as unknown as { env?: Record<string, string | undefined> }).env ?? {};
const TOTAL = Number(viteEnv.VITE_FUZZ_RUNS) || 2_000;
const SEED = Number(viteEnv.VITE_FUZZ_SEED) || 0x66757a7a; // "fuzz"
const runs = (share: number) => Math.max(25, Math.round(TOTAL * share));
const timeout = (n: number) => 30_000 + n * 60; // DO-backed cases slow down as the objects' tables grow

const LIMIT = 16 * 1024;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const run = fc.uuid().map((u) => u.slice(0, 8));
const SUBS = { verify: 'fz-verify', logout: 'fz-logout', revoke: 'fz-revoke', session: 'fz-session' } as const;
const TARGETS = ['fz-target-1', 'fz target/2', 'fz-tärget-3'];
const POOL_KEYS: SigningKey[] = ['HS256', 'HS512', 'rs256-1', 'ps256-1', 'es256-1', 'es384-1', 'ed-1', 'second-1', 'remote-a'];
const encoder = new TextEncoder();

// ---- harness -----------------------------------------------------------------------------------
let logs: string[] = [];
beforeAll(() => {
  vi.spyOn(console, 'log').mockImplementation((line: unknown) => {
    logs.push(String(line));
  });
});
afterAll(() => vi.restoreAllMocks());

interface Sent {
  method: string;
  path: string;
  auth: string[];
  body?: string | Uint8Array;
  contentType?: string;
}
interface Got {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown> | undefined;
}

async function send(req: Sent, bindings: Env = env): Promise<Got> {
  const headers = new Headers();
  for (const value of req.auth) headers.append('Authorization', value);
  if (req.contentType !== undefined) headers.set('Content-Type', req.contentType);
  logs = [];
  const res = await app.fetch(
    new Request(`${BASE}${req.path}`, { method: req.method, headers, body: req.body }),
    bindings,
    createExecutionContext(),
  );
  const text = await res.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  expect(res.status, `${req.method} ${req.path.slice(0, 80)}: ${text.slice(0, 200)}`).toBeLessThan(500);
  if (!(res.status === 200 && req.path === '/v1/revoke')) {
    expect(typeof json === 'object' && json !== null && !Array.isArray(json), `JSON body: ${text.slice(0, 80)}`).toBe(true);
    expect(res.headers.get('Content-Type')).toBe('application/json; charset=utf-8');
  }
  // One small JSON line per request, never carrying a credential that was sent.
  const secrets = [ADMIN_KEY, ADMIN_KEY_ROTATED, ...req.auth.map((a) => a.replace(/^\s*\S+\s*/, '').trim())].filter((s) => s.length >= 24);
  for (const line of logs) {
    expect(line.length).toBeLessThanOrEqual(2048);
    expect(typeof JSON.parse(line)).toBe('object');
    for (const secret of secrets) expect(line.includes(secret.slice(0, 64)), 'credential in a log line').toBe(false);
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** What a refused request must leave alone: the user's version and revoked-before, its audit trail, its KV record. */
async function readState(sub: string): Promise<string> {
  const [row, kv] = await Promise.all([
    runInDurableObject(env.USER_STATE.getByName(userObjectName(sub)), (_instance, state) =>
      state.storage.sql
        .exec("SELECT (SELECT version || '/' || revoked_before FROM user_state) AS user, (SELECT MAX(id) FROM audit) AS audit")
        .one(),
    ),
    userKvKey(sub).then((key) => env.REVOCATIONS.get([key])), // the bulk form: much faster than get(key) in this pool
  ]);
  return JSON.stringify([row, [...kv]]);
}
/** Only requests of this file write these users, so the state read after one case is the state before the next. */
const lastState = new Map<string, string>();
async function snapshot(sub: string, fresh = false): Promise<string> {
  const known = lastState.get(sub);
  if (known !== undefined && !fresh) return known;
  const state = await readState(sub);
  lastState.set(sub, state);
  return state;
}
const after = (sub: string) => snapshot(sub, true);
let lastGlobal: string | undefined;
async function globalSnapshot(fresh = false): Promise<string> {
  if (lastGlobal !== undefined && !fresh) return lastGlobal;
  const row = await runInDurableObject(env.GLOBAL_STATE.getByName(GLOBAL_OBJECT_NAME), (_instance, state) =>
    state.storage.sql.exec('SELECT (SELECT revoked_before FROM global_state) AS global, (SELECT MAX(id) FROM audit) AS audit').one(),
  );
  return (lastGlobal = JSON.stringify(row));
}

// ---- tokens ------------------------------------------------------------------------------------
/** `must`: a valid token of a pool; `may`: signed by a test key, random claims; `never`: not signed by one. */
type Genuine = 'must' | 'may' | 'never';
interface Token {
  token: string;
  genuine: Genuine;
  payload?: string;
}
type TokenSpec =
  | { kind: 'pool'; pick: number }
  | { kind: 'signed'; key: SigningKey; drop: string[]; extras: [string, string][] }
  | { kind: 'forged'; make: (pool: string[]) => string }
  | { kind: 'attacker'; how: 'embedded-jwk' | 'jku' | 'hs-with-public-key'; kid: string };

const pools: Record<string, string[]> = {};
let attacker: { privateKey: CryptoKey; jwk: JsonWebKey };

const segs = (t: string) => t.split('.');
const flipBit = (s: string, at: number, bit: number) => {
  const bytes = base64url.decode(s);
  if (bytes.length === 0) return `${s}A`;
  const i = at % bytes.length;
  bytes[i] = bytes[i]! ^ (1 << bit);
  return base64url.encode(bytes);
};
const hugeNumbers = ['1e400', '-1e400', '123456789012345678901234567890', '-0', '1E+2', '5e-324', '9007199254740993'];
const rawValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.constantFrom(...hugeNumbers),
  fc.integer({ min: 1, max: 1500 }).map((d) => '['.repeat(d) + ']'.repeat(d)),
  fc.integer({ min: 1, max: 600 }).map((d) => '{"a":'.repeat(d) + '1' + '}'.repeat(d)),
  fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => JSON.stringify(s)),
  fc.integer({ min: 100, max: 9000 }).map((n) => JSON.stringify('x'.repeat(n))),
);
const claimName = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'active',
    'ver',
    'sid',
    'scope',
    'client_id',
    'nbf',
    'exp',
    'iat',
    'iss',
    'aud',
    'sub',
    'jti',
    'cnf',
    '',
  ),
  fc.string({ maxLength: 12 }),
);
const REGISTERED = ['exp', 'iat', 'iss', 'aud', 'sub', 'jti'];

const forgery: fc.Arbitrary<(pool: string[]) => string> = fc.oneof(
  fc.tuple(fc.nat(), fc.nat(2), fc.nat(), fc.nat(7)).map(([p, i, at, bit]) => (pool: string[]) => {
    const parts = segs(pool[p % pool.length]!);
    parts[i] = flipBit(parts[i]!, at, bit);
    return parts.join('.');
  }),
  fc.tuple(fc.nat(), fc.nat(), fc.constantFrom(...`${ALPHABET}.=+/ `)).map(([p, at, c]) => (pool: string[]) => {
    const t = pool[p % pool.length]!;
    const i = at % t.length;
    return t.slice(0, i) + c + t.slice(i + 1);
  }),
  fc.tuple(fc.nat(), fc.nat(), fc.constantFrom(0, 1, 2)).map(([p, q, i]) => (pool: string[]) => {
    const parts = segs(pool[p % pool.length]!);
    parts[i] = segs(pool[q % pool.length]!)[i]!;
    return parts.join('.');
  }),
  fc
    .tuple(fc.nat(), fc.constantFrom('none', 'None', 'HS256', 'RS256', 'ES256', 'EdDSA', ''), fc.boolean())
    .map(([p, alg, strip]) => (pool: string[]) => {
      const [h, body, sig] = segs(pool[p % pool.length]!);
      const header = { ...JSON.parse(new TextDecoder().decode(base64url.decode(h!))), alg };
      return `${b64(JSON.stringify(header))}.${body}.${strip ? '' : sig}`;
    }),
  fc.tuple(fc.nat(), fc.nat()).map(([p, n]) => (pool: string[]) => {
    const t = pool[p % pool.length]!;
    return t.slice(0, n % t.length);
  }),
  fc.tuple(fc.nat()).map(
    ([p]) =>
      (pool: string[]) =>
        `${pool[p % pool.length]!}=`,
  ),
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 200 }).map((s) => () => s),
  fc.array(fc.string({ unit: fc.constantFrom(...ALPHABET), maxLength: 80 }), { minLength: 1, maxLength: 5 }).map((a) => () => a.join('.')),
);

const tokenSpec: fc.Arbitrary<TokenSpec> = fc.oneof(
  { arbitrary: fc.nat().map((pick) => ({ kind: 'pool', pick }) as const), weight: 3 },
  {
    arbitrary: fc
      .record({
        key: fc.constantFrom(...POOL_KEYS),
        drop: fc.oneof(fc.constant<string[]>([]), fc.constant<string[]>([]), fc.subarray(REGISTERED, { maxLength: 2 })),
        extras: fc.array(fc.tuple(claimName, rawValue), { maxLength: 4 }),
      })
      .map((s) => ({ kind: 'signed', ...s }) as const),
    weight: 3,
  },
  { arbitrary: forgery.map((make) => ({ kind: 'forged', make }) as const), weight: 5 },
  {
    arbitrary: fc
      .record({
        how: fc.constantFrom('embedded-jwk', 'jku', 'hs-with-public-key'),
        kid: fc.constantFrom('es256-1', 'rs256-1', 'remote-a', 'x'),
      })
      .map((s) => ({ kind: 'attacker', ...s }) as const),
    weight: 1,
  },
);

async function attackerToken(how: 'embedded-jwk' | 'jku' | 'hs-with-public-key', kid: string, sub: string): Promise<string> {
  const claims = JSON.stringify({ ...defaultClaims('es256-1'), sub });
  if (how === 'hs-with-public-key') {
    // algorithm confusion: HMAC keyed with a public key the attacker knows
    const input = `${b64(JSON.stringify({ alg: 'HS256', kid }))}.${b64(claims)}`;
    const secret = encoder.encode(JSON.stringify(KEYS[kid as 'rs256-1']?.public ?? KEYS['es256-1'].public));
    const key = await crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    return `${input}.${base64url.encode(new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(input))))}`;
  }
  const header = how === 'jku' ? { alg: 'ES256', kid, jku: 'https://evil.test/jwks' } : { alg: 'ES256', kid, jwk: attacker.jwk };
  const input = `${b64(JSON.stringify(header))}.${b64(claims)}`;
  const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, attacker.privateKey, encoder.encode(input));
  return `${input}.${base64url.encode(new Uint8Array(sig))}`;
}

async function materialize(spec: TokenSpec, sub: string): Promise<Token> {
  const pool = pools[sub]!;
  switch (spec.kind) {
    case 'pool':
      return { token: pool[spec.pick % pool.length]!, genuine: 'must' };
    case 'attacker':
      return { token: await attackerToken(spec.how, spec.kid, sub), genuine: 'never' };
    case 'forged': {
      const token = spec.make(pool);
      return { token, genuine: pool.includes(token) ? 'must' : 'never' };
    }
    case 'signed': {
      const base = Object.entries({ ...defaultClaims(spec.key), sub }).filter(([n]) => !spec.drop.includes(n));
      const members = [
        ...base.map(([n, v]) => `${JSON.stringify(n)}:${JSON.stringify(v)}`),
        ...spec.extras.map(([n, raw]) => `${JSON.stringify(n)}:${raw}`),
      ];
      const payload = `{${members.join(',')}}`;
      const header = JSON.stringify(
        spec.key.startsWith('HS') ? { alg: spec.key } : { alg: KEYS[spec.key as 'es256-1'].alg, kid: spec.key },
      );
      return { token: await signRaw(header, payload, spec.key), genuine: 'may', payload };
    }
  }
}

// ---- Authorization headers -----------------------------------------------------------------------
const latin1 = (max: number) =>
  fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: max });
/** Header material: printable ASCII (workerd prints a warning for every non-ASCII header value; those are `nonAscii`). */
const ascii = (max: number) => fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: max });
const oddAuth = fc.record({
  scheme: fc.constantFrom('Bearer', 'Bearer', 'bearer', 'BEARER', 'Basic', 'Token', 'DPoP', '', 'Bearer Bearer'),
  sep: fc.constantFrom(' ', ' ', '  ', '\t', '', ':'),
  trail: fc.constantFrom('', '', ' ', '\t', ' junk', ',', ', Bearer x'),
  nonAscii: fc.oneof({ weight: 199, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom('\u00a0', 'é', 'Ω') }),
  extra: fc.oneof(
    { arbitrary: fc.constant<string[]>([]), weight: 6 },
    { arbitrary: fc.constantFrom<string[]>(['same'], ['Bearer x'], ['Basic Zm9vOmJhcg==']), weight: 1 },
    { arbitrary: fc.tuple(ascii(60), fc.integer({ min: 1_000, max: 70_000 })).map(([s, n]) => [`Bearer ${s}${'A'.repeat(n)}`]), weight: 1 },
  ),
});
const authShape = fc.oneof(oddAuth, fc.constant({ scheme: 'Bearer', sep: ' ', trail: '', nonAscii: null, extra: [] as string[] }));
type AuthShape = typeof oddAuth extends fc.Arbitrary<infer T> ? T : never;

function authValues(shape: AuthShape, token: string, absent: boolean): string[] {
  if (absent) return [];
  const [sep, trail] = shape.nonAscii === '\u00a0' ? [shape.nonAscii, shape.trail] : [shape.sep, shape.trail + (shape.nonAscii ?? '')];
  const first = `${shape.scheme}${sep}${token}${trail}`;
  return [first, ...shape.extra.map((e) => (e === 'same' ? first : e))];
}
/** The only way a credential may be accepted: one header, Bearer (any case), whitespace, that exact token. */
const carries = (values: string[], token: string) => values.length === 1 && /^bearer\s+(.*?)\s*$/is.exec(values[0]!.trim())?.[1] === token;
const canonical = (values: string[], token: string) => values.length === 1 && values[0] === `Bearer ${token}`;

beforeAll(async () => {
  for (const sub of Object.values(SUBS)) {
    pools[sub] = await Promise.all(POOL_KEYS.flatMap((k) => [mint(k, { claims: { sub } }), mint(k, { claims: { sub, jti: undefined } })]));
  }
  const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  attacker = { privateKey: pair.privateKey, jwk: (await crypto.subtle.exportKey('jwk', pair.publicKey)) as JsonWebKey };
});

const property = <T>(arb: fc.Arbitrary<T>, n: number, check: (value: T) => Promise<void>) =>
  fc.assert(fc.asyncProperty(arb, check), { seed: SEED, numRuns: n, endOnFailure: true });

function expectRefusal(got: Got): void {
  expect(got.status).toBe(401);
  const reason = got.json?.reason as string;
  expect(got.json).toEqual({ active: false, error: 'invalid_token', reason });
  expect(REASONS).toContain(reason);
  expect(got.headers.get('WWW-Authenticate')).toBe(
    reason === 'missing_token' ? 'Bearer' : `Bearer error="invalid_token", error_description="${reason}"`,
  );
}

/** A 200 from /v1/verify must echo the signed claims (a `__proto__` claim included) and name the subject. */
function expectAccepted(got: Got, t: Token): void {
  expect(t.genuine, `accepted a forgery: ${t.token.slice(0, 120)}`).not.toBe('never');
  const claims = JSON.parse(t.payload ?? new TextDecoder().decode(base64url.decode(segs(t.token)[1]!))) as Record<string, unknown>;
  expect(got.json).toEqual(JSON.parse(JSON.stringify({ ...claims, active: true })));
  const sub = String(claims.sub);
  expect(got.headers.get('X-Auth-Subject')).toBe(/^[\x20-\x7e]*$/.test(sub) ? sub : encodeURIComponent(sub));
}

// ---- /v1/verify and /v1/logout --------------------------------------------------------------------
const verifyCase = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
  path: fc.oneof(
    fc.constant('/v1/verify'),
    fc.constant('/v1/verify?strict=1'),
    fc.webPath().map((p) => `/v1/verify/${p.replace(/^\/+/, '')}`),
    fc.webQueryParameters().map((q) => `/v1/verify?${q}`),
  ),
  token: tokenSpec,
  shape: authShape,
  absent: fc.nat(19).map((n) => n === 0),
});

describe('/v1/verify and /v1/logout', () => {
  const nVerify = runs(0.3);
  it(
    `/v1/verify (+ subpaths, any method): ${nVerify} cases; no forgery accepted, valid tokens always accepted`,
    () =>
      property(verifyCase, nVerify, async (c) => {
        const t = await materialize(c.token, SUBS.verify);
        const auth = authValues(c.shape, t.token, c.absent);
        const got = await send({ method: c.method, path: c.path, auth });
        if (got.status === 200) {
          expect(carries(auth, t.token)).toBe(true);
          expectAccepted(got, t);
        } else expectRefusal(got);
        if (t.genuine === 'must' && canonical(auth, t.token)) expect(got.status).toBe(200);
        expect(got.headers.get('Cache-Control')).toBe('no-store');
      }),
    timeout(nVerify),
  );

  const nLogout = runs(0.1);
  it(
    `/v1/logout: ${nLogout} cases; only a genuine bearer changes state`,
    () =>
      property(fc.record({ token: tokenSpec, shape: authShape, body: jsonBody }), nLogout, async (c) => {
        const t = await materialize(c.token, SUBS.logout);
        const auth = authValues(c.shape, t.token, false);
        const before = await snapshot(SUBS.logout);
        const got = await send({ method: 'POST', path: '/v1/logout', auth, body: c.body });
        if (got.status === 401) expectRefusal(got);
        else {
          expect(t.genuine).not.toBe('never');
          expect(carries(auth, t.token)).toBe(true);
          const expected = adminBodyStatus(c.body, (b) => b.everywhere === undefined || typeof b.everywhere === 'boolean');
          expect(got.status).toBe(expected);
          if (expected === 200) {
            const text = decode(c.body)!;
            const everywhere = text.trim() !== '' && (JSON.parse(text) as { everywhere?: unknown }).everywhere === true;
            expect(got.json).toEqual({ revoked: everywhere ? 'user' : 'token' });
          }
        }
        if (got.status !== 200) expect(await after(SUBS.logout)).toBe(before);
        else lastState.delete(SUBS.logout);
      }),
    timeout(nLogout),
  );

  it.each([
    ['{"a":1}', { a: 1 }],
    ['1', 1],
  ])('a claim named __proto__ (%s) is echoed like any other claim (reference §3.1: {"active":true, ...claims})', async (raw, value) => {
    const token = await signRaw('{"alg":"HS256"}', `${JSON.stringify(defaultClaims('HS256')).slice(0, -1)},"__proto__":${raw}}`, 'HS256');
    const got = await send({ method: 'GET', path: '/v1/verify', auth: [`Bearer ${token}`] });
    expect(got.status).toBe(200);
    expect(Object.hasOwn(got.json!, '__proto__') && got.json!['__proto__']).toEqual(value);
  });
});

// ---- JSON bodies and their expected status ------------------------------------------------------
const bytesOf = (body: string | Uint8Array | undefined) => (typeof body === 'string' ? encoder.encode(body) : (body ?? new Uint8Array()));
function decode(body: string | Uint8Array | undefined): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytesOf(body));
  } catch {
    return undefined;
  }
}
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** reference §4.2: 413 over 16 KiB, 400 unless a JSON object (empty = {}) whose fields pass `valid`. */
function adminBodyStatus(body: string | Uint8Array | undefined, valid: (b: Record<string, unknown>) => boolean): number {
  if (bytesOf(body).length > LIMIT) return 413;
  const text = decode(body);
  if (text === undefined) return 400;
  let value: unknown = {};
  if (text.trim() !== '')
    try {
      value = JSON.parse(text);
    } catch {
      return 400;
    }
  return isObject(value) && valid(value) ? 200 : 400;
}
const id = (v: unknown) => typeof v === 'string' && v !== '' && v.length <= MAX_ID_CHARS;
const reasonOk = (v: unknown, required = false) =>
  v === undefined ? !required : typeof v === 'string' && v.trim() !== '' && v.length <= 256;
const RESERVED = ['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'sid', 'scope', 'cnf', 'client_id', 'ver'];
const VALID: Record<string, (b: Record<string, unknown>) => boolean> = {
  userRevoke: (b) => reasonOk(b.reason),
  tokenRevoke: (b) =>
    id(b.jti) &&
    id(b.sub) &&
    Number.isSafeInteger(b.exp) &&
    (b.exp as number) >= 0 &&
    (b.iss === undefined || id(b.iss)) &&
    reasonOk(b.reason),
  session: (b) =>
    id(b.sub) &&
    (b.scope === undefined || (typeof b.scope === 'string' && b.scope.length <= 1024)) &&
    (b.claims === undefined ||
      (isObject(b.claims) && !RESERVED.some((n) => n in (b.claims as object)) && JSON.stringify(b.claims).length <= 4096)),
  revokeAll: (b) => reasonOk(b.reason, true),
};

const anyValue = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.constantFrom('', '   ', '\u00a0', 'x'.repeat(257), 'y'.repeat(MAX_ID_CHARS + 1), '\ud800'),
  fc.integer(),
  fc.double(),
  fc.constantFrom(-1, 2 ** 53, 1e21, 1.5, true, false, null),
  fc.jsonValue({ maxDepth: 3 }),
  fc.integer({ min: 1, max: 2000 }).map((d) => JSON.parse('['.repeat(d) + ']'.repeat(d)) as unknown),
);
const GOOD: Record<string, fc.Arbitrary<unknown>> = {
  reason: fc.constantFrom('fuzz', ' lost laptop '),
  jti: run,
  sub: fc.constantFrom(...TARGETS),
  iss: fc.constant('https://inline.test'),
  exp: fc.integer({ min: 2_000_000_000, max: 2_100_000_000 }),
  scope: fc.constantFrom('read', ''),
  everywhere: fc.boolean(),
  claims: fc.constantFrom({ tenant: 'a' }, {}, { active: false }, JSON.parse('{"__proto__":{"sub":"x"}}') as unknown, { constructor: 1 }),
};
const member = fc
  .constantFrom(...Object.keys(GOOD), '__proto__', 'constructor', 'x')
  .chain((k) =>
    fc.tuple(
      fc.constant(k),
      fc.oneof({ arbitrary: Object.hasOwn(GOOD, k) ? GOOD[k]! : anyValue, weight: 4 }, { arbitrary: anyValue, weight: 1 }),
    ),
  );
const jsonBody: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .array(member, { maxLength: 6 })
      .map((m) => `{${m.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '',
      ' \n',
      '\ufeff',
      '\ufeff{"reason":"bom"}',
      '{"reason":"x"',
      'null',
      '[]',
      '"x"',
      '{"reason":"\\ud800"}',
      '{"__proto__":{"reason":"x","everywhere":true}}',
      '{"constructor":{"prototype":{"reason":"x"}}}',
      '{"reason":"x","reason":""}',
      '{"reason":"a\\u0000b"}',
      '{"everywhere":"true"}',
      '{"everywhere":1}',
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 7000 }).map((d) => '['.repeat(d) + ']'.repeat(d)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 3000 }).map((d) => '{"reason":'.repeat(d) + '1' + '}'.repeat(d)) },
  { weight: 1, arbitrary: fc.integer({ min: LIMIT - 20, max: LIMIT * 3 }).map((n) => JSON.stringify({ reason: 'x'.repeat(n) })) },
  { weight: 1, arbitrary: fc.oneof(fc.uint8Array({ maxLength: 64 }), latin1(100)) },
);

// ---- admin routes ------------------------------------------------------------------------------
const adminAuth: fc.Arbitrary<string[]> = fc.oneof(
  {
    weight: 160,
    arbitrary: fc.constantFrom<string[]>([`Bearer ${ADMIN_KEY}`], [`bearer\t${ADMIN_KEY_ROTATED}`], [`BEARER  ${ADMIN_KEY} `]),
  },
  {
    weight: 40,
    arbitrary: fc.constantFrom<string[]>(
      [],
      ['Bearer'],
      [`Basic ${ADMIN_KEY}`],
      [`Bearer ${ADMIN_KEY}`, `Bearer ${ADMIN_KEY}`],
      [`Bearer ${ADMIN_KEY}x`],
      [`Bearer ${ADMIN_KEY.slice(0, -1)}`],
      [`Bearer ${ADMIN_KEY},${ADMIN_KEY_ROTATED}`],
      [`Bearer ${'k'.repeat(70_000)}`],
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom<string[]>([`Bearer ${ADMIN_KEY}\u00e9`], [`Bearer\u00a0${ADMIN_KEY}`]) },
  { weight: 15, arbitrary: ascii(80).map((s) => [s]) },
);
const admitted = (auth: string[]) =>
  auth.length === 1 && [ADMIN_KEY, ADMIN_KEY_ROTATED].includes(/^bearer\s+(.*?)\s*$/is.exec(auth[0]!.trim())?.[1] ?? '');

/** A path `:sub`: the sub it decodes to (undefined: the URL parser or router decides), its expected status if not 200. */
const subPath = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...TARGETS).map((sub) => ({ sub, path: encodeURIComponent(sub) })) },
  {
    weight: 2,
    arbitrary: fc
      .string({ unit: 'grapheme', maxLength: 30 }) // '.' and '..' are dot segments: the URL parser resolves them
      .map((sub) => ({ sub: sub === '.' || sub === '..' ? undefined : sub, path: encodeURIComponent(sub) })),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: MAX_ID_CHARS - 4, max: MAX_ID_CHARS + 4 }).map((n) => ({ sub: 'x'.repeat(n), path: 'x'.repeat(n) })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('%zz', '..', '%2e%2e', 'a%2Fb', '%00', '%E0%A4%A', '%C0%AF').map((path) => ({ sub: undefined, path })),
  },
);
const subStatus = (sub: string | undefined) => (sub === undefined ? undefined : sub === '' ? 404 : sub.length > MAX_ID_CHARS ? 400 : 200);

interface AdminCase {
  method: string;
  path: string;
  body?: string | Uint8Array;
  expect: number | number[];
  target?: string;
  changes?: boolean;
}
const queryValue = fc.oneof(
  fc.constantFrom('1', '200', '201', '0', '-1', '1e2', '007', '123456789012345', '1234567890123456', ''),
  fc.string({ maxLength: 8 }),
);
const adminCase: fc.Arbitrary<AdminCase> = fc.oneof(
  fc.tuple(subPath, jsonBody).map(([s, body]) => ({
    method: 'POST',
    path: `/v1/admin/users/${s.path}/revoke`,
    body,
    target: TARGETS.includes(s.sub ?? '') ? s.sub : undefined,
    expect:
      s.sub === undefined ? [200, 400, 404, 413] : subStatus(s.sub) === 200 ? adminBodyStatus(body, VALID.userRevoke!) : subStatus(s.sub)!,
    changes: true,
  })),
  subPath.map((s) => ({ method: 'GET', path: `/v1/admin/users/${s.path}`, expect: subStatus(s.sub) ?? [200, 400, 404] })),
  jsonBody.map((body) => {
    const parsed = (() => {
      try {
        return JSON.parse(decode(body) ?? '') as { sub?: unknown };
      } catch {
        return undefined;
      }
    })();
    const target = typeof parsed?.sub === 'string' && TARGETS.includes(parsed.sub) ? parsed.sub : TARGETS[0];
    return { method: 'POST', path: '/v1/admin/tokens/revoke', body, target, expect: adminBodyStatus(body, VALID.tokenRevoke!) };
  }),
  jsonBody.map((body) => ({ method: 'POST', path: '/v1/sessions', body, expect: adminBodyStatus(body, VALID.session!) })),
  fc
    .record({
      sub: fc.option(fc.oneof(fc.constantFrom(...TARGETS), fc.string({ maxLength: 10 }))),
      limit: fc.option(queryValue),
      cursor: fc.option(queryValue),
    })
    .map((q) => {
      const params = Object.entries(q).filter((e): e is [string, string] => e[1] !== null);
      const ok =
        (q.sub === null || id(q.sub)) &&
        (q.limit === null || (/^\d{1,6}$/.test(q.limit) && +q.limit >= 1 && +q.limit <= 200)) &&
        (q.cursor === null || /^\d{1,15}$/.test(q.cursor));
      return { method: 'GET', path: `/v1/admin/audit?${new URLSearchParams(params)}`, expect: ok ? 200 : 400 };
    }),
  fc
    .tuple(fc.constantFrom('GET', 'POST', 'PUT'), fc.webPath())
    .map(([method, p]) => ({ method, path: `/v1/admin/x-${p.replace(/^\/+/, '')}`, expect: 404 })),
);

async function checkAdmin(c: AdminCase, auth: string[], state: (fresh?: boolean) => Promise<string>): Promise<Got> {
  const was = await state();
  const got = await send({ method: c.method, path: c.path, auth, body: c.body, contentType: 'application/json' });
  if (!admitted(auth)) {
    expect([got.status, got.json]).toEqual([401, { error: 'unauthorized' }]);
  } else {
    expect([c.expect].flat(), `${c.method} ${c.path.slice(0, 60)} → ${got.status} ${got.text.slice(0, 120)}`).toContain(got.status);
    if (got.status >= 400) expect(typeof got.json?.error).toBe('string');
  }
  const now = await state(true);
  if (got.status !== 200) expect(now, 'state changed by a refused request').toBe(was);
  else if (c.changes === true && now !== '') expect(now, 'a 200 that wrote nothing').not.toBe(was);
  return got;
}

describe('admin routes (JSON bodies)', () => {
  const n = runs(0.25);
  it(
    `/v1/admin/*, /v1/sessions: ${n} cases; exact status, state unchanged unless 200`,
    () =>
      property(fc.tuple(adminCase, adminAuth), n, async ([c, auth]) => {
        const got = await checkAdmin(c, auth, async (fresh) => (c.target === undefined ? '' : snapshot(c.target, fresh)));
        if (got.status === 200 && c.path === '/v1/sessions') {
          expect(got.json).toMatchObject({
            token_type: 'Bearer',
            expires_in: 300,
            access_token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
          });
          expect(got.json?.refresh_token).toMatch(/^rt1_/);
        }
      }),
    timeout(n),
  );
});

// ---- RFC form routes -------------------------------------------------------------------------------
const refreshLike = fc
  .tuple(fc.constantFrom(SUBS.revoke, SUBS.session, ''), fc.string({ unit: fc.constantFrom(...ALPHABET), minLength: 42, maxLength: 44 }))
  .map(([s, r]) => `rt1_${b64(s)}.${r}`);
type FormValue = { spec: TokenSpec } | { v: string };
const formValue: fc.Arbitrary<FormValue> = fc.oneof(
  { weight: 4, arbitrary: tokenSpec.map((spec) => ({ spec })) },
  {
    weight: 3,
    arbitrary: fc
      .oneof(
        fc.constantFrom('refresh_token', 'access_token', '', ' '),
        refreshLike,
        latin1(40),
        fc.string({ unit: 'grapheme', maxLength: 20 }),
      )
      .map((v) => ({ v })),
  },
);
const percentAll = (s: string) => [...encoder.encode(s)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
const ENCODINGS: Record<string, (pairs: [string, string][]) => string> = {
  std: (p) => new URLSearchParams(p).toString(),
  percent: (p) => p.map(([k, v]) => `${percentAll(k)}=${percentAll(v)}`).join('&'),
  component: (p) => p.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'),
  raw: (p) => p.map(([k, v]) => `${k}=${v}`).join('&'),
  semicolon: (p) => p.map(([k, v]) => `${k}=${v}`).join(';'),
};
const formCase = fc.record({
  route: fc.constantFrom('/v1/revoke', '/v1/introspect', '/v1/token'),
  pairs: fc.array(
    fc.tuple(
      fc.constantFrom(
        'token',
        'token',
        'token_type_hint',
        'grant_type',
        'grant_type',
        'refresh_token',
        'refresh_token',
        'Token',
        'token[]',
        'tok%65n',
        '',
        'client_id',
      ),
      formValue,
    ),
    { maxLength: 5 },
  ),
  encoding: fc.constantFrom(...Object.keys(ENCODINGS)),
  junk: fc.constantFrom('', '', '', '&', '&&=&', '%zz', '%', '?', 'BAD_UTF8', 'x'.repeat(LIMIT)),
  auth: adminAuth,
  contentType: fc.constantFrom('application/x-www-form-urlencoded', undefined, 'application/json', 'multipart/form-data; boundary=x'),
});
let liveRefresh = '';

describe('RFC form routes: /v1/revoke, /v1/introspect, /v1/token', () => {
  beforeAll(async () => {
    const got = await send({
      method: 'POST',
      path: '/v1/sessions',
      auth: [`Bearer ${ADMIN_KEY}`],
      body: JSON.stringify({ sub: SUBS.session }),
    });
    liveRefresh = got.json?.refresh_token as string;
  });

  const n = runs(0.2);
  it(
    `${n} cases: exact status, no state change but a genuine token's revocation`,
    () =>
      property(formCase, n, async (c) => {
        const tokens: Token[] = [];
        const pairs = await Promise.all(
          c.pairs.map(async ([k, value]): Promise<[string, string]> => {
            if ('v' in value) return [k, value.v];
            const t = await materialize(value.spec, SUBS.revoke);
            tokens.push(t);
            return [k, t.token];
          }),
        );
        const text = ENCODINGS[c.encoding]!(pairs) + (c.junk === 'BAD_UTF8' ? '' : c.junk);
        const body = c.junk === 'BAD_UTF8' ? new Uint8Array([...encoder.encode(text), 0xff, 0xfe]) : text;
        const params = new URLSearchParams(decode(body) ?? '');
        const watched = c.route === '/v1/token' ? [SUBS.session] : text.includes('rt1_') ? [SUBS.revoke, SUBS.session] : [SUBS.revoke];
        const before = await Promise.all(watched.map((sub) => snapshot(sub)));
        const got = await send({ method: 'POST', path: c.route, auth: c.auth, body, contentType: c.contentType });
        const token = params.get('token');
        const genuine = tokens.find((t) => t.token === token)?.genuine ?? 'never';
        const size = bytesOf(body).length > LIMIT ? 413 : decode(body) === undefined ? 400 : undefined;
        if (c.route === '/v1/token') {
          const grant = params.get('grant_type');
          const refresh = params.get('refresh_token');
          const error =
            size === 413
              ? 'payload_too_large'
              : size === 400 || grant === null
                ? 'invalid_request'
                : grant !== 'refresh_token'
                  ? 'unsupported_grant_type'
                  : refresh === null || refresh === ''
                    ? 'invalid_request'
                    : 'invalid_grant';
          expect([got.status, got.json?.error]).toEqual([size ?? 400, error]);
        } else if (!admitted(c.auth)) {
          expect([got.status, got.json]).toEqual([401, { error: 'unauthorized' }]);
        } else if (size !== undefined || token === null || token === '') {
          expect([got.status, got.json?.error]).toEqual([size ?? 400, size === 413 ? 'payload_too_large' : 'invalid_request']);
        } else if (c.route === '/v1/revoke') {
          expect([got.status, got.text]).toEqual([200, '']);
        } else {
          expect(got.status).toBe(200);
          if (got.json?.active !== false) expect(genuine, `introspection accepted a forgery: ${token.slice(0, 100)}`).not.toBe('never');
          else expect(got.json).toEqual({ active: false });
        }
        const revokedGenuine = c.route === '/v1/revoke' && got.status === 200 && genuine !== 'never';
        const now = await Promise.all(watched.map(after));
        if (!revokedGenuine) expect(now, 'state changed by a refused or invalid token').toEqual(before);
      }),
    timeout(n),
  );

  it('the session whose refresh tokens were fuzzed still refreshes', async () => {
    const got = await send({
      method: 'POST',
      path: '/v1/token',
      auth: [],
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: liveRefresh }).toString(),
    });
    expect(got.status).toBe(200);
  });
});

// ---- Shared Signals push (reference §7) ------------------------------------------------------------------
const SSF_TARGET = 'fz-ssf-target';
const SET_ERRORS = ['invalid_request', 'invalid_key', 'invalid_issuer', 'invalid_audience', 'authentication_failed', 'access_denied'];
let genuineSet = '';
const setBody = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.tuple(fc.base64String(), fc.base64String(), fc.base64String()).map((parts) => parts.join('.').replace(/=/g, '')),
  // A genuine SET with one character changed: never accepted.
  fc.tuple(fc.nat(), fc.constantFrom(...ALPHABET)).map(([at, ch]) => ({ at, ch })),
  fc.string({ minLength: LIMIT + 1, maxLength: LIMIT + 8 }),
);
const setCase = fc.record({
  body: setBody,
  stream: fc.constantFrom('okta', 'google'),
  contentType: fc.constantFrom('application/secevent+jwt', 'application/secevent+jwt; charset=utf-8', 'application/json', ''),
});

describe('POST /v1/ssf/{id}/events', () => {
  const n = runs(0.05);
  beforeAll(async () => {
    const claims = {
      iss: SSF.okta.issuer,
      aud: SSF.okta.audience,
      iat: Math.floor(Date.now() / 1000),
      jti: 'fz-set',
      sub_id: { format: 'iss_sub', iss: SSF.okta.issuer, sub: SSF_TARGET },
      events: { 'https://schemas.openid.net/secevent/caep/event-type/session-revoked': {} },
    };
    genuineSet = await signRaw(JSON.stringify({ alg: 'RS256', kid: 'rs256-1', typ: 'secevent+jwt' }), JSON.stringify(claims), 'rs256-1');
  });
  it(
    `${n} cases: 400 with an RFC 8935 code or 413; nothing revoked`,
    () =>
      property(setCase, n, async (c) => {
        let body: string;
        if (typeof c.body === 'string') body = c.body;
        else {
          const at = c.body.at % genuineSet.length;
          const ch = genuineSet[at] === c.body.ch ? (c.body.ch === 'A' ? 'B' : 'A') : c.body.ch;
          body = genuineSet.slice(0, at) + ch + genuineSet.slice(at + 1);
        }
        const before = await snapshot(SSF_TARGET);
        const auth = c.stream === 'okta' ? [`Bearer ${SSF_OKTA_SECRET}`] : [];
        const got = await send(
          { method: 'POST', path: `/v1/ssf/${c.stream}/events`, auth, body, contentType: c.contentType || undefined },
          ssfEnv,
        );
        expect([400, 413]).toContain(got.status);
        if (got.status === 400) expect(SET_ERRORS).toContain(got.json?.err);
        expect(await after(SSF_TARGET)).toBe(before);
      }),
    timeout(n),
  );
});

// ---- public routes and unknown paths -------------------------------------------------------------
const PUBLIC: [string, string, number][] = [
  ['GET', '/healthz', 200],
  ['GET', '/.well-known/jwks.json', 200],
  ['GET', '/.well-known/oauth-authorization-server', 200],
  ['POST', '/healthz', 404],
  ['PUT', '/.well-known/jwks.json', 404],
  ['POST', '/.well-known/oauth-authorization-server', 404],
  ['GET', '/v1/revoke', 404],
  ['GET', '/v1/logout', 404],
  ['GET', '/v1/introspect', 404],
  ['GET', '/v1/token', 404],
  ['GET', '/v1/sessions', 404],
  ['POST', '/v1/revoke', 401],
  ['POST', '/v1/introspect', 401],
  ['POST', '/v1/sessions', 401],
  ['POST', '/v1/logout', 401],
  ['POST', '/v1/token', 400],
  ['DELETE', '/v1/admin/users/x/revoke', 401],
  ['GET', '/v1/admin/stats', 401],
  ['GET', '/v1/verify', 401],
  ['GET', '/openapi.json', 200],
  ['POST', '/openapi.json', 404],
  ['GET', '/healthz/', 404],
  ['GET', '/HEALTHZ', 404],
  ['GET', '/V1/VERIFY', 404],
  ['GET', '/.well-known/', 404],
  ['GET', '/.well-known/jwks.json/x', 404],
];
const publicCase = fc.oneof(
  fc.constantFrom(...PUBLIC).map(([method, path, status]) => ({ method, path, status })),
  fc
    .tuple(
      fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
      fc.webPath(),
      fc.constantFrom('/x-', '/.well-known/x-', '/v1/x-', '/v1/verify/', '/v1/admin/'),
    )
    .map(([method, p, prefix]) => ({
      method,
      path: prefix + p.replace(/^\/+/, ''),
      status: prefix.startsWith('/v1/verify') || prefix === '/v1/admin/' ? 401 : 404,
    })),
);

describe('public routes and unknown paths', () => {
  const n = runs(0.1);
  it(
    `${n} cases: the documented status, JSON, never a 5xx`,
    () =>
      property(fc.tuple(publicCase, fc.webQueryParameters()), n, async ([c, query]) => {
        const got = await send({ method: c.method, path: query === '' ? c.path : `${c.path}?${query}`, auth: [] });
        expect(got.status, `${c.method} ${c.path}`).toBe(c.status);
        if (c.status === 404) expect(got.json).toEqual({ error: 'not_found' });
        if (c.path === '/healthz' && c.status === 200) expect(got.json).toEqual({ ok: true });
        if (c.path === '/.well-known/jwks.json' && c.status === 200) {
          for (const key of got.json?.keys as Record<string, unknown>[]) expect(key).not.toHaveProperty('d');
        }
      }),
    timeout(n),
  );
});

// Last: a 200 here revokes every token of this file's storage.
describe('POST /v1/admin/revoke-all', () => {
  const n = runs(0.05);
  it(
    `${n} cases; only a 200 writes the global state`,
    () =>
      property(fc.tuple(jsonBody, adminAuth), n, async ([body, auth]) => {
        await checkAdmin(
          { method: 'POST', path: '/v1/admin/revoke-all', body, expect: adminBodyStatus(body, VALID.revokeAll!), changes: true },
          auth,
          globalSnapshot,
        );
      }),
    timeout(n),
  );
});
