/**
 * Token factories for tests, running inside workerd with real WebCrypto. `mint` signs a normal
 * token; `signRaw` signs exactly the header and payload JSON text it is given, so tests can
 * craft duplicate members, odd types or non-canonical encodings that jose would refuse to make.
 */
import { base64url, importJWK, type JWK } from 'jose';
import { HS_SECRET, ISSUERS, KEYS, type KeyName } from './fixtures';

export type SigningKey = KeyName | 'HS256' | 'HS384' | 'HS512';

export const now = () => Math.floor(Date.now() / 1000);

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
      : alg.startsWith('RS') ? 'RSASSA-PKCS1-v1_5' : 'Ed25519';
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
    alg: algOf(key), ...(key.startsWith('HS') ? {} : { kid: key }), typ: 'JWT', ...options.header,
  });
  const claims = withoutUndefined({ ...defaultClaims(key), ...options.claims });
  return signRaw(JSON.stringify(header), JSON.stringify(claims), key);
}

