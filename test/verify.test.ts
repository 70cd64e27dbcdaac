/**
 * reference §3 / §3.1 / §5 over HTTP: what /v1/verify accepts, and the exact reason code,
 * challenge and body for everything it refuses (revocation is tested elsewhere).
 */
import { env, exports } from 'cloudflare:workers';
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { base64url } from 'jose';
import { describe, expect, it, vi } from 'vitest';
import { app } from '../src/app';
import { parseConfig, type Config, type RawEnv } from '../src/config/config';
import { authenticate } from '../src/verify/verifier';
import { BASE, HS_SECRET, ISSUERS, KEYS } from './helpers/fixtures';
import {
  attackerToken,
  b64,
  defaultClaims,
  hmacSha256,
  mint,
  now,
  p256Twin,
  segmentsOf,
  signRaw,
  withSignature,
  type SigningKey,
} from './helpers/tokens';

const rawEnv = env as unknown as RawEnv;
const encoder = new TextEncoder();

interface Call {
  readonly authorization?: string;
  readonly path?: string;
  readonly method?: string;
  readonly headers?: Record<string, string>;
}

function call({ authorization, path = '/v1/verify', method = 'GET', headers = {} }: Call = {}): Promise<Response> {
  const all = authorization === undefined ? headers : { ...headers, Authorization: authorization };
  return exports.default.fetch(`${BASE}${path}`, { method, headers: all });
}
const bearer = (token: string): Call => ({ authorization: `Bearer ${token}` });
const config = (overrides: Record<string, unknown> = {}): Config => parseConfig({ ...rawEnv, ...overrides });

async function expectRefused(res: Response, reason: string): Promise<void> {
  const challenge = reason === 'missing_token' ? 'Bearer' : `Bearer error="invalid_token", error_description="${reason}"`;
  expect({ status: res.status, challenge: res.headers.get('WWW-Authenticate'), cache: res.headers.get('Cache-Control') }).toEqual({
    status: 401,
    challenge,
    cache: 'no-store',
  });
  expect(await res.json()).toEqual({ active: false, error: 'invalid_token', reason });
}

// ---- token surgery -------------------------------------------------------------------------
const payloadOf = (token: string): Record<string, unknown> => JSON.parse(new TextDecoder().decode(base64url.decode(segmentsOf(token)[1])));

/** The same bytes, spelled with non-zero unused trailing bits (length % 4 must be 2 or 3). */
function nonCanonical(segment: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet.indexOf(segment.at(-1)!);
  expect([2, 3]).toContain(segment.length % 4);
  return segment.slice(0, -1) + alphabet[last | 1];
}

/** The JSON text of `key`'s default claims without `omit`, with `raw` members appended verbatim. */
function claimsText(key: SigningKey, raw: string, omit: readonly string[] = []): string {
  const claims = Object.fromEntries(Object.entries(defaultClaims(key)).filter(([name]) => !omit.includes(name)));
  return `${JSON.stringify(claims).slice(0, -1)},${raw}}`;
}

const HS_HEADER = b64('{"alg":"HS256","typ":"JWT"}');
const hsToken = async (payloadSegment: string) =>
  `${HS_HEADER}.${payloadSegment}.${await hmacSha256(`${HS_HEADER}.${payloadSegment}`, HS_SECRET)}`;

