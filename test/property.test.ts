/**
 * Property tests (reference §3, §5): no random or mutated token ever verifies, and bad input is
 * always a 401 with a stable reason code, never a 5xx. Seed-fixed; 10,800 cases in total:
 * 9,000 through `authenticate` directly, 1,500 through the worker's fetch handler and 300 over
 * workerd's HTTP entry, whose per-request cost is much higher in the test pool.
 */
import { createExecutionContext } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import fc from 'fast-check';
import { base64url } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { app } from '../src/app';
import { parseConfig, type Config, type RawEnv } from '../src/config/config';
import { REASONS, type Reason } from '../src/verify/reasons';
import { authenticate } from '../src/verify/verifier';
import { BASE, ISSUERS } from './helpers/fixtures';
import { b64, defaultClaims, mint, signRaw, type SigningKey } from './helpers/tokens';

const SEED = 0x6b696c6c; // "kill"
const TIMEOUT = 60_000;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const ALGS = [
  'none',
  'None',
  'NONE',
  'nOnE',
  '',
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'PS256',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
  'hs256',
  'XS256',
];
const KEYS_USED: SigningKey[] = ['HS256', 'HS512', 'rs256-1', 'ps256-1', 'es256-1', 'es384-1', 'ed-1', 'second-1', 'remote-a'];
const decoder = new TextDecoder();

let config: Config;
let pool: string[] = [];
let valid: ReadonlySet<string> = new Set();

beforeAll(async () => {
  config = parseConfig(env as unknown as RawEnv);
  // Two tokens per key (different jti), and one without jti per key.
  pool = await Promise.all(KEYS_USED.flatMap((key) => [mint(key), mint(key), mint(key, { claims: { jti: undefined, scope: 'read' } })]));
  valid = new Set(pool);
  // The pool itself must verify, or "never verifies" below proves nothing.
  for (const token of pool) expect((await authenticate(token, config)).ok).toBe(true);
});

// ---- mutations ---------------------------------------------------------------------------------
const segments = (token: string) => token.split('.');
function mapSegment(token: string, index: number, change: (segment: string) => string): string {
  const parts = segments(token);
  parts[index] = change(parts[index] ?? '');
  return parts.join('.');
}
const decodeJson = (segment: string): Record<string, unknown> => JSON.parse(decoder.decode(base64url.decode(segment)));
const insertAt = (text: string, at: number, insert: string, remove = 0) => text.slice(0, at) + insert + text.slice(at + remove);

/** Every way we know to damage a valid token; `http` keeps the result a legal header value. */
function mutated(http: boolean): fc.Arbitrary<string> {
  const token = fc.constantFrom(...pool);
  const segment = fc.constantFrom(0, 1, 2);
  const whitespace = http ? [' ', '\t'] : [' ', '\t', '\n', '\r', '\u00a0', '\u2028', '\0'];
  return fc
    .oneof(
      // one bit flipped in the decoded bytes of one segment
      fc.tuple(token, segment, fc.nat(), fc.nat(7)).map(([t, i, at, bit]) =>
        mapSegment(t, i, (s) => {
          const bytes = base64url.decode(s);
          const i = at % bytes.length;
          bytes[i] = bytes[i]! ^ (1 << bit);
          return base64url.encode(bytes);
        }),
      ),
      // one character replaced (including by '.', '=', '+', '/')
      fc.tuple(token, fc.nat(), fc.constantFrom(...`${ALPHABET}.=+/`)).map(([t, at, c]) => insertAt(t, at % t.length, c, 1)),
      // segments taken from two valid tokens, in any order
      fc
        .tuple(token, token, fc.array(fc.tuple(fc.boolean(), segment), { minLength: 3, maxLength: 3 }))
        .map(([a, b, picks]) => picks.map(([fromA, i]) => segments(fromA ? a : b)[i]).join('.')),
      // re-encodings of the same bytes: padding, standard base64, whitespace, non-canonical tail
      fc.tuple(token, segment).map(([t, i]) => mapSegment(t, i, (s) => s + '='.repeat((4 - (s.length % 4)) % 4 || 1))),
      token.map((t) => t.replace(/-/g, '+').replace(/_/g, '/')),
      fc.tuple(token, fc.nat(), fc.constantFrom(...whitespace)).map(([t, at, w]) => insertAt(t, 1 + (at % (t.length - 1)), w)),
      fc.tuple(token, segment, fc.integer({ min: 1, max: 15 })).map(([t, i, low]) =>
        mapSegment(t, i, (s) => {
          const unused = { 2: 0x0f, 3: 0x03 }[s.length % 4];
          if (unused === undefined) return s;
          return s.slice(0, -1) + ALPHABET[(ALPHABET.indexOf(s.at(-1)!) & ~unused) | (low & unused || 1)];
        }),
      ),
      // same JSON, re-serialized (the signing input changes)
      fc.tuple(token, fc.constantFrom(0, 1)).map(([t, i]) => mapSegment(t, i, (s) => b64(JSON.stringify(decodeJson(s), null, 1)))),
      // header alg swapped, signature kept or stripped
      fc.tuple(token, fc.constantFrom(...ALGS), fc.boolean()).map(([t, alg, strip]) => {
        const swapped = mapSegment(t, 0, (s) => b64(JSON.stringify({ ...decodeJson(s), alg })));
        return strip ? mapSegment(swapped, 2, () => '') : swapped;
      }),
      // truncated at either end
      fc
        .tuple(token, fc.nat(), fc.boolean())
        .map(([t, at, head]) => (head ? t.slice(0, at % t.length) : t.slice(1 + (at % (t.length - 1))))),
    )
    .filter((m) => !valid.has(m.trim())); // never the identity
}

