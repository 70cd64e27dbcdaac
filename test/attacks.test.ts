/**
 * Attack classes of docs/security.md that no other test file covers, over HTTP (/v1/verify),
 * each with the exact reason code reference §3 assigns: `alg` case variants of `none` and of real
 * algorithms, ECDSA signature forgeries (the "psychic signature" r = s = 0 of CVE-2022-21449,
 * out-of-range r/s, DER instead of raw R‖S), header key injection through `jku`/`x5u`/`x5c`
 * with the attacker's own kid and through an HMAC `jwk`, the RSA-public-key-as-HMAC-secret
 * confusion, kid strings that look like paths or SQL, and encoding tricks (BOM, tabs, claim types).
 */
import { exports } from 'cloudflare:workers';
import { base64url, exportJWK, exportSPKI, importJWK, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { BASE, HS_SECRET, ISSUERS, KEYS } from './helpers/fixtures';
import {
  attackerToken,
  b64,
  bigToBytes,
  defaultClaims,
  hmacSha256,
  mint,
  now,
  P256_N,
  p256Twin,
  segmentsOf,
  signRaw,
  withSignature,
} from './helpers/tokens';

const encoder = new TextEncoder();

async function verify(token: string): Promise<Response> {
  return exports.default.fetch(`${BASE}/v1/verify`, { headers: { Authorization: `Bearer ${token}` } });
}

async function expectRefused(token: string, reason: string): Promise<void> {
  const res = await verify(token);
  expect({
    status: res.status,
    challenge: res.headers.get('WWW-Authenticate'),
    body: await res.json(),
  }).toEqual({
    status: 401,
    challenge: `Bearer error="invalid_token", error_description="${reason}"`,
    body: { active: false, error: 'invalid_token', reason },
  });
}

/** Raw R‖S (JWS, RFC 7518 §3.4) → ASN.1 DER SEQUENCE { INTEGER r, INTEGER s } (what OpenSSL emits). */
function derOf(raw: Uint8Array): Uint8Array {
  const integer = (bytes: Uint8Array) => {
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i++;
    let body = bytes.slice(i);
    if (body[0]! & 0x80) body = Uint8Array.from([0, ...body]);
    return [0x02, body.length, ...body];
  };
  const content = [...integer(raw.slice(0, 32)), ...integer(raw.slice(32))];
  return Uint8Array.from([0x30, content.length, ...content]);
}

describe('algorithm confusion', () => {
  // The first request of the file also pays for the isolate's start.
  it('control: a genuine ES256 token is accepted', { timeout: 30_000 }, async () => {
    expect((await verify(await mint('es256-1'))).status).toBe(200);
  });

  it.each(['none', 'None', 'NONE', 'nOnE'])('alg %j with an empty signature → unsupported_alg', async (alg) => {
    const [, payload] = segmentsOf(await mint('es256-1'));
    await expectRefused(`${b64(JSON.stringify({ alg, typ: 'JWT' }))}.${payload}.`, 'unsupported_alg');
  });

  it.each(['none', 'NONE'])('alg %j keeping the original signature → unsupported_alg', async (alg) => {
    const [, payload, signature] = segmentsOf(await mint('es256-1'));
    await expectRefused(`${b64(JSON.stringify({ alg, kid: 'es256-1' }))}.${payload}.${signature}`, 'unsupported_alg');
  });

  it.each(['es256', 'Es256', 'hs256', 'ES256 ', 'RS256\u0000'])('alg %j (not the exact registered name) → unsupported_alg', async (alg) => {
    const token = await signRaw(JSON.stringify({ alg, kid: 'es256-1' }), JSON.stringify(defaultClaims('es256-1')), 'es256-1');
    await expectRefused(token, 'unsupported_alg');
  });

  it("RS256 → HS256 with the issuer's RSA public key (PEM) as the HMAC secret → unsupported_alg", async () => {
    const pem = await exportSPKI((await importJWK(KEYS['rs256-1'].public as JWK, 'RS256', { extractable: true })) as CryptoKey);
    const input = `${b64(JSON.stringify({ alg: 'HS256', kid: 'rs256-1', typ: 'JWT' }))}.${b64(JSON.stringify(defaultClaims('rs256-1')))}`;
    await expectRefused(`${input}.${await hmacSha256(input, encoder.encode(pem))}`, 'unsupported_alg');
  });

  it("an HS256 issuer: a token HMAC-ed with another issuer's public JWK (not its secret) → bad_signature", async () => {
    const input = `${b64('{"alg":"HS256","typ":"JWT"}')}.${b64(JSON.stringify(defaultClaims('HS256')))}`;
    const publicJwkText = encoder.encode(JSON.stringify(KEYS['es256-1'].public));
    await expectRefused(`${input}.${await hmacSha256(input, publicJwkText)}`, 'bad_signature');
  });

  it('an HS256 issuer: a token claiming ES256 with a real ES256 key → unsupported_alg (HS-only allowlist)', async () => {
    await expectRefused(await mint('es256-1', { claims: { iss: ISSUERS.hs } }), 'unsupported_alg');
  });

  it('control: the HS256 issuer accepts its own secret', async () => {
    expect(HS_SECRET.length).toBeGreaterThanOrEqual(32);
    expect((await verify(await mint('HS256'))).status).toBe(200);
  });
});

describe('malleable and forged ECDSA signatures', () => {
  it('psychic signature r = s = 0 (CVE-2022-21449) → bad_signature', async () => {
    await expectRefused(withSignature(await mint('es256-1'), new Uint8Array(64)), 'bad_signature');
  });

  it('r = s = n (the group order: reduces to 0) → bad_signature', async () => {
    const n = bigToBytes(P256_N, 32);
    await expectRefused(withSignature(await mint('es256-1'), Uint8Array.from([...n, ...n])), 'bad_signature');
  });

  it('r = 1, s = 1 → bad_signature', async () => {
    const one = bigToBytes(1n, 32);
    await expectRefused(withSignature(await mint('es256-1'), Uint8Array.from([...one, ...one])), 'bad_signature');
  });

  it('psychic signature on ES384 (96 zero bytes) → bad_signature', async () => {
    await expectRefused(withSignature(await mint('es384-1'), new Uint8Array(96)), 'bad_signature');
  });

  it('a valid signature DER-encoded instead of raw R‖S → bad_signature', async () => {
    const token = await mint('es256-1');
    const der = derOf(base64url.decode(segmentsOf(token)[2]));
    expect(der[0]).toBe(0x30);
    await expectRefused(withSignature(token, der), 'bad_signature');
  });

  it('a valid raw signature with a leading zero byte (65 bytes) or truncated (63 bytes) → bad_signature', async () => {
    const token = await mint('es256-1');
    const raw = base64url.decode(segmentsOf(token)[2]);
    await expectRefused(withSignature(token, Uint8Array.from([0, ...raw])), 'bad_signature');
    await expectRefused(withSignature(token, raw.slice(1)), 'bad_signature');
  });

  it('an empty signature on ES256 → bad_signature', async () => {
    const [h, p] = segmentsOf(await mint('es256-1'));
    await expectRefused(`${h}.${p}.`, 'bad_signature');
  });

  it('(r, n − s) is also valid, and names the same token: revoking one refuses the other', async () => {
    // What makes malleability harmless: a token is identified by its jti or its signing input,
    // never by its signature bytes (reference §3). A jti-less token, revoked, then malleated.
    const sub = `malleable-${crypto.randomUUID()}`;
    const token = await mint('es256-1', { claims: { sub, jti: undefined } });
    const twin = p256Twin(token);
    expect((await verify(twin)).status).toBe(200);
    const revoke = await exports.default.fetch(`${BASE}/v1/revoke`, {
      method: 'POST',
      headers: { Authorization: 'Bearer test-admin-key-0123456789', 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
    });
    expect(revoke.status).toBe(200);
    await expectRefused(twin, 'revoked_token');
  });
});

describe('header key injection', () => {
  it.each([
    ['jku', (jwk: JWK) => ({ kid: jwk.kid, jku: 'https://evil.test/jwks.json' })],
    ['x5u', (jwk: JWK) => ({ kid: jwk.kid, x5u: 'https://evil.test/cert.pem' })],
    ['x5c', (jwk: JWK) => ({ kid: jwk.kid, x5c: ['MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'] })],
    ['jwk', (jwk: JWK) => ({ kid: jwk.kid, jwk })],
  ] as const)("%s header with the attacker's own kid → unknown_key (never fetched, never used)", async (_label, header) => {
    await expectRefused(await attackerToken(header), 'unknown_key');
  });

  it('an HS256 token carrying its own symmetric key in `jwk` (kty oct) → unsupported_alg for an ES-only issuer', async () => {
    const secret = crypto.getRandomValues(new Uint8Array(32));
    const jwk = { kty: 'oct', k: base64url.encode(secret) };
    const input = `${b64(JSON.stringify({ alg: 'HS256', jwk }))}.${b64(JSON.stringify(defaultClaims('es256-1')))}`;
    await expectRefused(`${input}.${await hmacSha256(input, secret)}`, 'unsupported_alg');
  });

  it("the HS256 issuer ignores a `jwk` (kty oct) header holding the attacker's secret → bad_signature", async () => {
    const secret = crypto.getRandomValues(new Uint8Array(32));
    const jwk = { kty: 'oct', k: base64url.encode(secret) };
    const input = `${b64(JSON.stringify({ alg: 'HS256', jwk }))}.${b64(JSON.stringify(defaultClaims('HS256')))}`;
    await expectRefused(`${input}.${await hmacSha256(input, secret)}`, 'bad_signature');
  });
});

describe('kid tricks', () => {
  it.each([
    ['path traversal', '../../../../dev/null'],
    ['an absolute path', '/etc/passwd'],
    ['SQL', "' OR '1'='1' --"],
    ['a real kid plus NUL', 'es256-1\u0000'],
    ['a real kid in another case', 'ES256-1'],
    ['a real kid with a leading space', ' es256-1'],
    ['4,000 characters', 'x'.repeat(4000)],
    ['empty', ''],
  ])('kid %s → unknown_key', async (_label, kid) => {
    const token = await signRaw(JSON.stringify({ alg: 'ES256', kid }), JSON.stringify(defaultClaims('es256-1')), 'es256-1');
    await expectRefused(token, 'unknown_key');
  });

  it.each([
    ['a number', 1],
    ['an object', { $ne: null }],
    ['an array', ['es256-1']],
    ['null', null],
  ])('kid as %s → malformed', async (_label, kid) => {
    const token = await signRaw(JSON.stringify({ alg: 'ES256', kid }), JSON.stringify(defaultClaims('es256-1')), 'es256-1');
    await expectRefused(token, 'malformed');
  });

  it(
    'a kid flood against an inline JWKS: 100 distinct unknown kids are all unknown_key, then a good token still passes',
    { timeout: 60_000 },
    async () => {
      const claims = JSON.stringify(defaultClaims('es256-1'));
      const answers = await Promise.all(
        Array.from({ length: 100 }, async (_, i) => {
          const res = await verify(await signRaw(JSON.stringify({ alg: 'ES256', kid: `flood-${i}` }), claims, 'es256-1'));
          return ((await res.json()) as { reason?: string }).reason;
        }),
      );
      expect(new Set(answers)).toEqual(new Set(['unknown_key']));
      expect((await verify(await mint('es256-1'))).status).toBe(200);
    },
  );
});

describe('encoding tricks', () => {
  const claims = () => JSON.stringify(defaultClaims('es256-1'));

  it('a UTF-8 BOM before the header JSON → malformed', async () => {
    await expectRefused(await signRaw('\uFEFF{"alg":"ES256","kid":"es256-1"}', claims(), 'es256-1'), 'malformed');
  });

  it('a UTF-8 BOM before the payload JSON → malformed', async () => {
    await expectRefused(await signRaw('{"alg":"ES256","kid":"es256-1"}', `\uFEFF${claims()}`, 'es256-1'), 'malformed');
  });

  it('JSON whitespace inside the header and payload is fine (it is signed as is)', async () => {
    const token = await signRaw('{ "alg" : "ES256",\n "kid":"es256-1" }', ` ${claims()}\n`, 'es256-1');
    expect((await verify(token)).status).toBe(200);
  });

  it('a tab or a space inside the token → malformed (a newline cannot travel in a header at all)', async () => {
    const token = await mint('es256-1');
    const [h, p, s] = segmentsOf(token);
    await expectRefused(`${h}.\t${p}.${s}`, 'malformed');
    await expectRefused(`${h}.${p.slice(0, 10)} ${p.slice(10)}.${s}`, 'malformed');
  });

  it('standard base64 characters (+ and /) instead of base64url → malformed', async () => {
    const [h, p, s] = segmentsOf(await mint('es256-1'));
    await expectRefused(`${h}.${p}.${s.replace(/-/g, '+').replace(/_/g, '/')}${/[-_]/.test(s) ? '' : '+'}`, 'malformed');
  });

  it('header a JSON string, number or null → malformed', async () => {
    for (const header of ['"ES256"', '42', 'null']) {
      await expectRefused(await signRaw(header, claims(), 'es256-1'), 'malformed');
    }
  });
});

describe('claim confusion', () => {
  const t = () => now();
  it.each([
    ['exp a float', { exp: t() + 300.5 }],
    ['exp beyond 2^53', { exp: 2 ** 53 + 2 }],
    ['exp a numeric string', { exp: String(t() + 300) }],
    ['exp true', { exp: true }],
    ['iat a float', { iat: t() + 0.25 }],
    ['nbf a string', { nbf: String(t()) }],
    ['jti an empty string', { jti: '' }],
    ['jti a number', { jti: 12345 }],
    ['sub an empty string', { sub: '' }],
    ['sub an object', { sub: { $ne: '' } }],
    ['aud an array holding a number', { aud: ['api', 1] }],
    ['aud an object', { aud: { api: true } }],
    ['ver negative', { ver: -1 }],
    ['ver a float', { ver: 1.5 }],
    ['ver a string', { ver: '2' }],
  ])('%s → malformed', async (_label, overrides) => {
    await expectRefused(await mint('es256-1', { claims: overrides }), 'malformed');
  });

  it('exp far in the future but a safe integer is accepted (no MAX_TOKEN_LIFETIME_SECONDS set)', async () => {
    expect((await verify(await mint('es256-1', { claims: { exp: Number.MAX_SAFE_INTEGER } }))).status).toBe(200);
  });

  it('a negative exp → expired', async () => {
    await expectRefused(await mint('es256-1', { claims: { exp: -1, iat: 0 } }), 'expired');
  });

  it('an aud array with one good value among others is accepted; an empty aud array → wrong_audience', async () => {
    expect((await verify(await mint('es256-1', { claims: { aud: ['x', 'api'] } }))).status).toBe(200);
    await expectRefused(await mint('es256-1', { claims: { aud: [] } }), 'wrong_audience');
  });

  it('iss with different Unicode normalisation or a trailing space → wrong_issuer', async () => {
    await expectRefused(await mint('es256-1', { claims: { iss: `${ISSUERS.inline} ` } }), 'wrong_issuer');
    await expectRefused(await mint('es256-1', { claims: { iss: ISSUERS.inline.replace('i', '\u0131') } }), 'wrong_issuer');
  });
});

describe('weak keys', () => {
  it('an RSA key under 2048 bits in a JWKS verifies nothing: unknown_key (RFC 7518 §3.3)', async () => {
    const { parseConfig } = await import('../src/config/config');
    const { authenticate } = await import('../src/verify/verifier');
    const weak = (await crypto.subtle.generateKey(
      { name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
      true,
      ['sign', 'verify'],
    )) as CryptoKeyPair;
    const publicJwk = { ...(await exportJWK(weak.publicKey)), kid: 'weak', alg: 'RS256' };
    const config = parseConfig({
      TRUSTED_ISSUERS: JSON.stringify([
        { issuer: 'https://weak.test', audiences: ['api'], algorithms: ['RS256'], jwks: { keys: [publicJwk] } },
      ]),
    });
    const input = `${b64(JSON.stringify({ alg: 'RS256', kid: 'weak' }))}.${b64(JSON.stringify({ ...defaultClaims('rs256-1'), iss: 'https://weak.test' }))}`;
    const signature = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', weak.privateKey, encoder.encode(input));
    const result = await authenticate(`${input}.${base64url.encode(new Uint8Array(signature))}`, config);
    expect(result).toEqual({ ok: false, reason: 'unknown_key' });
  });
});