// ---- accepted ------------------------------------------------------------------------------
describe('accepted tokens', () => {
  it.each<[SigningKey, Record<string, unknown>]>([
    ['HS256', {}],
    ['HS384', {}],
    ['HS512', {}],
    ['rs256-1', {}],
    ['ps256-1', {}],
    ['es256-1', {}],
    ['es384-1', {}],
    ['ed-1', {}],
    ['second-1', { aud: 'other' }],
    ['es256-1', { aud: ['nope', 'api'] }],
    ['HS256', { note: '}{"],[:\\', nested: { sub: 'x', a: [1, { b: '"}' }] } }], // no false "duplicate member"
  ])('%s %j → 200 with every claim and the X-Auth headers', async (key, claims) => {
    const token = await mint(key, { claims });
    const sent = payloadOf(token);
    const res = await call(bearer(token));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ active: true, ...sent });
    expect(Object.fromEntries([...res.headers].filter(([name]) => name.startsWith('x-auth-') || name === 'cache-control'))).toEqual({
      'cache-control': 'no-store',
      'x-auth-subject': 'alice',
      'x-auth-user': 'alice', // always, even where the user claim is the sub
      'x-auth-issuer': sent.iss,
      'x-auth-token-id': sent.jti,
      'x-auth-expires': String(sent.exp),
    });
  });

  it('adds X-Auth-Scope when there is a scope, and a claim "active":false cannot override active', async () => {
    const res = await call(bearer(await mint('es256-1', { claims: { scope: 'read write', active: false } })));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ active: true, scope: 'read write' });
    expect(res.headers.get('X-Auth-Scope')).toBe('read write');
  });

  it('percent-encodes claim values that are not visible ASCII in X-Auth-* headers (no header injection)', async () => {
    const sub = 'ålice\r\nX-Injected: 1';
    const res = await call(bearer(await mint('HS256', { claims: { sub, scope: 'read\nwrite' } })));
    expect([res.status, res.headers.get('X-Injected')]).toEqual([200, null]);
    expect([res.headers.get('X-Auth-Subject'), res.headers.get('X-Auth-Scope')]).toEqual(['%C3%A5lice%0D%0AX-Injected: 1', 'read%0Awrite']);
    expect(await res.json()).toMatchObject({ active: true, sub });
  });

  // Decoding is always decodeURIComponent: `%` itself is escaped, so no two claims give one header.
  it.each([
    ['ä', '%C3%A4'],
    ['%C3%A4', '%25C3%25A4'],
    ['100%', '100%25'],
    [' padded ', '%20padded%20'], // HTTP trims a header value's outer whitespace: escaped, it survives
    ['two  inner spaces', 'two  inner spaces'],
    ['plain-ASCII_sub|with:punctuation', 'plain-ASCII_sub|with:punctuation'],
    ['tab\there', 'tab%09here'],
    ['emoji 😀', 'emoji %F0%9F%98%80'],
  ])('X-Auth-Subject for sub %j is %j, and decodeURIComponent gives the sub back', async (sub, header) => {
    const res = await call(bearer(await mint('HS256', { claims: { sub, jti: sub } })));
    expect(res.status).toBe(200);
    expect([res.headers.get('X-Auth-Subject'), res.headers.get('X-Auth-Token-Id')]).toEqual([header, header]);
    expect(decodeURIComponent(header)).toBe(sub);
  });

  it('two subs that used to share an X-Auth-Subject (ä and %C3%A4) get different headers', async () => {
    const headerOf = async (sub: string) => (await call(bearer(await mint('HS256', { claims: { sub } })))).headers.get('X-Auth-Subject');
    expect(await headerOf('ä')).not.toBe(await headerOf('%C3%A4'));
  });

  it('verifies a token without jti and sends no X-Auth-Token-Id', async () => {
    const res = await call(bearer(await mint('HS256', { claims: { jti: undefined } })));
    expect(res.status).toBe(200);
    expect(res.headers.get('X-Auth-Token-Id')).toBeNull();
    expect(res.headers.get('X-Auth-Subject')).toBe('alice');
  });

  it('verifies without kid when the issuer has exactly one key for the alg', async () => {
    expect((await call(bearer(await mint('es256-1', { header: { kid: undefined } })))).status).toBe(200);
  });

  it.each(['bearer', 'BEARER', 'BeArEr'])('accepts the scheme spelled %s', async (scheme) => {
    expect((await call({ authorization: `${scheme} ${await mint('HS256')}` })).status).toBe(200);
  });

  it.each([
    ['GET', '/v1/verify'],
    ['POST', '/v1/verify'],
    ['PUT', '/v1/verify'],
    ['PATCH', '/v1/verify'],
    ['DELETE', '/v1/verify'],
    ['OPTIONS', '/v1/verify'],
    ['HEAD', '/v1/verify'],
    ['GET', '/v1/verify/'],
    ['POST', '/v1/verify/some/original/path?x=1'],
    ['GET', '/v1/verify?x=1'],
  ])('%s %s → 200', async (method, path) => {
    const res = await call({ ...bearer(await mint('es256-1')), method, path });
    expect({ status: res.status, sub: res.headers.get('X-Auth-Subject'), cache: res.headers.get('Cache-Control') }).toEqual({
      status: 200,
      sub: 'alice',
      cache: 'no-store',
    });
  });

  it('accepts a token of exactly 8 KiB and refuses the next size up as malformed', async () => {
    const lengthWith = (pad: number) =>
      `${b64('{"alg":"HS256","typ":"JWT"}')}.${b64(JSON.stringify({ ...defaultClaims('HS256'), pad: 'x'.repeat(pad) }))}`.length + 44;
    let pad = 0;
    while (lengthWith(pad) < 8192) pad++;
    const exact = await mint('HS256', { claims: { pad: 'x'.repeat(pad) } });
    const over = await mint('HS256', { claims: { pad: 'x'.repeat(pad + 1) } });
    expect([exact.length, over.length > 8192]).toEqual([8192, true]);
    expect((await call(bearer(exact))).status).toBe(200);
    await expectRefused(await call(bearer(over)), 'malformed');
  });
});