/** A wrongly typed value (as JSON text) for each registered claim reference §3 types. */
const wrongNumericDate = fc.oneof(
  fc.string().map((s) => JSON.stringify(s)),
  fc.double({ noInteger: true, noNaN: true, noDefaultInfinity: true }).map(String),
  fc.constantFrom('true', 'null', '[1]', '{}', '1e400', '-1e400', '9007199254740993', '1.5', '"1700000000"'),
);
const wrongString = fc.oneof(fc.integer().map(String), fc.constantFrom('true', 'null', '["a"]', '{"a":"b"}', '1.5'));
const WRONG: Record<string, fc.Arbitrary<string>> = {
  exp: wrongNumericDate,
  nbf: wrongNumericDate,
  iat: wrongNumericDate,
  iss: wrongString,
  scope: wrongString,
  client_id: wrongString,
  sub: fc.oneof(wrongString, fc.constant('""')),
  jti: fc.oneof(wrongString, fc.constant('""')),
  aud: fc.oneof(fc.integer().map(String), fc.constantFrom('true', 'null', '{}', '["api",1]', '[null]', '[["api"]]')),
  ver: fc.oneof(fc.integer({ max: -1 }).map(String), fc.constantFrom('"1"', '1.5', 'true', '[1]', '9007199254740993')),
};

/** A correctly HS256-signed token whose only fault is one claim of the wrong type. */
const wrongClaimType = fc
  .constantFrom(...Object.keys(WRONG))
  .chain((claim) => WRONG[claim]!.map((raw) => ({ claim, raw })))
  .map(({ claim, raw }) => {
    const claims = Object.fromEntries(Object.entries({ ...defaultClaims('HS256'), scope: 'read' }).filter(([name]) => name !== claim));
    return `${JSON.stringify(claims).slice(0, -1)},${JSON.stringify(claim)}:${raw}}`;
  });

/** Random text, and random well-formed JWS shapes with real issuers, kids and a random signature. */
function randomTokens(http: boolean): fc.Arbitrary<string> {
  const unit = http ? fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) : 'binary';
  const structured = fc
    .record({
      header: fc.record(
        {
          alg: fc.constantFrom(...ALGS),
          kid: fc.constantFrom('es256-1', 'rs256-1', 'ps256-1', 'ed-1', 'es384-1', 'second-1', 'remote-a', 'remote-b', 'x'),
          typ: fc.constant('JWT'),
        },
        { requiredKeys: ['alg'] },
      ),
      iss: fc.constantFrom(...Object.values(ISSUERS), 'https://evil.test'),
      signature: fc.uint8Array({ maxLength: 600 }),
    })
    .map(
      ({ header, iss, signature }) =>
        `${b64(JSON.stringify(header))}.${b64(JSON.stringify({ ...defaultClaims('HS256'), iss }))}.${base64url.encode(signature)}`,
    );
  return fc.oneof(
    fc.string({ unit, maxLength: 300 }),
    fc.array(fc.string({ unit: fc.constantFrom(...ALPHABET), maxLength: 120 }), { minLength: 1, maxLength: 6 }).map((s) => s.join('.')),
    structured,
  );
}

