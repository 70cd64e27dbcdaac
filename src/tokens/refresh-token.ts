import { base64url } from 'jose';
import type { SigningKey, TokenServiceConfig } from '../config/token-service';

/**
 * Opaque refresh tokens: `rt1_<base64url(sub)>.<base64url(nonce ‖ tag)>`, 16 random bytes and
 * a 16-byte HMAC-SHA-256 tag over `rt1_<base64url(sub)>.<base64url(nonce)>`. The `sub` part
 * routes a refresh to the user's Durable Object; the tag lets a forged token be refused before
 * any Durable Object is touched (no flood of invented users, issue 10 item 17). Only the
 * SHA-256 digest of the whole token is stored. Two segments and the prefix keep it apart from
 * any JWT.
 *
 * The MAC key is derived (HKDF-SHA-256) from each TOKEN_SIGNING_KEYS private key: the first
 * one tags, every one verifies, so a refresh token lives as long as the key it was made under
 * stays configured (each refresh re-tags it with the current key).
 */
const PREFIX = 'rt1_';
const NONCE_BYTES = 16;
const TAG_BYTES = 16;
const SHAPE = /^rt1_([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/;
const encoder = new TextEncoder();
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const macKeys = new WeakMap<SigningKey, Promise<CryptoKey>>();

function macKeyOf(key: SigningKey): Promise<CryptoKey> {
  let pending = macKeys.get(key);
  if (pending === undefined) {
    pending = (async () => {
      const secret = await crypto.subtle.importKey('raw', base64url.decode(key.privateJwk.d as string), 'HKDF', false, ['deriveKey']);
      return crypto.subtle.deriveKey(
        { name: 'HKDF', hash: 'SHA-256', salt: encoder.encode('killswitch refresh-token mac v1'), info: encoder.encode(key.kid) },
        secret,
        { name: 'HMAC', hash: 'SHA-256', length: 256 },
        false,
        ['sign'],
      );
    })();
    macKeys.set(key, pending);
  }
  return pending;
}

async function tag(key: SigningKey, tagged: string): Promise<Uint8Array> {
  const mac = await crypto.subtle.sign('HMAC', await macKeyOf(key), encoder.encode(tagged));
  return new Uint8Array(mac, 0, TAG_BYTES);
}

export async function refreshTokenDigest(token: string): Promise<string> {
  return base64url.encode(new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(token))));
}

export async function newRefreshToken(service: TokenServiceConfig, sub: string): Promise<{ token: string; digest: string }> {
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  const head = `${PREFIX}${base64url.encode(encoder.encode(sub))}`;
  const secret = new Uint8Array(NONCE_BYTES + TAG_BYTES);
  secret.set(nonce);
  secret.set(await tag(service.signingKeys[0], `${head}.${base64url.encode(nonce)}`), NONCE_BYTES);
  const token = `${head}.${base64url.encode(secret)}`;
  return { token, digest: await refreshTokenDigest(token) };
}

export function looksLikeRefreshToken(token: string): boolean {
  return token.startsWith(PREFIX);
}

/**
 * The user of a refresh token this service made (its tag verifies under one of the signing
 * keys), or undefined: a forged or foreign token costs one HMAC per key and no storage read.
 */
export async function refreshTokenSubject(service: TokenServiceConfig, token: string): Promise<string | undefined> {
  const match = SHAPE.exec(token);
  if (match === null) return undefined;
  let sub: string;
  let secret: Uint8Array;
  try {
    sub = utf8.decode(base64url.decode(match[1]!));
    secret = base64url.decode(match[2]!);
  } catch {
    return undefined;
  }
  if (sub === '' || secret.length !== NONCE_BYTES + TAG_BYTES) return undefined;
  const tagged = `${PREFIX}${match[1]}.${base64url.encode(secret.subarray(0, NONCE_BYTES))}`;
  const presented = secret.subarray(NONCE_BYTES);
  for (const key of service.signingKeys) {
    if (crypto.subtle.timingSafeEqual(await tag(key, tagged), presented)) return sub;
  }
  return undefined;
}