// ---- refused: one row per case, grouped by the reason reference §3 assigns -----------------------
type Make = () => Promise<Call>;
const token =
  (make: () => Promise<string>): Make =>
  async () =>
    bearer(await make());
const hsClaims = (claims: Record<string, unknown>) => mint('HS256', { claims });
const esClaims = (claims: Record<string, unknown>) => mint('es256-1', { claims });
const second = (claims: Record<string, unknown> = {}) => JSON.stringify({ ...defaultClaims('second-1'), ...claims });

const REFUSALS: Record<string, Record<string, Make>> = {
  missing_token: {
    'no Authorization header': async () => ({}),
    'Basic scheme': async () => ({ authorization: 'Basic dXNlcjpwYXNzd29yZA==' }),
    '`Bearer` alone': async () => ({ authorization: 'Bearer' }),
    '`Bearer` and spaces': async () => ({ authorization: 'Bearer   ' }),
    'token in the query string only': async () => ({ path: `/v1/verify?access_token=${await mint('HS256')}` }),
    'token in a cookie only': async () => ({ headers: { Cookie: `token=${await mint('HS256')}` } }),
  },
  malformed: {
    '2 segments': token(async () =>
      segmentsOf(await mint('HS256'))
        .slice(0, 2)
        .join('.'),
    ),
    '4 segments': token(async () => `${await mint('HS256')}.AAAA`),
    '5 segments (JWE)': token(async () => `${b64('{"alg":"RSA-OAEP","enc":"A256GCM"}')}.AAAA.AAAA.AAAA.AAAA`),
    'base64 padding': token(async () => `${await mint('es256-1')}==`), // 64-byte signature: 86 chars + "=="
    'whitespace inside': token(async () => (await mint('HS256')).replace('.', '. ')),
    'a second credential after the token': token(async () => `${await mint('HS256')} ${await mint('HS256')}`),
    'non-canonical last base64url char': token(async () => {
      const [h, p, s] = segmentsOf(await mint('es256-1'));
      return `${h}.${p}.${nonCanonical(s)}`;
    }),
    'non-JSON payload': token(() => signRaw('{"alg":"HS256"}', 'not json', 'HS256')),
    'JSON array payload': token(() => signRaw('{"alg":"HS256"}', '[{"sub":"alice"}]', 'HS256')),
    'crit header': token(() => mint('HS256', { header: { crit: ['urn:x'], 'urn:x': 1 } })),
    'b64:false header': token(() => mint('HS256', { header: { b64: false } })),
    'cty JWT (a nested token)': token(() => mint('HS256', { header: { cty: 'JWT' } })),
    'cty jwt (media types are case-insensitive)': token(() => mint('HS256', { header: { cty: 'jwt' } })),
    'duplicate "sub" member': token(() => signRaw('{"alg":"HS256"}', claimsText('HS256', '"sub":"admin"'), 'HS256')),
    'duplicate "sub" member spelled with a \\u escape': token(() =>
      signRaw('{"alg":"HS256"}', claimsText('HS256', '"s\\u0075b":"admin"'), 'HS256'),
    ),
    'duplicate "alg" header member': token(() => signRaw('{"alg":"ES256","alg":"HS256"}', claimsText('HS256', '"x":1'), 'HS256')),
    'exp 1.5': token(() => hsClaims({ exp: 1.5 })),
    'exp 1e400': token(() => signRaw('{"alg":"HS256"}', claimsText('HS256', '"exp":1e400', ['exp']), 'HS256')),
    'exp as a string': token(async () => hsClaims({ exp: String(now() + 300) })),
    'aud as a number': token(() => hsClaims({ aud: 1 })),
    'sub as a number': token(() => hsClaims({ sub: 42 })),
    'iss as an array': token(() => hsClaims({ iss: [ISSUERS.hs] })),
    'over 8 KiB': token(() => hsClaims({ pad: 'x'.repeat(8192) })),
    'a lone surrogate in sub (not Unicode text: no header, no storage key can carry it)': token(() =>
      signRaw('{"alg":"HS256"}', claimsText('HS256', '"sub":"al\\ud800ice"', ['sub']), 'HS256'),
    ),
    'a lone surrogate in jti': token(() => signRaw('{"alg":"HS256"}', claimsText('HS256', '"jti":"\\udfff"', ['jti']), 'HS256')),
    // reference §7, RFC 8417 §4.5.2: a Security Event Token is never an access token.
    'typ secevent+jwt': token(() => mint('es256-1', { header: { typ: 'secevent+jwt' } })),
    'typ application/secevent+jwt': token(() => mint('es256-1', { header: { typ: 'application/secevent+jwt' } })),
    'typ SecEvent+JWT (media types are case-insensitive)': token(() => mint('HS256', { header: { typ: 'SecEvent+JWT' } })),
    'typ Application/SECEVENT+jwt': token(() => mint('HS256', { header: { typ: 'Application/SECEVENT+jwt' } })),
    'an events claim': token(() => hsClaims({ events: { 'https://schemas.openid.net/secevent/caep/event-type/session-revoked': {} } })),
    'an empty events claim': token(() => hsClaims({ events: {} })),
    'invalid UTF-8 in the payload': token(() => {
      const bytes = encoder.encode(JSON.stringify({ ...defaultClaims('HS256'), sub: 'al@ce' }));
      bytes[bytes.indexOf(0x40)] = 0xff;
      return hsToken(base64url.encode(bytes));
    }),
  },
  unsupported_alg: {
    'alg none, empty signature': token(async () => `${b64('{"alg":"none"}')}.${segmentsOf(await esClaims({}))[1]}.`),
    'alg none with a signature': token(async () => {
      const [, p, s] = segmentsOf(await esClaims({}));
      return `${b64('{"alg":"none"}')}.${p}.${s}`;
    }),
    'HS256 HMAC-ed with the public JWK for an ES256-only issuer': token(async () => {
      const input = `${b64('{"alg":"HS256","kid":"second-1"}')}.${b64(second())}`;
      return `${input}.${await hmacSha256(input, JSON.stringify(KEYS['second-1'].public))}`;
    }),
    'a known alg outside the issuer allowlist (ES512)': token(() => mint('es256-1', { header: { alg: 'ES512' } })),
  },
  unknown_key: {
    'unknown kid': token(() => mint('es256-1', { header: { kid: 'es256-unknown' } })),
    'kid of a key of another type': token(() => mint('es256-1', { header: { kid: 'rs256-1' } })),
    'kid of another issuer': token(() => mint('es256-1', { claims: { iss: ISSUERS.second } })),
  },
  bad_signature: {
    'one flipped signature bit': token(async () => withSignature(await mint('es256-1'), (s) => s.map((b, i) => (i === 0 ? b ^ 1 : b)))),
    'the signature of another token': token(async () => {
      const [h, p] = segmentsOf(await mint('es256-1'));
      return `${h}.${p}.${segmentsOf(await mint('es256-1'))[2]}`;
    }),
    'HS256 signed with another secret': token(async () => {
      const [h, p] = segmentsOf(await mint('HS256'));
      return `${h}.${p}.${await hmacSha256(`${h}.${p}`, 'x'.repeat(64))}`;
    }),
    'attacker key in a `jwk` header': token(() => attackerToken((jwk) => ({ jwk }))),
    'attacker key in `jwk` with the kid of a real key': token(() => attackerToken((jwk) => ({ jwk, kid: 'es256-1' }))),
    'attacker `jku`/`x5u`/`x5c` headers': token(() =>
      attackerToken(() => ({
        kid: 'es256-1',
        jku: 'https://evil.test/jwks.json',
        x5u: 'https://evil.test/cert.pem',
        x5c: ['MIIB'],
      })),
    ),
    "signed by another trusted issuer's key, no kid": token(() =>
      mint('es256-1', { claims: { iss: ISSUERS.second }, header: { kid: undefined } }),
    ),
  },
  expired: { 'exp 100 s ago': token(async () => esClaims({ iat: now() - 400, exp: now() - 100 })) },
  not_yet_valid: { 'nbf in 100 s': token(async () => esClaims({ nbf: now() + 100 })) },
  issued_in_future: { 'iat in 100 s': token(async () => esClaims({ iat: now() + 100, exp: now() + 400 })) },
  wrong_issuer: {
    'no iss': token(() => esClaims({ iss: undefined })),
    'unknown iss': token(() => esClaims({ iss: 'https://evil.test' })),
    'iss with a trailing slash': token(() => esClaims({ iss: `${ISSUERS.inline}/` })),
    'iss in another case': token(() => esClaims({ iss: ISSUERS.inline.toUpperCase() })),
  },
  wrong_audience: {
    'no aud': token(() => esClaims({ aud: undefined })),
    "another issuer's audience": token(() => esClaims({ aud: 'other' })),
    'an aud array with no good value': token(() => esClaims({ aud: ['x', 'y'] })),
  },
  missing_claim: {
    'no sub': token(() => hsClaims({ sub: undefined })),
    'no exp': token(() => hsClaims({ exp: undefined })),
    'no iat': token(() => hsClaims({ iat: undefined })),
  },
};

