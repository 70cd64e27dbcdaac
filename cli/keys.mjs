// @ts-check
/** Key generation and (dev/testing) token minting, with jose. No network. */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT } from 'jose';
import { CliError, EXIT, usageError } from './errors.mjs';

export const KEY_ALGORITHMS = ['ES256', 'RS256', 'EdDSA', 'HS256'];

/**
 * A new signing key. Asymmetric: the private JWK (kid, alg, use) and the public JWKS.
 * HS256: a random secret of 48 bytes, base64url (64 characters). killswitch uses an
 * `hmacSecret` as the UTF-8 bytes of its value, so the JWK's `k` is those bytes.
 * @param {string} alg @param {string | undefined} kid
 */
export async function generateKey(alg, kid) {
  if (!KEY_ALGORITHMS.includes(alg)) throw usageError(`--alg must be one of ${KEY_ALGORITHMS.join(', ')}`);
  if (alg === 'HS256') {
    const secret = randomBytes(48).toString('base64url');
    const k = Buffer.from(secret, 'utf8').toString('base64url');
    const keyId = kid ?? `hs256-${(await calculateJwkThumbprint({ kty: 'oct', k })).slice(0, 16)}`;
    return { alg, kid: keyId, secret, privateJwk: { kty: 'oct', k, alg, kid: keyId }, jwks: null };
  }
  const { privateKey, publicKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'RS256' && { modulusLength: 2048 }),
    ...(alg === 'EdDSA' && { crv: 'Ed25519' }),
  });
  const publicJwk = await exportJWK(publicKey);
  const keyId = kid ?? `${alg.toLowerCase()}-${(await calculateJwkThumbprint(publicJwk)).slice(0, 16)}`;
  const privateJwk = { ...(await exportJWK(privateKey)), kid: keyId, alg, use: 'sig' };
  return { alg, kid: keyId, privateJwk, jwks: { keys: [{ ...publicJwk, kid: keyId, alg, use: 'sig' }] } };
}

/**
 * A private JWK from --key: a file path, inline JSON, or `-` (read by the caller). Accepts a
 * JWK, a JWKS ({"keys":[…]}: the first key), or a TOKEN_SIGNING_KEYS array (the first key).
 * @param {string} source @param {() => Promise<string>} readStdin
 */
export async function loadPrivateJwk(source, readStdin) {
  let text;
  if (source === '-') text = await readStdin();
  else if (source.trimStart().startsWith('{') || source.trimStart().startsWith('[')) text = source;
  else if (existsSync(source)) {
    try {
      text = readFileSync(source, 'utf8');
    } catch (error) {
      const e = /** @type {NodeJS.ErrnoException} */ (error);
      throw usageError(`cannot read the key file ${source}: ${e.code ?? e.message}`);
    }
  } else throw usageError(`--key: no such file: ${source} (pass a file, inline JSON, or - for stdin)`);
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    throw usageError('--key is not JSON (expected a private JWK, e.g. the output of `killswitch keys generate --json`)');
  }
  if (Array.isArray(value)) value = value[0];
  else if (Array.isArray(value?.keys)) value = value.keys[0];
  else if (value?.privateJwk !== undefined) value = value.privateJwk; // `keys generate --json` output
  if (typeof value !== 'object' || value === null || typeof value.kty !== 'string') {
    throw usageError('--key holds no JWK');
  }
  if (value.kty !== 'oct' && value.d === undefined) throw usageError('--key is a public key: minting needs the private JWK');
  if (typeof value.alg !== 'string') throw usageError('--key: the JWK has no "alg" (add one, e.g. "ES256")');
  return value;
}

/** @param {string} name @param {string} text */
const integer = (name, text) => {
  if (!/^\d+$/.test(String(text))) throw usageError(`--${name} must be a non-negative integer`);
  return Number(text);
};

/**
 * A signed JWT for development and tests.
 * @param {Record<string, any>} jwk
 * @param {{ sub: string, iss: string, aud?: string[], ttl: string, ver?: string, scope?: string, jti: boolean, claim?: string[] }} options
 */
export async function mintToken(jwk, options) {
  let key;
  try {
    key = await importJWK(jwk, jwk.alg);
  } catch (error) {
    throw new CliError(`--key: cannot use this JWK for ${jwk.alg}: ${/** @type {Error} */ (error).message}`, EXIT.USAGE, {
      error: 'usage',
    });
  }
  const now = Math.floor(Date.now() / 1000);
  /** @type {import('jose').JWTPayload} */
  const claims = {};
  for (const pair of options.claim ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) throw usageError(`--claim must be name=value (value as JSON, or a string): ${pair}`);
    const name = pair.slice(0, at);
    const raw = pair.slice(at + 1);
    try {
      claims[name] = JSON.parse(raw);
    } catch {
      claims[name] = raw;
    }
  }
  if (options.ver !== undefined) claims.ver = integer('ver', options.ver);
  if (options.scope !== undefined) claims.scope = options.scope;
  Object.assign(claims, {
    iss: options.iss,
    aud: options.aud?.length === 1 ? options.aud[0] : options.aud,
    sub: options.sub,
    iat: now,
    exp: now + integer('ttl', options.ttl),
  });
  if (options.jti) claims.jti = randomUUID();
  const header = { alg: jwk.alg, typ: 'JWT', ...(typeof jwk.kid === 'string' && { kid: jwk.kid }) };
  const token = await new SignJWT(claims).setProtectedHeader(header).sign(key);
  return { token, header, claims };
}
