import { base64url } from 'jose';

/**
 * Strict parsing of a compact JWS (docs/reference.md §3). Stricter than `jose`, which accepts padding,
 * whitespace, non-canonical base64url, duplicate JSON members, non-integer or infinite
 * NumericDates (`1e400` parses as Infinity) and unknown header shapes. Anything that is not
 * canonical compact JWS with JSON-object header and payload and correctly typed registered
 * claims is `malformed`, before any key or state is touched.
 */

/** docs/reference.md §3: tokens over 8 KiB are malformed. */
export const MAX_TOKEN_BYTES = 8192;

export interface JoseHeader {
  readonly alg: string;
  readonly kid?: string;
  readonly [member: string]: unknown;
}

/** A JWT claims set whose registered claims have been type-checked. */
export interface Claims {
  readonly iss?: string;
  readonly sub?: string;
  readonly aud?: string | readonly string[];
  readonly exp?: number;
  readonly nbf?: number;
  readonly iat?: number;
  readonly jti?: string;
  readonly scope?: string;
  readonly client_id?: string;
  readonly [claim: string]: unknown;
}

export interface CompactJws {
  readonly header: JoseHeader;
  readonly claims: Claims;
  /** `header.payload` as sent: what the signature covers, and the id of a token with no jti. */
  readonly signingInput: string;
  readonly signature: Uint8Array;
}

// Empty is canonical (zero bytes): `x.y.` is well-formed, and refused for its alg or signature.
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Unpadded base64url whose unused trailing bits are zero: one string per byte sequence. */
export function isCanonicalBase64url(segment: string): boolean {
  if (!BASE64URL.test(segment)) return false;
  const rest = segment.length % 4;
  if (rest === 0) return true;
  if (rest === 1) return false;
  const last = ALPHABET.indexOf(segment[segment.length - 1]!);
  return (last & (rest === 2 ? 0x0f : 0x03)) === 0;
}

/** Number of member names of the outermost object of already-valid JSON text. */
function countTopLevelMembers(text: string): number {
  let depth = 0;
  let members = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      i++;
      while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      if (depth === 1) {
        let j = i + 1;
        while (text[j] === ' ' || text[j] === '\t' || text[j] === '\n' || text[j] === '\r') j++;
        if (text[j] === ':') members++;
      }
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return members;
}

/** A base64url segment holding a JSON object with no duplicate member names, or undefined. */
function decodeJsonObject(segment: string): Record<string, unknown> | undefined {
  let text: string;
  let value: unknown;
  try {
    text = utf8.decode(base64url.decode(segment));
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  // JSON.parse keeps the last of duplicate members; two parsers could disagree on which
  // `alg` or `sub` a token has, so duplicates are refused.
  if (countTopLevelMembers(text) !== Object.keys(value).length) return undefined;
  return value as Record<string, unknown>;
}

/** A UTF-16 surrogate not in a pair: JSON can spell one (`"\ud800"`), UTF-8 cannot carry it. */
const LONE_SURROGATE = /\p{Cs}/u;
// Claim strings must be Unicode text: headers, logs and storage keys encode them as UTF-8,
// where a lone surrogate would become U+FFFD and two subjects would share one identity.
const isString = (v: unknown): v is string => typeof v === 'string' && !LONE_SURROGATE.test(v);
const isNonEmptyString = (v: unknown): v is string => isString(v) && v !== '';
const isNumericDate = (v: unknown): v is number => Number.isSafeInteger(v);

function validHeader(header: Record<string, unknown>): header is Record<string, unknown> & JoseHeader {
  if (!isNonEmptyString(header.alg)) return false;
  if (header.kid !== undefined && !isString(header.kid)) return false;
  if (header.typ !== undefined && !isString(header.typ)) return false;
  // We understand no critical extension, do not accept unencoded payloads (RFC 7797), and
  // do not accept encrypted (enc/zip: a JWE) or nested (cty: JWT) tokens.
  if (header.crit !== undefined) return false;
  if (header.b64 !== undefined && header.b64 !== true) return false;
  if (header.enc !== undefined || header.zip !== undefined) return false;
  if (isString(header.cty) && header.cty.toUpperCase() === 'JWT') return false;
  return true;
}

function validClaims(claims: Record<string, unknown>): claims is Claims {
  const { iss, sub, aud, exp, nbf, iat, jti, scope, client_id: clientId } = claims;
  return (
    (iss === undefined || isString(iss)) &&
    (sub === undefined || isNonEmptyString(sub)) &&
    (aud === undefined || isString(aud) || (Array.isArray(aud) && aud.every(isString))) &&
    (exp === undefined || isNumericDate(exp)) &&
    (nbf === undefined || isNumericDate(nbf)) &&
    (iat === undefined || isNumericDate(iat)) &&
    (jti === undefined || isNonEmptyString(jti)) &&
    (scope === undefined || isString(scope)) &&
    (clientId === undefined || isString(clientId))
  );
}

/**
 * A claim the token itself carries, never one inherited from Object.prototype: a claim name
 * from configuration such as `toString`, `constructor` or `__proto__` must not find a value
 * in a token that has none.
 */
export function ownClaim(claims: Claims, name: string): unknown {
  return Object.hasOwn(claims, name) ? claims[name] : undefined;
}

/** A claim the token itself carries as a non-empty string (no lone surrogate, as `sub`): undefined otherwise. */
export function stringClaim(claims: Claims, name: string): string | undefined {
  const value = ownClaim(claims, name);
  return isNonEmptyString(value) ? value : undefined;
}

/** A user version as killswitch stores them: a non-negative safe integer. */
export const isVersion = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/**
 * A Security Event Token (RFC 8417): typed `secevent+jwt` (media types are case-insensitive,
 * `application/` optional, RFC 7515 §4.1.9) or carrying `events`. It is never an access
 * token (RFC 8417 §4.5.2), whoever signed it.
 */
export function isSecurityEventToken(jws: CompactJws): boolean {
  const { typ } = jws.header;
  const type = typeof typ === 'string' ? typ.toLowerCase().replace(/^application\//, '') : undefined;
  return type === 'secevent+jwt' || Object.hasOwn(jws.claims, 'events');
}

/** Parses `token` as canonical compact JWS (at most `maxBytes` long), or answers undefined (reason `malformed`). */
export function parseCompactJws(token: string, maxBytes = MAX_TOKEN_BYTES): CompactJws | undefined {
  if (token.length > maxBytes) return undefined;
  const segments = token.split('.');
  if (segments.length !== 3 || !segments.every(isCanonicalBase64url)) return undefined;
  const [encodedHeader, encodedPayload, encodedSignature] = segments as [string, string, string];
  const header = decodeJsonObject(encodedHeader);
  if (header === undefined || !validHeader(header)) return undefined;
  const claims = decodeJsonObject(encodedPayload);
  if (claims === undefined || !validClaims(claims)) return undefined;
  return {
    header,
    claims,
    signingInput: `${encodedHeader}.${encodedPayload}`,
    signature: base64url.decode(encodedSignature),
  };
}