const REFUSAL_ROWS = Object.entries(REFUSALS).flatMap(([reason, cases]) =>
  Object.entries(cases).map(([label, make]) => [reason, label, make] as const),
);

describe('refused tokens', () => {
  it.each(REFUSAL_ROWS)('%s: %s', async (reason, _label, make) => {
    await expectRefused(await call(await make()), reason);
  });
});

// ---- configuration-dependent refusals (authenticate with a custom config) -------------------
describe('refusals that depend on configuration', () => {
  it('no kid and several candidate keys for the alg → unknown_key', async () => {
    const issuers = JSON.parse(String(rawEnv.TRUSTED_ISSUERS)) as Array<Record<string, unknown>>;
    const inline = issuers.find((i) => i.issuer === ISSUERS.inline)!;
    inline.jwks = { keys: [KEYS['es256-1'].public, KEYS['remote-b'].public] };
    const cfg = config({ TRUSTED_ISSUERS: JSON.stringify(issuers) });
    expect(await authenticate(await mint('es256-1', { header: { kid: undefined } }), cfg)).toEqual({ ok: false, reason: 'unknown_key' });
    expect((await authenticate(await mint('es256-1'), cfg)).ok).toBe(true);
  });

  it('REQUIRED_CLAIMS ["sub","exp","iat","scope"]: a token without scope → missing_claim', async () => {
    const cfg = config({ REQUIRED_CLAIMS: '["sub","exp","iat","scope"]' });
    expect(await authenticate(await mint('HS256'), cfg)).toMatchObject({ ok: false, reason: 'missing_claim' });
    expect((await authenticate(await mint('HS256', { claims: { scope: 'read' } }), cfg)).ok).toBe(true);
  });

  it.each(['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf'])(
    'REQUIRED_CLAIMS [%j] reads own claims only: absent → missing_claim, present → accepted',
    async (name) => {
      const cfg = config({ REQUIRED_CLAIMS: JSON.stringify(['sub', 'exp', name]) });
      expect(await authenticate(await mint('HS256'), cfg)).toMatchObject({ ok: false, reason: 'missing_claim' });
      const withIt = await signRaw('{"alg":"HS256"}', claimsText('HS256', `${JSON.stringify(name)}:"here"`), 'HS256');
      expect((await authenticate(withIt, cfg)).ok).toBe(true);
    },
  );

  it.each(['typ', 'JWT', 'at+jwt', 'application/at+jwt', 'secevent', 'secevent+jwt+x'])(
    'typ %j is not a Security Event Token: accepted',
    async (typ) => {
      expect((await call(bearer(await mint('HS256', { header: { typ } })))).status).toBe(200);
    },
  );

  it.each([
    [601, 'lifetime_too_long'],
    [600, undefined],
  ])('MAX_TOKEN_LIFETIME_SECONDS 600, exp - iat = %i → %s', async (lifetime, reason) => {
    const t = now();
    const result = await authenticate(await hsClaims({ iat: t, exp: t + lifetime }), config({ MAX_TOKEN_LIFETIME_SECONDS: '600' }));
    expect(result.ok ? undefined : result.reason).toBe(reason);
  });

  it('MAX_TOKEN_LIFETIME_SECONDS with a token lacking iat (not in REQUIRED_CLAIMS) → missing_claim', async () => {
    const cfg = config({ MAX_TOKEN_LIFETIME_SECONDS: '600', REQUIRED_CLAIMS: '["sub","exp"]' });
    expect(await authenticate(await hsClaims({ iat: undefined }), cfg)).toMatchObject({ ok: false, reason: 'missing_claim' });
  });

  it('a token expired 10 s ago passes with the default 30 s tolerance and fails with tolerance 0', async () => {
    const expiredToken = await hsClaims({ iat: now() - 310, exp: now() - 10 });
    expect((await call(bearer(expiredToken))).status).toBe(200);
    expect(await authenticate(expiredToken, config({ CLOCK_TOLERANCE_SECONDS: '0' }))).toMatchObject({ ok: false, reason: 'expired' });
  });

  it.each([
    ['exp', 29, undefined],
    ['exp', 30, 'expired'],
    ['nbf', -30, undefined],
    ['nbf', -31, 'not_yet_valid'],
    ['iat', -30, undefined],
    ['iat', -31, 'issued_in_future'],
  ])('tolerance 30 s: now = %s + %i → %s', async (claim, offset, reason) => {
    const t = 1_800_000_000;
    const tok = await hsClaims({ iat: t - 100, exp: t + 1000, [claim]: t });
    const result = await authenticate(tok, config(), t + offset);
    expect(result.ok ? undefined : result.reason).toBe(reason);
  });

  // Mutation exercise (docs/security.md): a cache hit must still check the clock.
  it('a token remembered by the verified-token cache is refused once expired (and before nbf)', async () => {
    const cfg = config();
    const t = 1_800_000_000;
    const tok = await hsClaims({ iat: t, nbf: t, exp: t + 300 });
    expect((await authenticate(tok, cfg, t)).ok).toBe(true); // verified, and now cached
    expect((await authenticate(tok, cfg, t + 100)).ok).toBe(true); // a hit
    expect(await authenticate(tok, cfg, t + 330)).toMatchObject({ ok: false, reason: 'expired' });
    expect(await authenticate(tok, cfg, t - 31)).toMatchObject({ ok: false, reason: 'not_yet_valid' });
  });

  it('a signature check that throws (WebCrypto refusing the input) is bad_signature, never valid', async () => {
    const verify = vi.spyOn(crypto.subtle, 'verify').mockRejectedValueOnce(new DOMException('injected', 'OperationError'));
    try {
      expect(await authenticate(await mint('es256-1'), config())).toEqual({ ok: false, reason: 'bad_signature' });
      expect(verify).toHaveBeenCalledOnce();
    } finally {
      verify.mockRestore();
    }
  });

  it('identifies a jti-less ECDSA token by its signing input: another valid signature gives the same tokenId', async () => {
    const header = JSON.stringify({ alg: 'ES256', kid: 'es256-1', typ: 'JWT' });
    const payload = JSON.stringify({ ...defaultClaims('es256-1'), jti: undefined });
    const first = await signRaw(header, payload, 'es256-1');
    const variants = [first, await signRaw(header, payload, 'es256-1'), p256Twin(first)];
    expect(new Set(variants).size).toBe(3);
    const digest = await crypto.subtle.digest('SHA-256', encoder.encode(`${b64(header)}.${b64(payload)}`));
    const ids = await Promise.all(
      variants.map(async (v) => {
        const result = await authenticate(v, config());
        return result.ok ? result.token.tokenId : result.reason;
      }),
    );
    expect(ids).toEqual(Array(3).fill(`sha256:${base64url.encode(new Uint8Array(digest))}`));
  });
});

