/**
 * The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1; the scheme is
 * case-insensitive). Undefined when the header is absent, names another scheme, or is
 * `Bearer` alone. Whatever follows the scheme is the token: if it has spaces or a second
 * credential, parsing calls it malformed.
 */
export function bearerToken(authorization: string | undefined | null): string | undefined {
  if (authorization == null) return undefined;
  const match = /^bearer(?:\s+(.*))?$/is.exec(authorization.trim());
  const token = match?.[1]?.trim();
  return token === undefined || token === '' ? undefined : token;
}
