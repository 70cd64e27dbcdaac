import { base64url } from 'jose';

/**
 * Opaque refresh tokens: `rt1_<base64url(sub)>.<base64url(32 random bytes)>`. The `sub` part
 * routes a refresh to the user's Durable Object; the random part is the secret. Only the
 * SHA-256 digest is stored. Two segments and the prefix keep it apart from any JWT.
 */
const PREFIX = 'rt1_';
const SECRET_BYTES = 32;
const SHAPE = /^rt1_([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/;
const encoder = new TextEncoder();
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export async function refreshTokenDigest(token: string): Promise<string> {
  return base64url.encode(new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(token))));
}

export async function newRefreshToken(sub: string): Promise<{ token: string; digest: string }> {
  const secret = crypto.getRandomValues(new Uint8Array(SECRET_BYTES));
  const token = `${PREFIX}${base64url.encode(encoder.encode(sub))}.${base64url.encode(secret)}`;
  return { token, digest: await refreshTokenDigest(token) };
}

export function looksLikeRefreshToken(token: string): boolean {
  return token.startsWith(PREFIX);
}

/** The user a refresh token belongs to, or undefined when it is not one of ours. */
export function refreshTokenSubject(token: string): string | undefined {
  const match = SHAPE.exec(token);
  if (match === null) return undefined;
  try {
    const sub = utf8.decode(base64url.decode(match[1]!));
    return sub === '' ? undefined : sub;
  } catch {
    return undefined;
  }
}