// ---- other routes, and misconfiguration ------------------------------------------------------
describe('routes and misconfiguration', () => {
  it('GET /healthz → 200 {"ok":true}', async () => {
    const res = await call({ path: '/healthz' });
    expect([res.status, res.headers.get('Cache-Control'), await res.json()]).toEqual([200, 'no-store', { ok: true }]);
  });

  it.each([
    ['GET', '/nope'],
    ['GET', '/v1/verifyx'],
    ['POST', '/v1/unknown'],
    ['GET', '/v1'],
  ])('%s %s → 404 JSON', async (method, path) => {
    const res = await call({ method, path, ...bearer(await mint('HS256')) });
    expect([res.status, res.headers.get('Cache-Control'), await res.json()]).toEqual([404, 'no-store', { error: 'not_found' }]);
  });

  const bad = (entry: Record<string, unknown>) => JSON.stringify([entry]);
  it.each<[string, Record<string, string>]>([
    ['TRUSTED_ISSUERS not JSON', { TRUSTED_ISSUERS: 'not json' }],
    ['TRUSTED_ISSUERS empty and no token service', { TRUSTED_ISSUERS: '[]', TOKEN_SIGNING_KEYS: '' }],
    [
      'alg none allowed',
      { TRUSTED_ISSUERS: bad({ issuer: ISSUERS.hs, audiences: ['api'], algorithms: ['none'], hmacSecret: 'HS_SECRET' }) },
    ],
    ['issuer without key source', { TRUSTED_ISSUERS: bad({ issuer: ISSUERS.hs, audiences: ['api'], algorithms: ['HS256'] }) }],
    ['HMAC secret too short', { HS_SECRET: 'short' }],
    ['bad CLOCK_TOLERANCE_SECONDS', { CLOCK_TOLERANCE_SECONDS: '-5' }],
    ['bad REVOCATION_MODE', { REVOCATION_MODE: 'sometimes' }],
  ])('%s → 500 server_misconfigured, never 200 for a valid token', async (_label, overrides) => {
    const ctx = createExecutionContext();
    const request = new Request(`${BASE}/v1/verify`, { headers: { Authorization: `Bearer ${await mint('HS256')}` } });
    const res = await app.fetch(request, { ...env, ...overrides }, ctx);
    await waitOnExecutionContext(ctx);
    expect([res.status, res.headers.get('Cache-Control'), await res.json()]).toEqual([500, 'no-store', { error: 'server_misconfigured' }]);
  });
});
