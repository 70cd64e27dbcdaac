/**
 * Token factories for tests, running inside workerd with real WebCrypto. `mint` signs a normal
 * token; `signRaw` signs exactly the header and payload JSON text it is given, so tests can
 * craft duplicate members, odd types or non-canonical encodings that jose would refuse to make.
 */
import { base64url, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { HS_SECRET, ISSUERS, KEYS, type KeyName } from './fixtures';

export type SigningKey = KeyName | 'HS256' | 'HS384' | 'HS512';

export const now = () => Math.floor(Date.now() / 1000);

/** A subject no other test uses: Durable Object and KV state outlive a test; `label` names the test in a failure. */
export const uniqueSub = (label: string) => `${label}-${crypto.randomUUID()}`;

const encoder = new TextEncoder();
export const b64 = (text: string) => base64url.encode(encoder.encode(text));

function issuerOf(key: SigningKey): string {
  if (key.startsWith('HS')) return ISSUERS.hs;
  if (key.startsWith('remote')) return ISSUERS.remote;
  if (key.startsWith('second')) return ISSUERS.second;
  return ISSUERS.inline;
}

function algOf(key: SigningKey): string {
  return key.startsWith('HS') ? key : KEYS[key as KeyName].alg;
}

type SignParams = Parameters<typeof crypto.subtle.sign>[0];

async function subtleKey(key: SigningKey): Promise<{ key: CryptoKey; params: SignParams }> {
  if (key === 'HS256' || key === 'HS384' || key === 'HS512') {
    const hash = `SHA-${key.slice(2)}`;
    return {
      key: await crypto.subtle.importKey('raw', encoder.encode(HS_SECRET), { name: 'HMAC', hash }, false, ['sign']),
      params: 'HMAC',
    };
  }
  const jwk = KEYS[key];
  const imported = (await importJWK(jwk.private as JWK, jwk.alg)) as CryptoKey;
  const alg = jwk.alg;
  const params = alg.startsWith('PS')
    ? { name: 'RSA-PSS', saltLength: 32 }
    : alg.startsWith('ES')
      ? { name: 'ECDSA', hash: `SHA-${alg.slice(2)}` }
      : alg.startsWith('RS')
        ? 'RSASSA-PKCS1-v1_5'
        : 'Ed25519';
  return { key: imported, params };
}

/** Signs `headerJson.payloadJson` (exact text, base64url-encoded) with `key`. */
export async function signRaw(headerJson: string, payloadJson: string, key: SigningKey): Promise<string> {
  const input = `${b64(headerJson)}.${b64(payloadJson)}`;
  const { key: cryptoKey, params } = await subtleKey(key);
  const signature = await crypto.subtle.sign(params, cryptoKey, encoder.encode(input));
  return `${input}.${base64url.encode(new Uint8Array(signature))}`;
}

export interface MintOptions {
  /** Claims merged over the defaults (iss, aud, sub, iat, exp, jti); `undefined` removes one. */
  readonly claims?: Record<string, unknown>;
  /** Header members merged over { alg, kid, typ }; `undefined` removes one. */
  readonly header?: Record<string, unknown>;
}

export function defaultClaims(key: SigningKey): Record<string, unknown> {
  const t = now();
  return { iss: issuerOf(key), aud: 'api', sub: 'alice', iat: t, exp: t + 300, jti: crypto.randomUUID() };
}

function withoutUndefined(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
}

/** A valid token for `key`'s issuer unless the options say otherwise. */
export async function mint(key: SigningKey = 'es256-1', options: MintOptions = {}): Promise<string> {
  const header = withoutUndefined({
    alg: algOf(key),
    ...(key.startsWith('HS') ? {} : { kid: key }),
    typ: 'JWT',
    ...options.header,
  });
  const claims = withoutUndefined({ ...defaultClaims(key), ...options.claims });
  return signRaw(JSON.stringify(header), JSON.stringify(claims), key);
}

// ---- token surgery -------------------------------------------------------------------------
export const segmentsOf = (token: string) => token.split('.') as [string, string, string];

/** `token` with its signature bytes replaced (or changed by a function of the current ones). */
export function withSignature(token: string, signature: Uint8Array | ((current: Uint8Array) => Uint8Array)): string {
  const [h, p, s] = segmentsOf(token);
  return `${h}.${p}.${base64url.encode(typeof signature === 'function' ? signature(base64url.decode(s)) : signature)}`;
}

/** The order of the P-256 group: ECDSA scalars are taken modulo it. */
export const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** `value` as `length` big-endian bytes. */
export function bigToBytes(value: bigint, length: number): Uint8Array {
  const hex = value.toString(16).padStart(length * 2, '0');
  return Uint8Array.from({ length }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));
}
const bytesToBig = (bytes: Uint8Array) => BigInt(`0x${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`);

/** The P-256 signature twin: (r, s) → (r, n − s) is a second valid signature of the same input. */
export const p256Twin = (token: string) =>
  withSignature(token, (sig) => Uint8Array.from([...sig.slice(0, 32), ...bigToBytes(P256_N - bytesToBig(sig.slice(32)), 32)]));

/** HMAC-SHA256 of `input`, base64url: an HS256 signature with any secret (a forger's guess). */
export async function hmacSha256(input: string, secret: Uint8Array | string): Promise<string> {
  // A copy: Node's types want an ArrayBuffer-backed view here (the e2e project type-checks this file too).
  const bytes = new Uint8Array(typeof secret === 'string' ? encoder.encode(secret) : secret);
  const key = await crypto.subtle.importKey('raw', bytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return base64url.encode(new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(input))));
}

/**
 * A token for the inline issuer signed with an attacker's own fresh ES256 key pair; `header`
 * gets that public key (kid `attacker-1`) and returns the header members to add.
 */
export async function attackerToken(header: (jwk: JWK) => Record<string, unknown>): Promise<string> {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'attacker-1', alg: 'ES256' };
  const input = `${b64(JSON.stringify({ alg: 'ES256', typ: 'JWT', ...header(jwk) }))}.${b64(JSON.stringify(defaultClaims('es256-1')))}`;
  const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, privateKey, encoder.encode(input));
  return `${input}.${base64url.encode(new Uint8Array(signature))}`;
}