// ---- checks ------------------------------------------------------------------------------------
const isReason = (r: unknown): r is Reason => (REASONS as readonly unknown[]).includes(r);

async function refusedDirectly(token: string): Promise<Reason> {
  const result = await authenticate(token, config);
  expect(result.ok).toBe(false);
  const reason = result.ok ? undefined : result.reason;
  expect(isReason(reason) && reason !== 'unavailable').toBe(true);
  return reason!;
}

/** 401 with a reason code in the body and the same one in the challenge; never 200 or 5xx. */
async function expectRefusal(res: Response): Promise<Reason> {
  const body = await res.json<{ active: unknown; error: unknown; reason: unknown }>();
  expect({ status: res.status, active: body.active, error: body.error, cache: res.headers.get('Cache-Control') }).toEqual({
    status: 401,
    active: false,
    error: 'invalid_token',
    cache: 'no-store',
  });
  expect(isReason(body.reason)).toBe(true);
  const challenge = body.reason === 'missing_token' ? 'Bearer' : `Bearer error="invalid_token", error_description="${String(body.reason)}"`;
  expect(res.headers.get('WWW-Authenticate')).toBe(challenge);
  return body.reason as Reason;
}

const VERIFY_URL = `${BASE}/v1/verify`;
const authorization = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });

/** The worker's own fetch handler with the real bindings (fast: no loopback hop). */
const refusedByApp = async (token: string) =>
  expectRefusal(await app.fetch(new Request(VERIFY_URL, authorization(token)), env, createExecutionContext()));
/** Through workerd's HTTP entry (slower per request, so a smaller share). */
const refusedOverHttp = async (token: string) => expectRefusal(await exports.default.fetch(VERIFY_URL, authorization(token)));

const run = (arbitrary: fc.Arbitrary<string>, numRuns: number, check: (token: string) => Promise<unknown>) =>
  fc.assert(
    fc.asyncProperty(arbitrary, async (token) => {
      await check(token);
    }),
    { seed: SEED, numRuns },
  );
const HS_HEADER = '{"alg":"HS256","typ":"JWT"}';

describe('authenticate(): nothing but a valid token verifies', () => {
  it('6,000 mutations of valid tokens are refused', () => run(mutated(false), 6_000, refusedDirectly), TIMEOUT);

  it(
    '1,200 tokens that differ from a valid one only by a claim type are malformed',
    () =>
      run(wrongClaimType, 1_200, async (payload) => {
        expect(await refusedDirectly(await signRaw(HS_HEADER, payload, 'HS256'))).toBe('malformed');
      }),
    TIMEOUT,
  );

  it('1,800 random strings and random JWS shapes are refused', () => run(randomTokens(false), 1_800, refusedDirectly), TIMEOUT);
});

describe.each([
  ["the worker's fetch handler (app.fetch)", refusedByApp, { mutations: 1_000, claims: 200, random: 300 }],
  ['HTTP (exports.default.fetch)', refusedOverHttp, { mutations: 200, claims: 40, random: 60 }],
])('/v1/verify via %s: always 401 with a reason code, never 200 or 5xx', (_via, refused, runs) => {
  it(`${runs.mutations} mutations of valid tokens`, () => run(mutated(true), runs.mutations, refused), TIMEOUT);

  it(
    `${runs.claims} claim-type changes → malformed`,
    () =>
      run(wrongClaimType, runs.claims, async (payload) => {
        expect(await refused(await signRaw(HS_HEADER, payload, 'HS256'))).toBe('malformed');
      }),
    TIMEOUT,
  );

  it(`${runs.random} random strings and JWS shapes`, () => run(randomTokens(true), runs.random, refused), TIMEOUT);
});
